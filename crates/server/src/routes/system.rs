//! Health and the OpenAPI document.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ServerState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
}

/// 200 when the store answers, 503 when it does not. Needs no credentials.
#[utoipa::path(get, path = "/health", tag = "system", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(s): State<ServerState>) -> Response {
    let backend = s.app.store.backend();
    match s.app.store.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(Health { status: "ok", backend })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Health {
                    status: "unavailable",
                    backend,
                }),
            )
                .into_response()
        }
    }
}

/// This server's OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "system", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    axum::Json(crate::openapi()).into_response()
}
