//! Dataset routes: thin handlers over `teamlabel_core::datasets::dataset`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use teamlabel_api::datasets::{
    CreateDatasetRequest, CreateDatasetResponse, Dataset, DatasetStats, ListDatasetsQuery, ListDatasetsResponse,
    StatsQuery, UpdateDatasetRequest,
};

use super::DatasetPath;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query};
use crate::ServerState;

/// List datasets.
#[utoipa::path(get, path = "/v2/{project_id}/datasets", tag = "datasets",
    params(("project_id" = String, Path, description = "Project id (32 hex)"), ListDatasetsQuery),
    responses((status = 200, body = ListDatasetsResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_datasets(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Query(q): Query<ListDatasetsQuery>,
) -> ApiResult<axum::Json<ListDatasetsResponse>> {
    Ok(axum::Json(s.app.list_datasets(&p, &q).await?))
}

/// Create a dataset with its labels.
#[utoipa::path(post, path = "/v2/{project_id}/datasets", tag = "datasets",
    params(("project_id" = String, Path, description = "Project id (32 hex)")),
    request_body = CreateDatasetRequest,
    responses((status = 201, body = CreateDatasetResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn create_dataset(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Json(req): Json<CreateDatasetRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(s.app.create_dataset(&p, &req).await?)))
}

/// Get a dataset, with its labels.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}", tag = "datasets",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    responses((status = 200, body = Dataset), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_dataset(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
) -> ApiResult<axum::Json<Dataset>> {
    Ok(axum::Json(s.app.get_dataset(&p, &at.dataset_id).await?))
}

/// Change a dataset's name, description and labels in one call.
#[utoipa::path(put, path = "/v2/{project_id}/datasets/{dataset_id}", tag = "datasets",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = UpdateDatasetRequest,
    responses((status = 200, body = CreateDatasetResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_dataset(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<UpdateDatasetRequest>,
) -> ApiResult<axum::Json<CreateDatasetResponse>> {
    Ok(axum::Json(s.app.update_dataset(&p, &at.dataset_id, &req).await?))
}

/// Delete a dataset with its labels and samples (stored files are kept).
#[utoipa::path(delete, path = "/v2/{project_id}/datasets/{dataset_id}", tag = "datasets",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_dataset(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
) -> ApiResult<StatusCode> {
    s.app.delete_dataset(&p, &at.dataset_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Label and sample statistics of a dataset.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/stats", tag = "datasets",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), StatsQuery),
    responses((status = 200, body = DatasetStats), (status = 404, body = ErrorBody)))]
pub async fn get_dataset_stats(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Query(q): Query<StatsQuery>,
) -> ApiResult<axum::Json<DatasetStats>> {
    Ok(axum::Json(s.app.dataset_stats(&p, &at.dataset_id, &q).await?))
}
