//! Request extractors that answer bad input with the ModelArts error body instead of the
//! framework's plain-text rejections: JSON bodies (syntax -> `ModelArts.4105`, wrong shape ->
//! `ModelArts.0101` naming the JSON path, too large -> 413 `ModelArts.4104`), query strings, the
//! caller's identity (`X-Auth-Token`, checked against the path's project), and the server's base
//! URL for links it answers with.

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request, State};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use teamlabel_api::signing::Received;
use teamlabel_core::error::{codes, Error, ErrorKind};
use teamlabel_core::iam::auth::Principal;
use teamlabel_core::iam::projects::check_project;

use crate::error::ApiError;
use crate::ServerState;

/// A JSON body decoded into `T`.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(Json).map_err(ApiError)
    }
}

/// A JSON body that may be left out (an empty body gives `T::default()`).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson).map_err(ApiError)
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Ok(Bytes::from_request(req, state).await.map_err(|rejection| {
        if timed_out(&rejection) {
            Error::new(
                ErrorKind::RequestTimeout,
                codes::REQUEST_TIMEOUT,
                "Request timeout: the body did not arrive in time; send it at once or raise --body-timeout",
            )
        } else if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(
                ErrorKind::PayloadTooLarge,
                codes::BODY_TOO_LARGE,
                "Invalid request body because the size exceeds the maximum size allowed.",
            )
        } else {
            Error::bad_request(
                codes::INVALID_REQUEST,
                format!("Invalid request: the body could not be read: {rejection}"),
            )
        }
    })?)
}

/// Whether a body could not be read because its time was up (`listen::BodyTimedOut`).
fn timed_out(rejection: &axum::extract::rejection::BytesRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(e) = source {
        if e.is::<crate::listen::BodyTimedOut>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Decodes a JSON document, naming the JSON path of a value of the wrong shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_request(
            codes::EMPTY_REQUEST,
            "Empty request: a JSON body is required",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(crate::strict::Strict(&mut de)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // A shape error may stop the parse before a syntax error further on; a document that
        // is not JSON at all is reported as such.
        let syntax = if inner.is_syntax() || inner.is_eof() {
            Some(inner.to_string())
        } else {
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
                .err()
                .map(|e| e.to_string())
        };
        if let Some(syntax) = syntax {
            Error::bad_request(
                codes::BAD_JSON,
                format!("Incorrect JSON format of the input data: {syntax}"),
            )
        } else {
            let at = if path == "." { "body".to_string() } else { path };
            Error::invalid(format!("{at}: {}", strip_position(&inner.to_string())))
        }
    })?;
    de.end()
        .map_err(|e| Error::bad_request(codes::BAD_JSON, format!("Incorrect JSON format of the input data: {e}")))?;
    Ok(value)
}

/// serde_json appends " at line 1 column 42" to messages; the JSON path says more.
fn strip_position(msg: &str) -> &str {
    msg.find(" at line ").map_or(msg, |i| &msg[..i])
}

/// A query string decoded into `T`.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(raw)
            .map(Query)
            .map_err(|e| ApiError(Error::invalid(format!("query string: {e}"))))
    }
}

/// The authenticated caller, already checked against the `{project_id}` of the path and the
/// optional `X-Project-Id` header. A request signed with AK/SK was verified by
/// `authenticate_signatures`; otherwise `X-Auth-Token` names the caller.
pub struct Caller(pub Principal);

pub const AUTH_TOKEN_HEADER: &str = "x-auth-token";

/// The principal proven by an AK/SK signature, left in the request's extensions.
#[derive(Debug, Clone)]
pub struct Signed(pub Principal);

