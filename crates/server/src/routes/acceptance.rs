//! Review, acceptance rounds and the labelers' agreement: thin handlers over
//! `teamlabel_core::team::{verdicts, acceptance, agreement}`.

use axum::extract::{Path, State};
use teamlabel_api::batch::BatchResponse;
use teamlabel_api::team::acceptance::{
    AcceptanceReport, AcceptanceReportQuery, SampleCommentsRequest, StartAcceptanceRequest, StartAcceptanceResponse,
    TaskAgreement, UpdateAcceptanceQuery, UpdateAcceptanceRequest, UpdateAcceptanceResponse,
};

use super::TaskPath;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{BaseUrl, Caller, Json, Query};
use crate::urls::FileUrls;
use crate::ServerState;

/// Review labeled samples: pass (to acceptance) or reject (back to the labeler), per item.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/review", tag = "acceptance",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path)),
    request_body = SampleCommentsRequest,
    responses(
        (status = 200, description = "Per-item results; success is false if any verdict failed (the others were applied; ModelArts.4606 for a copy not waiting for review)", body = BatchResponse),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn review_samples(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
    Json(req): Json<SampleCommentsRequest>,
) -> ApiResult<axum::Json<BatchResponse>> {
    Ok(axum::Json(
        s.app
            .review_samples(&p, &at.dataset_id, &at.workforce_task_id, &req)
            .await?,
    ))
}

/// Open an acceptance round: draw copies waiting for acceptance (`task_id` is the round).
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/acceptance", tag = "acceptance",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path)),
    request_body = StartAcceptanceRequest,
    responses((status = 200, body = StartAcceptanceResponse),
        (status = 400, description = "Bad input, a round already open (ModelArts.4623) or nothing to check (ModelArts.4625)", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn start_acceptance(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
    Json(req): Json<StartAcceptanceRequest>,
) -> ApiResult<axum::Json<StartAcceptanceResponse>> {
    Ok(axum::Json(
        s.app
            .start_acceptance(&p, &at.dataset_id, &at.workforce_task_id, &req)
            .await?,
    ))
}

/// The report of an acceptance round and of all rounds so far.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/acceptance/report", tag = "acceptance",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path), AcceptanceReportQuery),
    responses((status = 200, body = AcceptanceReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn acceptance_report(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
    Query(q): Query<AcceptanceReportQuery>,
) -> ApiResult<axum::Json<AcceptanceReport>> {
    Ok(axum::Json(
        s.app
            .acceptance_report(&p, &at.dataset_id, &at.workforce_task_id, &q)
            .await?,
    ))
}

/// The owner's verdicts on drawn copies of the open round, per item.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/acceptance/batch-comment", tag = "acceptance",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path)),
    request_body = SampleCommentsRequest,
    responses((status = 200, description = "Per-item results", body = BatchResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn accept_samples(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
    Json(req): Json<SampleCommentsRequest>,
) -> ApiResult<axum::Json<BatchResponse>> {
    Ok(axum::Json(
        s.app
            .accept_samples(&p, &at.dataset_id, &at.workforce_task_id, &req)
            .await?,
    ))
}

/// Close the open acceptance round with an action (3 lists conflicts and changes nothing);
/// accepted labels are written to the dataset in the same transaction.
#[utoipa::path(put, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/acceptance/status", tag = "acceptance",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path), UpdateAcceptanceQuery),
    request_body = UpdateAcceptanceRequest,
    responses((status = 200, body = UpdateAcceptanceResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_acceptance(
    State(s): State<ServerState>,
    Caller(p): Caller,
    BaseUrl(base): BaseUrl,
    Path(at): Path<TaskPath>,
    Query(q): Query<UpdateAcceptanceQuery>,
    Json(req): Json<UpdateAcceptanceRequest>,
) -> ApiResult<axum::Json<UpdateAcceptanceResponse>> {
    Ok(axum::Json(
        s.app
            .update_acceptance(
                &p,
                &at.dataset_id,
                &at.workforce_task_id,
                &q,
                &req,
                &FileUrls::new(base, &p.project_id),
            )
            .await?,
    ))
}

/// Agreement between the task's labelers (an addition): per task and per labeler.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/agreement", tag = "acceptance",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path)),
    responses((status = 200, body = TaskAgreement), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_agreement(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskPath>,
) -> ApiResult<axum::Json<TaskAgreement>> {
    Ok(axum::Json(
        s.app
            .workforce_task_agreement(&p, &at.dataset_id, &at.workforce_task_id)
            .await?,
    ))
}
