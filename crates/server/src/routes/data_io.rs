//! Dataset versions, import tasks, export tasks and the sync with the data source: thin
//! handlers over `teamlabel_core::data_io`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use teamlabel_api::data_io::{
    CreateExportTaskRequest, CreateImportTaskRequest, CreateTaskResponse, CreateVersionRequest, CreateVersionResponse,
    DatasetVersion, ExportTask, ImportTask, ListExportTasksResponse, ListImportTasksResponse, ListTasksQuery,
    ListVersionsQuery, ListVersionsResponse, SyncDataRequest, SyncStatus,
};

use super::DatasetPath;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, OptionalJson, Query};
use crate::ServerState;

/// `.../versions/{version_id}`
#[derive(Debug, Deserialize)]
pub struct VersionPath {
    pub project_id: String,
    pub dataset_id: String,
    pub version_id: String,
}

/// `.../import-tasks/{task_id}` and `.../export-tasks/{task_id}`
#[derive(Debug, Deserialize)]
pub struct DataTaskPath {
    pub project_id: String,
    pub dataset_id: String,
    pub task_id: String,
}

/// List the versions of a dataset, newest first.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/versions", tag = "versions",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ListVersionsQuery),
    responses((status = 200, body = ListVersionsResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_versions(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Query(q): Query<ListVersionsQuery>,
) -> ApiResult<axum::Json<ListVersionsResponse>> {
    Ok(axum::Json(s.app.list_versions(&p, &at.dataset_id, &q).await?))
}

/// Publish a version: the samples and labels frozen into a manifest, in the background.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/versions", tag = "versions",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = CreateVersionRequest,
    responses((status = 201, body = CreateVersionResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_version(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<CreateVersionRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.app.create_version(&p, &at.dataset_id, &req).await?),
    ))
}

/// A version, with its label statistics.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}", tag = "versions",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("version_id" = String, Path)),
    responses((status = 200, body = DatasetVersion), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_version(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<VersionPath>,
) -> ApiResult<axum::Json<DatasetVersion>> {
    Ok(axum::Json(s.app.get_version(&p, &at.dataset_id, &at.version_id).await?))
}

/// Delete a version and its files.
#[utoipa::path(delete, path = "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}", tag = "versions",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("version_id" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_version(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<VersionPath>,
) -> ApiResult<StatusCode> {
    s.app.delete_version(&p, &at.dataset_id, &at.version_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the import tasks of a dataset, newest first.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/import-tasks", tag = "import-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ListTasksQuery),
    responses((status = 200, body = ListImportTasksResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_import_tasks(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Query(q): Query<ListTasksQuery>,
) -> ApiResult<axum::Json<ListImportTasksResponse>> {
    Ok(axum::Json(s.app.list_import_tasks(&p, &at.dataset_id, &q).await?))
}

/// Import files from the object store into the dataset, in the background.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/import-tasks", tag = "import-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = CreateImportTaskRequest,
    responses((status = 200, body = CreateTaskResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_import_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<CreateImportTaskRequest>,
) -> ApiResult<axum::Json<CreateTaskResponse>> {
    Ok(axum::Json(s.app.create_import_task(&p, &at.dataset_id, &req).await?))
}

/// An import task: its status, counts and the issues it met.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/import-tasks/{task_id}", tag = "import-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("task_id" = String, Path)),
    responses((status = 200, body = ImportTask), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_import_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DataTaskPath>,
) -> ApiResult<axum::Json<ImportTask>> {
    Ok(axum::Json(
        s.app.get_import_task(&p, &at.dataset_id, &at.task_id).await?,
    ))
}

/// List the export tasks of a dataset, newest first.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/export-tasks", tag = "export-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ListTasksQuery),
    responses((status = 200, body = ListExportTasksResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_export_tasks(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Query(q): Query<ListTasksQuery>,
) -> ApiResult<axum::Json<ListExportTasksResponse>> {
    Ok(axum::Json(s.app.list_export_tasks(&p, &at.dataset_id, &q).await?))
}

/// Export samples and labels to a directory of the object store (or a new dataset), in the
/// background.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/export-tasks", tag = "export-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = CreateExportTaskRequest,
    responses((status = 200, body = CreateTaskResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_export_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<CreateExportTaskRequest>,
) -> ApiResult<axum::Json<CreateTaskResponse>> {
    Ok(axum::Json(s.app.create_export_task(&p, &at.dataset_id, &req).await?))
}

/// An export task: its status, counts and what the format could not hold. The provider names
/// the dataset segment `resource_id` here; it is the dataset id.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/export-tasks/{task_id}", tag = "export-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("task_id" = String, Path)),
    responses((status = 200, body = ExportTask), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_export_task(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DataTaskPath>,
) -> ApiResult<axum::Json<ExportTask>> {
    Ok(axum::Json(
        s.app.get_export_task(&p, &at.dataset_id, &at.task_id).await?,
    ))
}

/// A finished export's files (with its report) as one zip archive, streamed (an addition).
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/export-tasks/{task_id}/download", tag = "export-tasks",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("task_id" = String, Path)),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download_export(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DataTaskPath>,
) -> ApiResult<impl IntoResponse> {
    let d = s.app.download_export(&p, &at.dataset_id, &at.task_id).await?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        d.file_name.replace(['"', '\\', '\r', '\n'], "_")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        Body::from_stream(d.body),
    ))
}

/// Synchronize the dataset with its data source in the background: a sample for every new file
/// under `data_sources[].data_path` (with the labels its layout carries), and the samples whose
/// file is gone removed. The body is empty (or `{}`); the answer is the sync's state. Text
/// datasets refuse (`ModelArts.4383`); one sync runs at a time (`ModelArts.4355`).
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/sync-data", tag = "sync-data",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = SyncDataRequest,
    responses((status = 200, body = SyncStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn sync_data(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    OptionalJson(_body): OptionalJson<SyncDataRequest>,
) -> ApiResult<axum::Json<SyncStatus>> {
    Ok(axum::Json(s.app.sync_data(&p, &at.dataset_id).await?))
}

/// The state of the dataset's latest sync with its data source (`NOT_EXIST` if none ran).
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/sync-data/status", tag = "sync-data",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    responses((status = 200, body = SyncStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_sync_status(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
) -> ApiResult<axum::Json<SyncStatus>> {
    Ok(axum::Json(s.app.get_sync_status(&p, &at.dataset_id).await?))
}
