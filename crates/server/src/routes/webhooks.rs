//! The webhook routes (owner only): endpoints under `/v2/{project_id}/webhooks` and their
//! delivery log. An addition of teamlabel; the deliveries themselves are made by the core's
//! dispatcher.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use teamlabel_api::webhooks::{
    CreateWebhookRequest, ListDeliveriesQuery, ListDeliveriesResponse, ListWebhooksQuery, ListWebhooksResponse,
    UpdateWebhookRequest, Webhook, WebhookDelivery,
};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query};
use crate::ServerState;

/// `/v2/{project_id}/webhooks/{webhook_id}`
#[derive(Debug, Deserialize)]
pub struct WebhookPath {
    pub project_id: String,
    pub webhook_id: String,
}

/// `.../webhooks/{webhook_id}/deliveries/{delivery_id}`
#[derive(Debug, Deserialize)]
pub struct DeliveryPath {
    pub project_id: String,
    pub webhook_id: String,
    pub delivery_id: String,
}

/// Register an endpoint for events. The answer holds the signing secret, here only: each
/// delivery carries `X-Teamlabel-Signature: sha256=<HMAC-SHA256 of the body with the secret, in
/// hex>`, `X-Teamlabel-Event` and `X-Teamlabel-Delivery` (the same on every retry).
#[utoipa::path(post, path = "/v2/{project_id}/webhooks", tag = "webhooks",
    params(("project_id" = String, Path)),
    request_body = CreateWebhookRequest,
    responses((status = 201, body = Webhook), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_webhook(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Json(req): Json<CreateWebhookRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(s.app.create_webhook(&p, req).await?)))
}

/// The project's endpoints, oldest first, without secrets.
#[utoipa::path(get, path = "/v2/{project_id}/webhooks", tag = "webhooks",
    params(("project_id" = String, Path), ListWebhooksQuery),
    responses((status = 200, body = ListWebhooksResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_webhooks(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Query(q): Query<ListWebhooksQuery>,
) -> ApiResult<axum::Json<ListWebhooksResponse>> {
    Ok(axum::Json(s.app.list_webhooks(&p, &q).await?))
}

/// One endpoint, without its secret.
#[utoipa::path(get, path = "/v2/{project_id}/webhooks/{webhook_id}", tag = "webhooks",
    params(("project_id" = String, Path), ("webhook_id" = String, Path)),
    responses((status = 200, body = Webhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_webhook(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WebhookPath>,
) -> ApiResult<axum::Json<Webhook>> {
    Ok(axum::Json(s.app.get_webhook(&p, &at.webhook_id).await?))
}

/// Change an endpoint's URL, events, description or whether it is enabled; its secret stays.
#[utoipa::path(put, path = "/v2/{project_id}/webhooks/{webhook_id}", tag = "webhooks",
    params(("project_id" = String, Path), ("webhook_id" = String, Path)),
    request_body = UpdateWebhookRequest,
    responses((status = 200, body = Webhook), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_webhook(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WebhookPath>,
    Json(req): Json<UpdateWebhookRequest>,
) -> ApiResult<axum::Json<Webhook>> {
    Ok(axum::Json(s.app.update_webhook(&p, &at.webhook_id, req).await?))
}

/// Delete an endpoint with its deliveries, sent or not.
#[utoipa::path(delete, path = "/v2/{project_id}/webhooks/{webhook_id}", tag = "webhooks",
    params(("project_id" = String, Path), ("webhook_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_webhook(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WebhookPath>,
) -> ApiResult<StatusCode> {
    s.app.delete_webhook(&p, &at.webhook_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint's delivery log, newest first: each event's status, attempts, last HTTP status
/// or error, next attempt, and body.
#[utoipa::path(get, path = "/v2/{project_id}/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("project_id" = String, Path), ("webhook_id" = String, Path), ListDeliveriesQuery),
    responses((status = 200, body = ListDeliveriesResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_webhook_deliveries(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<WebhookPath>,
    Query(q): Query<ListDeliveriesQuery>,
) -> ApiResult<axum::Json<ListDeliveriesResponse>> {
    Ok(axum::Json(s.app.list_webhook_deliveries(&p, &at.webhook_id, &q).await?))
}

/// Send a delivery again (one that failed, or one already delivered): it is due at once, with
/// its attempts counted from zero, under the same delivery id.
#[utoipa::path(post, path = "/v2/{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("project_id" = String, Path), ("webhook_id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 200, body = WebhookDelivery), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn redeliver_webhook(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<DeliveryPath>,
) -> ApiResult<axum::Json<WebhookDelivery>> {
    Ok(axum::Json(
        s.app.redeliver_webhook(&p, &at.webhook_id, &at.delivery_id).await?,
    ))
}
