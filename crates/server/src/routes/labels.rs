//! Label routes: thin handlers over `teamlabel_core::datasets::label_changes`. Batch
//! changes are all-or-nothing: 200 when every item passed, else 400 with each item's result.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use teamlabel_api::batch::BatchResponse;
use teamlabel_api::labels::{DeleteLabelsQuery, LabelByNameQuery, LabelsRequest, ListLabelsQuery, ListLabelsResponse};
use teamlabel_core::datasets::dataset::property_map;

use super::{DatasetPath, LabelPath};
use crate::error::{ApiResult, BatchRejection, ErrorBody};
use crate::extract::{Caller, Json, Query};
use crate::ServerState;

fn batch(outcome: Result<BatchResponse, BatchResponse>) -> Response {
    match outcome {
        Ok(b) => (StatusCode::OK, axum::Json(b)).into_response(),
        Err(b) => (StatusCode::BAD_REQUEST, axum::Json(b)).into_response(),
    }
}

/// List a dataset's labels.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", tag = "labels",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ListLabelsQuery),
    responses((status = 200, body = ListLabelsResponse), (status = 404, body = ErrorBody)))]
pub async fn list_labels(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Query(q): Query<ListLabelsQuery>,
) -> ApiResult<axum::Json<ListLabelsResponse>> {
    Ok(axum::Json(s.app.list_labels(&p, &at.dataset_id, &q).await?))
}

/// Create labels.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", tag = "labels",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = LabelsRequest,
    responses((status = 200, body = BatchResponse), (status = 400, description = "An item broke a rule (`BatchResponse`, nothing written), or the request is malformed (`ErrorBody`)", body = BatchRejection)))]
pub async fn create_labels(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<LabelsRequest>,
) -> ApiResult<Response> {
    Ok(batch(s.app.create_labels(&p, &at.dataset_id, &req).await?))
}

/// Change labels: merge properties, rename with `@modelarts:rename_to`.
#[utoipa::path(put, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", tag = "labels",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = LabelsRequest,
    responses((status = 200, body = BatchResponse), (status = 400, description = "An item broke a rule (`BatchResponse`, nothing written), or the request is malformed (`ErrorBody`)", body = BatchRejection)))]
pub async fn update_labels(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<LabelsRequest>,
) -> ApiResult<Response> {
    Ok(batch(s.app.update_labels(&p, &at.dataset_id, &req).await?))
}

/// Delete labels, with a policy for the samples that carry them.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/delete", tag = "labels",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), DeleteLabelsQuery),
    request_body = LabelsRequest,
    responses((status = 200, body = BatchResponse), (status = 400, description = "An item broke a rule (`BatchResponse`, nothing written), or the request is malformed (`ErrorBody`)", body = BatchRejection)))]
pub async fn delete_labels(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Query(q): Query<DeleteLabelsQuery>,
    Json(req): Json<LabelsRequest>,
) -> ApiResult<Response> {
    Ok(batch(s.app.delete_labels(&p, &at.dataset_id, &q, &req).await?))
}

/// Update one label by name with a bare property map.
#[utoipa::path(put, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/{label_name}", tag = "labels",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("label_name" = String, Path, description = "URL-encoded label name"), LabelByNameQuery),
    request_body(content = Object, description = "Label properties to merge; null removes a key"),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_label(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<LabelPath>,
    Query(q): Query<LabelByNameQuery>,
    Json(body): Json<Value>,
) -> ApiResult<StatusCode> {
    let property = property_map(body)?;
    s.app
        .update_label_by_name(&p, &at.dataset_id, &at.label_name, &q, &property)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete one label and the samples whose only label it was.
#[utoipa::path(delete, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/{label_name}", tag = "labels",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("label_name" = String, Path), LabelByNameQuery),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_label(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<LabelPath>,
    Query(q): Query<LabelByNameQuery>,
) -> ApiResult<StatusCode> {
    s.app
        .delete_label_by_name(&p, &at.dataset_id, &at.label_name, &q)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
