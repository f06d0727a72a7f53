//! Team task routes: thin handlers over `teamlabel_core::team`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use teamlabel_api::team::tasks::{
    CreateWorkforceTaskRequest, CreateWorkforceTaskResponse, GetWorkforceTaskQuery, ListWorkerTasksQuery,
    ListWorkerTasksResponse, ListWorkforceTasksQuery, ListWorkforceTasksResponse, StartWorkforceTaskRequest,
    TaskStatsQuery, UpdateWorkforceTaskRequest, WorkforceTask, WorkforceTaskMetrics, WorkforceTaskStats,
};
use teamlabel_api::team::workforces::Empty;

use super::{DatasetPath, TaskPath};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, OptionalJson, Query};
use crate::ServerState;

/// List a dataset's team labeling tasks.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks", tag = "workforce-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ListWorkforceTasksQuery),
    responses((status = 200, body = ListWorkforceTasksResponse), (status = 404, body = ErrorBody)))]
pub async fn list_workforce_tasks(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Query(q): Query<ListWorkforceTasksQuery>,
) -> ApiResult<axum::Json<ListWorkforceTasksResponse>> {
    Ok(axum::Json(s.app.list_workforce_tasks(&p, &at.dataset_id, &q).await?))
}

/// Create a team labeling task (status 6, created).
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks", tag = "workforce-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)), request_body = CreateWorkforceTaskRequest,
    responses((status = 200, body = CreateWorkforceTaskResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_workforce_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<CreateWorkforceTaskRequest>,
) -> ApiResult<axum::Json<CreateWorkforceTaskResponse>> {
    Ok(axum::Json(s.app.create_workforce_task(&p, &at.dataset_id, &req).await?))
}

/// Get a team labeling task with per-member progress.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}", tag = "workforce-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path), GetWorkforceTaskQuery),
    responses((status = 200, body = WorkforceTask), (status = 404, body = ErrorBody)))]
pub async fn get_workforce_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
    Query(q): Query<GetWorkforceTaskQuery>,
) -> ApiResult<axum::Json<WorkforceTask>> {
    Ok(axum::Json(
        s.app
            .get_workforce_task(&p, &at.dataset_id, &at.workforce_task_id, &q)
            .await?,
    ))
}

/// Start a task: assign its samples to the labelers and open it for labeling.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}", tag = "workforce-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path)), request_body = StartWorkforceTaskRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn start_workforce_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
    OptionalJson(req): OptionalJson<StartWorkforceTaskRequest>,
) -> ApiResult<axum::Json<Empty>> {
    Ok(axum::Json(
        s.app
            .start_workforce_task(&p, &at.dataset_id, &at.workforce_task_id, &req)
            .await?,
    ))
}

/// Change a task's name, description or (before it starts) members.
#[utoipa::path(put, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}", tag = "workforce-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path)), request_body = UpdateWorkforceTaskRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_workforce_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
    Json(req): Json<UpdateWorkforceTaskRequest>,
) -> ApiResult<axum::Json<Empty>> {
    Ok(axum::Json(
        s.app
            .update_workforce_task(&p, &at.dataset_id, &at.workforce_task_id, &req)
            .await?,
    ))
}

/// Delete a task with its labels not yet accepted.
#[utoipa::path(delete, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}", tag = "workforce-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_workforce_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
) -> ApiResult<StatusCode> {
    s.app
        .delete_workforce_task(&p, &at.dataset_id, &at.workforce_task_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team tasks of the calling member.
#[utoipa::path(get, path = "/v2/{project_id}/workforces/worker-tasks", tag = "workforce-tasks",
    params(("project_id" = String, Path), ListWorkerTasksQuery),
    responses((status = 200, body = ListWorkerTasksResponse), (status = 400, body = ErrorBody)))]
pub async fn list_worker_tasks(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Query(q): Query<ListWorkerTasksQuery>,
) -> ApiResult<axum::Json<ListWorkerTasksResponse>> {
    Ok(axum::Json(s.app.list_worker_tasks(&p, &q).await?))
}

/// Label and state counts of a task.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/stats", tag = "workforce-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path), TaskStatsQuery),
    responses((status = 200, body = WorkforceTaskStats), (status = 404, body = ErrorBody)))]
pub async fn get_workforce_task_stats(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
    Query(q): Query<TaskStatsQuery>,
) -> ApiResult<axum::Json<WorkforceTaskStats>> {
    Ok(axum::Json(
        s.app
            .workforce_task_stats(&p, &at.dataset_id, &at.workforce_task_id, &q)
            .await?,
    ))
}

/// Per-member progress of a task.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/metrics", tag = "workforce-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path)),
    responses((status = 200, body = WorkforceTaskMetrics), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_workforce_task_metrics(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
) -> ApiResult<axum::Json<WorkforceTaskMetrics>> {
    Ok(axum::Json(
        s.app
            .workforce_task_metrics(&p, &at.dataset_id, &at.workforce_task_id)
            .await?,
    ))
}
