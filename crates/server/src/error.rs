//! The one mapping from domain errors to HTTP: every error leaves the server as the ModelArts
//! body `{"error_code": "ModelArts.xxxx", "error_msg": "..."}`. Internal errors are logged with
//! the request's id (the one of its log line and its `X-Request-Id` answer header) and answered
//! without their details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use teamlabel_core::error::{codes, Error, ErrorKind};
use utoipa::ToSchema;

/// The ModelArts error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error_code: String,
    pub error_msg: String,
}

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = status_of(e.kind);
        let retry_after = e.retry_after;
        let message = if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) {
            let request_id = crate::observe::request_id().unwrap_or_else(teamlabel_core::ids::new_hex32);
            tracing::error!(request_id, code = e.code, error = %e.message, "request failed");
            format!("Internal error. (request id {request_id})")
        } else {
            e.message
        };
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error_code: e.code.to_string(),
                error_msg: message,
            }),
        )
            .into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert("www-authenticate", axum::http::HeaderValue::from_static("X-Auth-Token"));
        }
        response
    }
}

/// Answer for a path this server does not have.
pub async fn no_such_api(uri: axum::http::Uri) -> ApiError {
    ApiError(Error::not_found(
        codes::NO_SUCH_API,
        format!("API does not exist: {}", uri.path()),
    ))
}

/// Answer for a path this server has, with a method it does not serve there.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let body = ErrorBody {
        error_code: codes::NO_SUCH_API.to_string(),
        error_msg: format!("API does not exist: {method} is not allowed on {}", uri.path()),
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

pub type ApiResult<T> = Result<T, ApiError>;
