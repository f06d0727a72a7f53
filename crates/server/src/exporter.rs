//! `GET /metrics`: everything recorded through the `metrics` facade (HTTP here, batches, blobs
//! and sign-ins in core, pools, commits and the SQLite writer in store), in the Prometheus text
//! format.
//!
//! It is an operator's endpoint, not part of the ModelArts API: it is in neither the OpenAPI
//! document nor the policy table (`teamlabel_core::iam::policy::ROUTES`), whose callers are a
//! project's principals. It is off unless configured, and then served either on a listener of
//! its own ([`metrics_router`], e.g. on loopback) or on the API listener, where it needs a
//! bearer token ([`MetricsEndpoint::token`]).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

/// The path of the endpoint.
pub const METRICS_PATH: &str = "/metrics";

/// Upper bounds of the latency buckets, in seconds (every `_seconds` histogram).
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the count buckets (histograms named `..._jobs`: group-commit sizes).
const COUNT_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The Prometheus recorder of this process and the handle that renders it.
#[derive(Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
}

/// The recorder's settings: every `..._seconds` histogram with latency buckets, every
/// `..._jobs` histogram with count buckets.
pub fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets(SECONDS_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_jobs".into()), COUNT_BUCKETS))
        .expect("the bucket lists are not empty")
}

/// An exporter of a recorder installed some other way (e.g. a test's thread-local recorder
/// built from [`builder`]).
impl From<PrometheusHandle> for Exporter {
    fn from(handle: PrometheusHandle) -> Self {
        Exporter { handle }
    }
}

impl Exporter {
    /// Installs the Prometheus recorder as the process's `metrics` recorder, with the help text
    /// of the server's and core's metrics, and starts its upkeep thread. The recorder is global:
    /// a second call answers the exporter the first one installed. Fails when another recorder
    /// was installed first.
    pub fn install() -> Result<Exporter, String> {
        static INSTALLED: OnceLock<Result<Exporter, String>> = OnceLock::new();
        INSTALLED
            .get_or_init(|| {
                let recorder = builder().build_recorder();
                let handle = recorder.handle();
                metrics::set_global_recorder(recorder)
                    .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
                let upkeep = handle.clone();
                std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    })
                    .map_err(|e| format!("cannot start the metrics upkeep thread: {e}"))?;
                crate::observe::describe();
                teamlabel_core::telemetry::describe();
                Ok(Exporter { handle })
            })
            .clone()
    }

    /// Everything recorded so far, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Where and how `GET /metrics` answers: the exporter, and the bearer token it requires, if any.
#[derive(Clone)]
pub struct MetricsEndpoint {
    exporter: Exporter,
    token: Option<Arc<str>>,
}

impl MetricsEndpoint {
    /// `token`: the value `Authorization: Bearer ...` must carry; `None` answers anyone who can
    /// reach the listener (only for a listener of its own).
    pub fn new(exporter: Exporter, token: Option<String>) -> Self {
        MetricsEndpoint {
            exporter,
            token: token.map(Arc::from),
        }
    }

    /// Whether a token is required.
    pub fn token(&self) -> bool {
        self.token.is_some()
    }

    /// `GET /metrics` as a route of any router.
    pub fn method_router<S: Clone + Send + Sync + 'static>(&self) -> MethodRouter<S> {
        get(serve_metrics).with_state(self.clone())
    }
}

/// Checks a token given as `Authorization: Bearer <token>` in constant time.
fn authorized(expected: &str, headers: &HeaderMap) -> bool {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes()))
}

async fn serve_metrics(State(endpoint): State<MetricsEndpoint>, headers: HeaderMap) -> Response {
    if let Some(token) = &endpoint.token {
        if !authorized(token, &headers) {
            return (
                StatusCode::UNAUTHORIZED,
                [(WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
                "metrics: send Authorization: Bearer <the metrics token>\n",
            )
                .into_response();
        }
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        endpoint.exporter.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let mut h = HeaderMap::new();
        assert!(!authorized("s3cret-metrics-token", &h));
        h.insert(AUTHORIZATION, "Bearer s3cret-metrics-token".parse().unwrap());
        assert!(authorized("s3cret-metrics-token", &h));
        for wrong in [
            "Bearer s3cret",
            "Basic s3cret-metrics-token",
            "s3cret-metrics-token",
            "Bearer ",
        ] {
            h.insert(AUTHORIZATION, wrong.parse().unwrap());
            assert!(!authorized("s3cret-metrics-token", &h), "{wrong}");
        }
    }
}
