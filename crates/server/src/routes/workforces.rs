//! Team and member routes: thin handlers over `teamlabel_core::team::workforces`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use teamlabel_api::batch::BatchResponse;
use teamlabel_api::team::workforces::{
    BatchDeleteWorkersRequest, CreateWorkerRequest, CreateWorkforceRequest, CreateWorkforceResponse, Empty,
    ListWorkersQuery, ListWorkersResponse, ListWorkforcesQuery, ListWorkforcesResponse, UpdateWorkerRequest,
    UpdateWorkforceRequest, Worker, Workforce,
};

use super::{WorkerPath, WorkforcePath};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query};
use crate::ServerState;

/// List the project's labeling teams.
#[utoipa::path(get, path = "/v2/{project_id}/workforces", tag = "workforces",
    params(("project_id" = String, Path), ListWorkforcesQuery),
    responses((status = 200, body = ListWorkforcesResponse), (status = 400, body = ErrorBody)))]
pub async fn list_workforces(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Query(q): Query<ListWorkforcesQuery>,
) -> ApiResult<axum::Json<ListWorkforcesResponse>> {
    Ok(axum::Json(s.app.list_workforces(&p, &q).await?))
}

/// Create a labeling team.
#[utoipa::path(post, path = "/v2/{project_id}/workforces", tag = "workforces",
    params(("project_id" = String, Path)), request_body = CreateWorkforceRequest,
    responses((status = 201, body = CreateWorkforceResponse), (status = 400, body = ErrorBody)))]
pub async fn create_workforce(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Json(req): Json<CreateWorkforceRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(s.app.create_workforce(&p, &req).await?)))
}

/// Get a labeling team.
#[utoipa::path(get, path = "/v2/{project_id}/workforces/{workforce_id}", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path)),
    responses((status = 200, body = Workforce), (status = 404, body = ErrorBody)))]
pub async fn get_workforce(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkforcePath>,
) -> ApiResult<axum::Json<Workforce>> {
    Ok(axum::Json(s.app.get_workforce(&p, &at.workforce_id).await?))
}

/// Rename or describe a labeling team.
#[utoipa::path(put, path = "/v2/{project_id}/workforces/{workforce_id}", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path)), request_body = UpdateWorkforceRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_workforce(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkforcePath>,
    Json(req): Json<UpdateWorkforceRequest>,
) -> ApiResult<axum::Json<Empty>> {
    Ok(axum::Json(s.app.update_workforce(&p, &at.workforce_id, &req).await?))
}

/// Delete a labeling team and its members (refused while a member has unfinished task work).
#[utoipa::path(delete, path = "/v2/{project_id}/workforces/{workforce_id}", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_workforce(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkforcePath>,
) -> ApiResult<StatusCode> {
    s.app.delete_workforce(&p, &at.workforce_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the members of every team of the project.
#[utoipa::path(get, path = "/v2/{project_id}/workforces/workers", tag = "workforces",
    params(("project_id" = String, Path), ListWorkersQuery),
    responses((status = 200, body = ListWorkersResponse), (status = 400, body = ErrorBody)))]
pub async fn list_all_workers(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Query(q): Query<ListWorkersQuery>,
) -> ApiResult<axum::Json<ListWorkersResponse>> {
    Ok(axum::Json(s.app.list_workers(&p, None, &q).await?))
}

/// List the members of a team.
#[utoipa::path(get, path = "/v2/{project_id}/workforces/{workforce_id}/workers", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path), ListWorkersQuery),
    responses((status = 200, body = ListWorkersResponse), (status = 404, body = ErrorBody)))]
pub async fn list_workers(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkforcePath>,
    Query(q): Query<ListWorkersQuery>,
) -> ApiResult<axum::Json<ListWorkersResponse>> {
    Ok(axum::Json(s.app.list_workers(&p, Some(&at.workforce_id), &q).await?))
}

/// Add a member to a team by email (a new email becomes a user of the project).
#[utoipa::path(post, path = "/v2/{project_id}/workforces/{workforce_id}/workers", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path)), request_body = CreateWorkerRequest,
    responses((status = 201, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_worker(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkforcePath>,
    Json(req): Json<CreateWorkerRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.app.create_worker(&p, &at.workforce_id, &req).await?),
    ))
}

/// Remove members from a team.
#[utoipa::path(post, path = "/v2/{project_id}/workforces/{workforce_id}/workers/batch-delete", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path)), request_body = BatchDeleteWorkersRequest,
    responses((status = 200, body = BatchResponse), (status = 404, body = ErrorBody)))]
pub async fn batch_delete_workers(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkforcePath>,
    Json(req): Json<BatchDeleteWorkersRequest>,
) -> ApiResult<axum::Json<BatchResponse>> {
    Ok(axum::Json(
        s.app.batch_delete_workers(&p, &at.workforce_id, &req).await?,
    ))
}

/// Get a member.
#[utoipa::path(get, path = "/v2/{project_id}/workforces/{workforce_id}/workers/{worker_id}", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path), ("worker_id" = String, Path)),
    responses((status = 200, body = Worker), (status = 404, body = ErrorBody)))]
pub async fn get_worker(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkerPath>,
) -> ApiResult<axum::Json<Worker>> {
    Ok(axum::Json(s.app.get_worker(&p, &at.workforce_id, &at.worker_id).await?))
}

/// Change a member's role or description.
#[utoipa::path(put, path = "/v2/{project_id}/workforces/{workforce_id}/workers/{worker_id}", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path), ("worker_id" = String, Path)), request_body = UpdateWorkerRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_worker(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkerPath>,
    Json(req): Json<UpdateWorkerRequest>,
) -> ApiResult<axum::Json<Empty>> {
    Ok(axum::Json(
        s.app.update_worker(&p, &at.workforce_id, &at.worker_id, &req).await?,
    ))
}

/// Remove a member from a team.
#[utoipa::path(delete, path = "/v2/{project_id}/workforces/{workforce_id}/workers/{worker_id}", tag = "workforces",
    params(("project_id" = String, Path), ("workforce_id" = String, Path), ("worker_id" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_worker(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WorkerPath>,
) -> ApiResult<StatusCode> {
    s.app.delete_worker(&p, &at.workforce_id, &at.worker_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
