//! teamlabel-server: the HTTP API. Routes per resource (paths exactly as the ModelArts v2 API
//! documents them), extractors that authenticate and decode, one error mapping, and the OpenAPI
//! document generated from the same route declarations. Handlers are thin: extract, call the
//! use case in `teamlabel-core`, map to the response. Around every route, `observe` gives the
//! request its id, logs one line and records the HTTP metrics; `exporter` serves them at
//! `GET /metrics` when the binary turns that on.
#![forbid(unsafe_code)]

pub mod error;
pub mod exporter;
pub mod extract;
pub mod observe;
pub mod routes;
pub mod strict;
pub mod urls;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::Router;
pub use exporter::{Exporter, MetricsEndpoint};
use teamlabel_core::App;
use tokio::net::TcpListener;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What every handler gets: the application and the configured public URL.
#[derive(Clone)]
pub struct ServerState {
    pub app: App,
    /// Base URL for links in answers; `None` uses `http://<Host header>`.
    pub public_url: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "teamlabel", description = "A self-hosted team data-labeling server speaking the ModelArts Data Management v2 API."),
    modifiers(&SecurityAddon),
    security(("token" = []), ("aksk" = [])),
    tags((name = "iam"), (name = "datasets"), (name = "labels"), (name = "samples"), (name = "workforces"), (name = "workforce-tasks"), (name = "team-samples"), (name = "acceptance"), (name = "system"))
)]
struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Token"))),
        );
        components.add_security_scheme(
            "aksk",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=... with X-Sdk-Date, as the official SDKs sign requests",
            ))),
        );
    }
}

fn api_router() -> OpenApiRouter<ServerState> {
    use routes::{acceptance, datasets, iam, labels, samples, system, team_samples, workforce_tasks, workforces};
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(system::openapi_json))
        .routes(routes!(iam::create_token))
        .routes(routes!(iam::create_credential, iam::list_credentials))
        .routes(routes!(iam::get_credential, iam::delete_credential))
        .routes(routes!(iam::create_security_token))
        .routes(routes!(datasets::list_datasets, datasets::create_dataset))
        .routes(routes!(
            datasets::get_dataset,
            datasets::update_dataset,
            datasets::delete_dataset
        ))
        .routes(routes!(datasets::get_dataset_stats))
        .routes(routes!(
            labels::list_labels,
            labels::create_labels,
            labels::update_labels
        ))
        .routes(routes!(labels::delete_labels))
        .routes(routes!(labels::update_label, labels::delete_label))
        .routes(routes!(
            samples::list_samples,
            samples::add_samples,
            team_samples::update_samples
        ))
        .routes(routes!(samples::delete_samples))
        .routes(routes!(samples::get_sample))
        .routes(routes!(samples::get_sample_file))
        .routes(routes!(team_samples::list_sample_history))
        .routes(routes!(workforces::list_workforces, workforces::create_workforce))
        .routes(routes!(
            workforces::get_workforce,
            workforces::update_workforce,
            workforces::delete_workforce
        ))
        .routes(routes!(workforces::list_all_workers))
        .routes(routes!(workforces::list_workers, workforces::create_worker))
        .routes(routes!(workforces::batch_delete_workers))
        .routes(routes!(
            workforces::get_worker,
            workforces::update_worker,
            workforces::delete_worker
        ))
        .routes(routes!(
            workforce_tasks::list_workforce_tasks,
            workforce_tasks::create_workforce_task
        ))
        .routes(routes!(
            workforce_tasks::get_workforce_task,
            workforce_tasks::start_workforce_task,
            workforce_tasks::update_workforce_task,
            workforce_tasks::delete_workforce_task
        ))
        .routes(routes!(workforce_tasks::list_worker_tasks))
        .routes(routes!(workforce_tasks::get_workforce_task_stats))
        .routes(routes!(workforce_tasks::get_workforce_task_metrics))
        .routes(routes!(
            team_samples::update_workforce_task_samples,
            team_samples::list_workforce_task_samples
        ))
        .routes(routes!(team_samples::get_workforce_task_sample))
        .routes(routes!(acceptance::review_samples))
        .routes(routes!(acceptance::start_acceptance))
        .routes(routes!(acceptance::acceptance_report))
        .routes(routes!(acceptance::accept_samples))
        .routes(routes!(acceptance::update_acceptance))
        .routes(routes!(acceptance::get_agreement))
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

/// The router with its state and layers.
pub fn router(state: ServerState) -> Router {
    router_with(state, None)
}

/// The API router, with `GET /metrics` beside the API when `metrics` is given (the binary
/// gives it only with a token: see `exporter`).
pub fn router_with(state: ServerState, metrics: Option<MetricsEndpoint>) -> Router {
    let max_body = state.app.limits.max_body_bytes;
    let (mut router, _) = api_router().split_for_parts();
    if let Some(endpoint) = metrics {
        router = router.route(exporter::METRICS_PATH, endpoint.method_router());
    }
    router
        .fallback(error::no_such_api)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extract::authenticate_signatures,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(state)
}

/// The router of a listener of its own for `GET /metrics` (anything else is 404), with the
/// same request ids, log lines and HTTP metrics as the API.
pub fn metrics_router(endpoint: MetricsEndpoint) -> Router {
    Router::new()
        .route(exporter::METRICS_PATH, endpoint.method_router())
        .layer(axum::middleware::from_fn(observe::observe))
}

/// Serves on an already-bound listener until `shutdown` completes, then finishes the requests
/// in flight.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state), shutdown).await
}

/// Serves `router` (from [`router_with`] or [`metrics_router`]) on an already-bound listener
/// until `shutdown` completes, then finishes the requests in flight.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
