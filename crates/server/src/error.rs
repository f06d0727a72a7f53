//! The one mapping from domain errors to HTTP: every error leaves the server as the ModelArts
//! body `{"error_code": "ModelArts.xxxx", "error_msg": "..."}`. Internal errors are logged with a
//! request id and answered without their details.

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
            let request_id = teamlabel_core::ids::new_hex32();
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

/// The 400 of a batch route, which is one of two bodies: a batch that failed as a whole (labels,
/// or `?atomic=true` on a sample batch update) answers the `BatchResponse` with each item's
/// result and nothing written; a malformed request (bad JSON, a wrong field type, an invalid
/// query or path value, a batch that is empty or too large) answers the error body. A schema
/// only: no handler builds it.
pub struct BatchRejection;

impl utoipa::PartialSchema for BatchRejection {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, Ref, Schema};
        Schema::AnyOf(
            AnyOfBuilder::new()
                .item(Ref::from_schema_name("BatchResponse"))
                .item(Ref::from_schema_name("ErrorBody"))
                .description(Some(
                    "A batch that failed as a whole (`BatchResponse`, `success: false`, nothing written), \
                     or a malformed request (`ErrorBody`)",
                ))
                .build(),
        )
        .into()
    }
}

impl ToSchema for BatchRejection {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        use teamlabel_api::batch::BatchResponse;
        use utoipa::PartialSchema;
        schemas.push((BatchResponse::name().into_owned(), BatchResponse::schema()));
        BatchResponse::schemas(schemas);
        schemas.push((ErrorBody::name().into_owned(), ErrorBody::schema()));
    }
}
