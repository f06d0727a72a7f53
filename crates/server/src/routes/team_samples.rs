//! The batch label updates (team and dataset), team sample reads and the annotation history:
//! thin handlers over `teamlabel_core::samples` and `teamlabel_core::team`. A failed `?atomic=true` batch is a 400.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use teamlabel_api::batch::BatchResponse;
use teamlabel_api::samples::{ListHistoryQuery, ListHistoryResponse, UpdateSamplesQuery, UpdateSamplesRequest};
use teamlabel_api::team::task_samples::{
    GetWorkforceTaskSampleQuery, ListWorkforceTaskSamplesQuery, ListWorkforceTaskSamplesResponse, WorkforceTaskSample,
};
use teamlabel_core::samples::batch::BatchOutcome;

use super::{DatasetPath, SamplePath, TaskPath, TaskSamplePath};
use crate::error::{ApiResult, BatchRejection, ErrorBody};
use crate::extract::{BaseUrl, Caller, IdempotencyKey, Json, Query};
use crate::urls::FileUrls;
use crate::ServerState;

fn answer(outcome: BatchOutcome) -> Response {
    let status = if outcome.rejected {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, axum::Json(outcome.response)).into_response()
}

/// The stored bytes of a sample of the task, for its members (a labeler only of samples
/// assigned to them): what the labeling page shows. As `.../samples/{sample_id}/file`.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples/{sample_id}/file", tag = "team-samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path), ("sample_id" = String, Path)),
    responses((status = 200, description = "The bytes, with the content type found when they were stored", content(
            ("image/jpeg"), ("image/png"), ("image/gif"), ("image/bmp"), ("image/webp"), ("image/tiff"),
            ("text/plain"), ("audio/wav"), ("audio/mpeg"), ("video/mp4"), ("application/octet-stream"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_workforce_task_sample_file(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<TaskSamplePath>,
) -> ApiResult<Response> {
    let file = s
        .app
        .get_workforce_task_sample_file(&p, &at.dataset_id, &at.workforce_task_id, &at.sample_id)
        .await?;
    Ok(super::samples::file_response(file))
}

/// Update the labels of team task samples in a batch: per-item results, one transaction.
#[utoipa::path(put, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples", tag = "team-samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path), UpdateSamplesQuery,
        ("X-Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and request within 24 h answers the first response and writes nothing; another request with the key is 409")),
    request_body = UpdateSamplesRequest,
    responses(
        (status = 200, description = "Per-item results; success is false if any item failed (the others were applied)", body = BatchResponse),
        (status = 400, description = "A failed `?atomic=true` batch (`BatchResponse`, nothing applied), or a malformed request (`ErrorBody`)", body = BatchRejection),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "X-Idempotency-Key was used with a different request, or is in use by a request still running", body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn update_workforce_task_samples(
    State(s): State<ServerState>,
    Caller(p): Caller,
    BaseUrl(base): BaseUrl,
    IdempotencyKey(key): IdempotencyKey,
    Path(at): Path<TaskPath>,
    Query(q): Query<UpdateSamplesQuery>,
    Json(req): Json<UpdateSamplesRequest>,
) -> ApiResult<Response> {
    Ok(answer(
        s.app
            .update_workforce_task_samples(
                &p,
                &at.dataset_id,
                &at.workforce_task_id,
                &q,
                &req,
                &FileUrls::new(base, &p.project_id),
                key.as_deref(),
            )
            .await?,
    ))
}

/// List the samples of a team task (a labeler sees their own copies).
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples", tag = "team-samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path), ListWorkforceTaskSamplesQuery),
    responses((status = 200, body = ListWorkforceTaskSamplesResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_workforce_task_samples(
    State(s): State<ServerState>,
    Caller(p): Caller,
    BaseUrl(base): BaseUrl,
    Path(at): Path<TaskPath>,
    Query(q): Query<ListWorkforceTaskSamplesQuery>,
) -> ApiResult<axum::Json<ListWorkforceTaskSamplesResponse>> {
    Ok(axum::Json(
        s.app
            .list_workforce_task_samples(
                &p,
                &at.dataset_id,
                &at.workforce_task_id,
                &q,
                &FileUrls::new(base, &p.project_id),
            )
            .await?,
    ))
}

/// Get one team sample (one member's copy).
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples/{sample_id}", tag = "team-samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("workforce_task_id" = String, Path), ("sample_id" = String, Path), GetWorkforceTaskSampleQuery),
    responses((status = 200, body = WorkforceTaskSample), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_workforce_task_sample(
    State(s): State<ServerState>,
    Caller(p): Caller,
    BaseUrl(base): BaseUrl,
    Path(at): Path<TaskSamplePath>,
    Query(q): Query<GetWorkforceTaskSampleQuery>,
) -> ApiResult<axum::Json<WorkforceTaskSample>> {
    Ok(axum::Json(
        s.app
            .get_workforce_task_sample(
                &p,
                &at.dataset_id,
                &at.workforce_task_id,
                &at.sample_id,
                &q,
                &FileUrls::new(base, &p.project_id),
            )
            .await?,
    ))
}

/// Update the dataset-level labels of samples in a batch (same rules as the team update).
#[utoipa::path(put, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples", tag = "samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), UpdateSamplesQuery,
        ("X-Idempotency-Key" = Option<String>, Header, description = "As on the team update")),
    request_body = UpdateSamplesRequest,
    responses(
        (status = 200, description = "Per-item results; success is false if any item failed (the others were applied)", body = BatchResponse),
        (status = 400, description = "A failed `?atomic=true` batch (`BatchResponse`, nothing applied), or a malformed request (`ErrorBody`)", body = BatchRejection),
        (status = 404, body = ErrorBody),
        (status = 409, description = "X-Idempotency-Key was used with a different request, or is in use by a request still running", body = ErrorBody)))]
pub async fn update_samples(
    State(s): State<ServerState>,
    Caller(p): Caller,
    BaseUrl(base): BaseUrl,
    IdempotencyKey(key): IdempotencyKey,
    Path(at): Path<DatasetPath>,
    Query(q): Query<UpdateSamplesQuery>,
    Json(req): Json<UpdateSamplesRequest>,
) -> ApiResult<Response> {
    Ok(answer(
        s.app
            .update_samples(
                &p,
                &at.dataset_id,
                &q,
                &req,
                &FileUrls::new(base, &p.project_id),
                key.as_deref(),
            )
            .await?,
    ))
}

/// The annotation history of a sample, newest first (an addition).
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/{sample_id}/history", tag = "samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("sample_id" = String, Path), ListHistoryQuery),
    responses((status = 200, body = ListHistoryResponse), (status = 404, body = ErrorBody)))]
pub async fn list_sample_history(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<SamplePath>,
    Query(q): Query<ListHistoryQuery>,
) -> ApiResult<axum::Json<ListHistoryResponse>> {
    Ok(axum::Json(
        s.app.list_sample_history(&p, &at.dataset_id, &at.sample_id, &q).await?,
    ))
}