impl FromRequestParts<ServerState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, ApiError> {
        let principal = match parts.extensions.get::<Signed>() {
            Some(Signed(p)) => p.clone(),
            None => match parts.headers.get(AUTH_TOKEN_HEADER) {
                Some(token) => {
                    let token = token.to_str().map_err(|_| {
                        Error::unauthorized(codes::TOKEN_INVALID, "Invalid token: X-Auth-Token is not ASCII")
                    })?;
                    state.app.authenticate_token(token.trim()).await?
                }
                None if parts.headers.contains_key(AUTHORIZATION) => {
                    return Err(ApiError(Error::unauthorized(
                        codes::AUTH_HEADER_INVALID,
                        "Invalid Authorization header: the scheme must be SDK-HMAC-SHA256 (or send X-Auth-Token)",
                    )))
                }
                None => {
                    return Err(ApiError(Error::unauthorized(
                        codes::TOKEN_MISSING,
                        "Token doesn't exist: send X-Auth-Token, or sign the request with AK/SK",
                    )))
                }
            },
        };
        if let Some(header) = parts.headers.get("x-project-id") {
            let project_id = header.to_str().unwrap_or_default().trim();
            check_project(&principal, project_id)?;
        }
        crate::observe::set_caller(&principal.user_id);
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::bad_request(codes::INVALID_REQUEST, format!("Invalid request path: {e}")))?;
        if let Some((_, project_id)) = params.iter().find(|(k, _)| *k == "project_id") {
            check_project(&principal, project_id)?;
        }
        Ok(Caller(principal))
    }
}

/// Verifies `SDK-HMAC-SHA256` signatures before routing: the body is read (within the body
/// limit) so its hash can be checked, then handed on unchanged with the caller in the
/// extensions. Requests without such a header pass untouched.
pub async fn authenticate_signatures(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    let authorization = match req.headers().get(AUTHORIZATION).map(|v| v.to_str()) {
        None => return next.run(req).await,
        Some(Err(_)) => {
            return ApiError(Error::unauthorized(
                codes::AUTH_HEADER_INVALID,
                "Invalid Authorization header: it is not ASCII",
            ))
            .into_response()
        }
        Some(Ok(v)) if !v.trim_start().starts_with(teamlabel_api::signing::SCHEME) => return next.run(req).await,
        Some(Ok(v)) => v.to_string(),
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, state.app.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError(Error::new(
                ErrorKind::PayloadTooLarge,
                codes::BODY_TOO_LARGE,
                "Invalid request body because the size exceeds the maximum size allowed.",
            ))
            .into_response()
        }
    };
    let mut headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    if !parts.headers.contains_key(HOST) {
        if let Some(authority) = parts.uri.authority() {
            headers.push(("host".into(), authority.as_str().as_bytes().to_vec()));
        }
    }
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let received = Received {
        method: parts.method.as_str(),
        target,
        headers: &headers,
        body: &bytes,
    };
    let now = teamlabel_core::clock::now_ms().div_euclid(1000);
    match state.app.authenticate_signature(&received, &authorization, now).await {
        Ok(principal) => {
            let mut req = Request::from_parts(parts, axum::body::Body::from(bytes));
            req.extensions_mut().insert(Signed(principal));
            next.run(req).await
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// This server's base URL as the caller reached it (or as configured with `--public-url`).
pub struct BaseUrl(pub String);

impl FromRequestParts<ServerState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, ApiError> {
        if let Some(url) = &state.public_url {
            return Ok(BaseUrl(url.clone()));
        }
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)))
            .unwrap_or("localhost");
        Ok(BaseUrl(format!("http://{host}")))
    }
}

/// The optional `X-Idempotency-Key` header.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.headers.get("x-idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(v) => v
                .to_str()
                .map(|k| IdempotencyKey(Some(k.trim().to_string())))
                .map_err(|_| ApiError(Error::invalid("X-Idempotency-Key must be visible ASCII"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        #[allow(dead_code)]
        samples: Vec<Item>,
    }

    #[derive(serde::Deserialize, Debug)]
    struct Item {
        #[allow(dead_code)]
        score: Option<f64>,
    }

    #[test]
    fn a_wrong_type_names_the_json_path_and_bad_syntax_is_4105() {
        let err = parse_json::<Body>(br#"{"samples": [{"score": 0.5}, {"score": "high"}]}"#).unwrap_err();
        assert_eq!(err.code, codes::INVALID_ARGUMENT);
        assert!(err.message.starts_with("samples[1].score:"), "{}", err.message);
        assert_eq!(
            parse_json::<Body>(b"{\"samples\": [").unwrap_err().code,
            codes::BAD_JSON
        );
        assert_eq!(parse_json::<Body>(b"not json").unwrap_err().code, codes::BAD_JSON);
        assert_eq!(
            parse_json::<Body>(b"{\"samples\": []} x").unwrap_err().code,
            codes::BAD_JSON
        );
        assert_eq!(parse_json::<Body>(b"  ").unwrap_err().code, codes::EMPTY_REQUEST);
    }
}
