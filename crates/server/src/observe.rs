//! What every request leaves behind, from one middleware around all routes: a request id, one
//! log line, and the HTTP metrics.
//!
//! - The request id is the caller's `X-Request-Id` when it is sane (1 to 128 visible ASCII
//!   characters), a new 32-hex id otherwise; the answer carries it back in `X-Request-Id`, and
//!   an internal error's message names the same id (`error.rs` reads it with [`request_id`]).
//! - The log line (target `teamlabel::request`, level INFO) holds the id, the method, the route
//!   template (never the raw path, which carries ids), the status, the latency and the caller's
//!   user id once authenticated (`-` before). It holds no header but the request id, no query
//!   string and no body, so no token, signature, secret or password reaches the log.
//! - The metrics count requests and time them by method, route template and status.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};
use tracing::Instrument;

/// The header that carries the request id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The longest request id taken from a caller.
pub const MAX_REQUEST_ID_CHARS: usize = 128;
/// The route label of a request no route matched (its raw path is not a label).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Requests answered, by `method`, `route` (template) and `status`.
pub const HTTP_REQUESTS: &str = "teamlabel_http_requests_total";
/// Time from a request's arrival to its answer's head, by `method`, `route` and `status`.
pub const HTTP_SECONDS: &str = "teamlabel_http_request_duration_seconds";

/// Gives the HTTP metrics their help text (call once the recorder is installed).
pub fn describe() {
    describe_counter!(HTTP_REQUESTS, "Requests answered, by method, route template and status");
    describe_histogram!(
        HTTP_SECONDS,
        Unit::Seconds,
        "Time from a request's arrival to its answer, by method, route template and status"
    );
}

/// What the middleware knows of the request being served.
struct RequestContext {
    id: String,
    caller: OnceLock<String>,
}

tokio::task_local! {
    static REQUEST: Arc<RequestContext>;
}

/// The id of the request being served on this task, if any.
pub fn request_id() -> Option<String> {
    REQUEST.try_with(|r| r.id.clone()).ok()
}

/// Records who the caller of the request being served is (its user id), for the log line.
pub fn set_caller(user_id: &str) {
    let _ = REQUEST.try_with(|r| r.caller.set(user_id.to_string()));
}

/// The caller's `X-Request-Id` if it may be used as given.
pub fn sane_request_id(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let sane = (1..=MAX_REQUEST_ID_CHARS).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic);
    sane.then(|| value.to_str().ok()).flatten()
}

/// The method as a label: the standard ones by name, any other as `OTHER` (a caller must not
/// be able to mint label values).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The middleware: gives the request its id, serves it with the id in scope, then logs the
/// line, records the metrics and echoes the id.
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(sane_request_id)
        .map_or_else(teamlabel_core::ids::new_hex32, str::to_string);
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_string();
    let context = Arc::new(RequestContext {
        id,
        caller: OnceLock::new(),
    });
    // What the use cases log while serving it carries the id too (as the span's field).
    let span = tracing::info_span!("request", request_id = %context.id);
    let mut response = REQUEST.scope(context.clone(), next.run(req)).instrument(span).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    let caller = context.caller.get().map_or("-", String::as_str);
    let latency_ms = (took.as_secs_f64() * 1e6).round() / 1e3;
    tracing::info!(
        target: "teamlabel::request",
        request_id = %context.id,
        method = %method,
        route = %route,
        status,
        latency_ms,
        caller = %caller,
        "request"
    );
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_SECONDS, &labels).record(took.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&context.id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_taken_only_when_sane() {
        let ok = HeaderValue::from_static("abc-123_X.y:z");
        assert_eq!(sane_request_id(&ok), Some("abc-123_X.y:z"));
        for bad in ["", "has space", "tab\there"] {
            assert_eq!(sane_request_id(&HeaderValue::from_str(bad).unwrap()), None, "{bad:?}");
        }
        let long = "a".repeat(MAX_REQUEST_ID_CHARS + 1);
        assert_eq!(sane_request_id(&HeaderValue::from_str(&long).unwrap()), None);
        let longest = "a".repeat(MAX_REQUEST_ID_CHARS);
        assert!(sane_request_id(&HeaderValue::from_str(&longest).unwrap()).is_some());
        assert_eq!(sane_request_id(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()), None);
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }
}
