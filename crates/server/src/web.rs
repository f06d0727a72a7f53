//! The labeling page: `web/index.html`, its ES modules (`web/*.js`) and `web/app.css`, compiled into the binary
//! and served under `/ui/`, so a fresh build serves it without Node or npm. Every answer carries
//! a strict Content-Security-Policy (scripts and styles from this origin only, no inline
//! script, no other host), `nosniff`, and no framing. The page talks to the API like any client.
//! A browser that asks for `/` (Accept: text/html) is sent to `/ui/`; API clients still get the
//! Keystone version list there. Not part of the ModelArts API: in neither the OpenAPI document
//! nor the policy table.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The page's files below `/ui/` (`index.html` also at `/ui/` itself): name, content type, body. The scripts are ES modules that
/// import each other by these names.
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../web/index.html"),
    ),
    ("app.css", "text/css; charset=utf-8", include_str!("../web/app.css")),
    ("app.js", JS, include_str!("../web/app.js")),
    ("api.js", JS, include_str!("../web/api.js")),
    ("common.js", JS, include_str!("../web/common.js")),
    ("editor.js", JS, include_str!("../web/editor.js")),
    ("input.js", JS, include_str!("../web/input.js")),
    ("keys.js", JS, include_str!("../web/keys.js")),
    ("marks.js", JS, include_str!("../web/marks.js")),
    ("views.js", JS, include_str!("../web/views.js")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// What the page may load: everything from this origin, pictures also from the `blob:` URLs it
/// makes of sample bytes it fetched; nothing inline, no plugins, no frames, no other host.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
     media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What sample bytes answered by the API may do if a browser opens them: nothing (an uploaded
/// SVG or HTML file runs no script, even at its own URL).
pub const FILE_POLICY: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";

/// Where the page lives.
pub const PAGE_PATH: &str = "/ui/";

/// The ETag of each file, by name, computed once from its body (the bodies are part of the
/// binary).
static ETAGS: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, _, body)| {
            let mut hasher = DefaultHasher::new();
            body.hash(&mut hasher);
            (*name, format!("\"{:016x}\"", hasher.finish()))
        })
        .collect()
});

/// The headers every answer of the page carries.
fn page_headers(h: &mut HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// A file of the page by name, with its headers; 404 when there is none.
fn asset(name: &str, headers: &HeaderMap) -> Response {
    let (Some((_, content_type, body)), Some(etag)) = (FILES.iter().find(|(n, _, _)| *n == name), ETAGS.get(name))
    else {
        let mut response = (StatusCode::NOT_FOUND, "no such file of the labeling page").into_response();
        page_headers(response.headers_mut());
        return response;
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, *body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    page_headers(h);
    // Revalidated on every load (an upgraded server serves its own page at once), cheaply.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// The routes of the page.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ui", get(|| async { to_page() }))
        .route(PAGE_PATH, get(|h: HeaderMap| async move { asset("index.html", &h) }))
        .route(
            "/ui/{file}",
            get(|Path(name): Path<String>, h: HeaderMap| async move { asset(&name, &h) }),
        )
}

/// Whether a request comes from a browser navigating (it prefers HTML).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// 303 to the page.
pub fn to_page() -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, PAGE_PATH)]).into_response()
}
