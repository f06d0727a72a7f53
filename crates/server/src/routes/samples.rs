//! Sample routes: thin handlers over `teamlabel_core::samples`, plus the file
//! route that answers a sample's stored bytes.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use teamlabel_api::batch::BatchResponse;
use teamlabel_api::samples::{AddSamplesRequest, DeleteSamplesRequest, ListSamplesQuery, ListSamplesResponse, Sample};

use super::{DatasetPath, SamplePath};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{BaseUrl, Caller, Json, Query};
use crate::urls::FileUrls;
use crate::ServerState;

/// List a dataset's samples.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples", tag = "samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ListSamplesQuery),
    responses((status = 200, body = ListSamplesResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_samples(
    State(s): State<ServerState>,
    Caller(p): Caller,
    BaseUrl(base): BaseUrl,
    Path(at): Path<DatasetPath>,
    Query(q): Query<ListSamplesQuery>,
) -> ApiResult<axum::Json<ListSamplesResponse>> {
    Ok(axum::Json(
        s.app
            .list_samples(&p, &at.dataset_id, &q, &FileUrls::new(base, &p.project_id))
            .await?,
    ))
}

/// Add samples in a batch: bytes (base64) or references; per-item results.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples", tag = "samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = AddSamplesRequest,
    responses((status = 200, description = "Per-item results; success is false if any item failed", body = BatchResponse), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn add_samples(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<AddSamplesRequest>,
) -> ApiResult<axum::Json<BatchResponse>> {
    Ok(axum::Json(s.app.add_samples(&p, &at.dataset_id, &req).await?))
}

/// Delete samples in a batch.
#[utoipa::path(post, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/delete", tag = "samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path)),
    request_body = DeleteSamplesRequest,
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody)))]
pub async fn delete_samples(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DatasetPath>,
    Json(req): Json<DeleteSamplesRequest>,
) -> ApiResult<axum::Json<BatchResponse>> {
    Ok(axum::Json(s.app.delete_samples(&p, &at.dataset_id, &req).await?))
}

/// Get one sample.
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/{sample_id}", tag = "samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("sample_id" = String, Path)),
    responses((status = 200, body = Sample), (status = 404, body = ErrorBody)))]
pub async fn get_sample(
    State(s): State<ServerState>,
    Caller(p): Caller,
    BaseUrl(base): BaseUrl,
    Path(at): Path<SamplePath>,
) -> ApiResult<axum::Json<Sample>> {
    Ok(axum::Json(
        s.app
            .get_sample(&p, &at.dataset_id, &at.sample_id, &FileUrls::new(base, &p.project_id))
            .await?,
    ))
}

/// The stored bytes of a sample (an addition: the `source` of uploaded samples points here).
#[utoipa::path(get, path = "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/{sample_id}/file", tag = "samples",
    params(("project_id" = String, Path), ("dataset_id" = String, Path), ("sample_id" = String, Path)),
    responses((status = 200, description = "The bytes, with the content type found when they were stored", content(
            ("image/jpeg"), ("image/png"), ("image/gif"), ("image/bmp"), ("image/webp"), ("image/tiff"),
            ("text/plain"), ("audio/wav"), ("audio/mpeg"), ("video/mp4"), ("application/octet-stream"))),
        (status = 404, body = ErrorBody)))]
pub async fn get_sample_file(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<SamplePath>,
) -> ApiResult<Response> {
    let file = s.app.get_sample_file(&p, &at.dataset_id, &at.sample_id).await?;
    Ok(file_response(file))
}

/// A sample's bytes as answered: their content type, `nosniff`, a policy under which nothing in
/// them runs (an uploaded SVG or HTML file is inert even when opened at its URL), and a download
/// name for what a browser would not show inline.
pub fn file_response(file: teamlabel_core::samples::read::SampleFile) -> Response {
    let mut response = (StatusCode::OK, file.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::web::FILE_POLICY),
    );
    if !file.inline {
        // Only ASCII-safe characters go into the header; others become '_'.
        let safe: String = file
            .file_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}
