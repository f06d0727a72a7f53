//! The one mapping from domain errors to HTTP: every error leaves the server as the ModelArts
//! body `{"error_code": "ModelArts.xxxx", "error_msg": "..."}`, and on the Keystone routes
//! (`/v3` and below) with Keystone's `error` object as well (see [`keystone_errors`]). Internal
//! errors are logged with the request's id (the one of its log line and its `X-Request-Id`
//! answer header) and answered without their details.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
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

/// The error body of the Keystone routes: Keystone's `error` object, and the ModelArts fields
/// beside it (see [`keystone_errors`] for why both).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeystoneErrorBody {
    pub error: KeystoneError,
    /// The ModelArts code, as on every other route (`ModelArts.4697` wrong sign-in, `4693`
    /// locked, ...).
    pub error_code: String,
    /// The same text as `error.message`.
    pub error_msg: String,
}

/// Keystone's error object.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeystoneError {
    /// The HTTP status, as a number.
    pub code: u16,
    /// The status's reason phrase (`Unauthorized`, `Bad Request`, ...).
    pub title: String,
    pub message: String,
}

/// What an error answer said, kept in the response's extensions so [`keystone_errors`] can
/// answer it in Keystone's shape without parsing the body back.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub code: String,
    pub message: String,
}

/// The ModelArts error answer, with what it said in its extensions.
fn error_response(status: StatusCode, code: String, message: String) -> Response {
    let rendered = Rendered {
        code: code.clone(),
        message: message.clone(),
    };
    let mut response = (
        status,
        axum::Json(ErrorBody {
            error_code: code,
            error_msg: message,
        }),
    )
        .into_response();
    response.extensions_mut().insert(rendered);
    response
}

/// Whether a path is one of Keystone's: `/v3` and below. `/v3.0/...` (the provider's own
/// OS-CREDENTIAL API, called by its SDKs) is not.
pub fn is_keystone_path(path: &str) -> bool {
    path == "/v3" || path.starts_with("/v3/")
}

/// Answers the errors of the Keystone routes (`/v3`, `/v3/auth/tokens`, and unknown paths or
/// methods below `/v3`) the way Keystone does, `{"error": {"code": 401, "title":
/// "Unauthorized", "message": "..."}}`, so keystoneauth1 and openstacksdk report the server's
/// message instead of a bare status. Every other route keeps the ModelArts body alone.
///
/// The ModelArts fields stay beside Keystone's object (`"error_code"`, `"error_msg"`, same
/// message): Keystone clients read only `error` and ignore other keys, while the clients that
/// already call the token endpoint (the Huawei Cloud SDK core in `tests/sdk/test_sdk.py`,
/// `teamlabel-client`, scripts written against this server) read `error_code`, and only the code
/// tells a wrong password (`ModelArts.4697`, 401) from a locked user (`ModelArts.4693`, 429)
/// or an expired token (`ModelArts.0202`). Answering both shapes keeps every one of them
/// working; dropping the ModelArts fields would break them for no gain to Keystone clients.
pub async fn keystone_errors(req: Request, next: Next) -> Response {
    let keystone = is_keystone_path(req.uri().path());
    let mut response = next.run(req).await;
    if !keystone {
        return response;
    }
    let Some(rendered) = response.extensions_mut().remove::<Rendered>() else {
        return response;
    };
    let status = response.status();
    let body = KeystoneErrorBody {
        error: KeystoneError {
            code: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            message: rendered.message.clone(),
        },
        error_code: rendered.code,
        error_msg: rendered.message,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let bytes = serde_json::to_vec(&body).expect("an error body serializes");
    Response::from_parts(parts, axum::body::Body::from(bytes))
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
        ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
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
        let mut response = error_response(status, e.code.to_string(), message);
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
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::NO_SUCH_API.to_string(),
        format!("API does not exist: {method} is not allowed on {}", uri.path()),
    )
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
