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
pub mod listen;
pub mod observe;
pub mod routes;
pub mod strict;
pub mod urls;
pub mod web;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::Router;
pub use exporter::{Exporter, MetricsEndpoint};
pub use listen::ConnLimits;
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
    tags((name = "iam"), (name = "datasets"), (name = "labels"), (name = "samples"), (name = "workforces"), (name = "workforce-tasks"), (name = "team-samples"), (name = "acceptance"), (name = "webhooks"), (name = "system"))
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
    use routes::{
        acceptance, data_io, datasets, iam, labels, samples, system, team_samples, webhooks, workforce_tasks,
        workforces,
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(system::openapi_json))
        .routes(routes!(iam::identity_versions))
        .routes(routes!(iam::identity_version))
        .routes(routes!(iam::identity_version_at_self))
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
        .routes(routes!(data_io::list_versions, data_io::create_version))
        .routes(routes!(data_io::get_version, data_io::delete_version))
        .routes(routes!(data_io::list_import_tasks, data_io::create_import_task))
        .routes(routes!(data_io::get_import_task))
        .routes(routes!(data_io::list_export_tasks, data_io::create_export_task))
        .routes(routes!(data_io::get_export_task))
        .routes(routes!(data_io::download_export))
        .routes(routes!(data_io::sync_data))
        .routes(routes!(data_io::get_sync_status))
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
        .routes(routes!(team_samples::get_workforce_task_sample_file))
        .routes(routes!(acceptance::review_samples))
        .routes(routes!(acceptance::start_acceptance))
        .routes(routes!(acceptance::acceptance_report))
        .routes(routes!(acceptance::accept_samples))
        .routes(routes!(acceptance::update_acceptance))
        .routes(routes!(acceptance::get_agreement))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::list_webhook_deliveries))
        .routes(routes!(webhooks::redeliver_webhook))
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().into_openapi();
    add_common_responses(&mut doc);
    doc
}

/// The answers every route can give because of what runs before its handler, added where a
/// route does not describe them itself, as references to `components/responses`: 400 for a
/// path, query, header or body value the extractors reject; 401 and 403 from authentication (no
/// or bad credentials; another project, or a role that may not call the route); 404 for an id in
/// the path that names nothing in the project; 413 for a body over the limit. All of them carry
/// the ModelArts error body.
fn add_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    const COMMON: [(&str, &str, &str); 5] = [
        (
            "400",
            "BadRequest",
            "The request is malformed: a path, query, header or body value is not valid",
        ),
        (
            "401",
            "Unauthorized",
            "No valid credentials: the token or the AK/SK signature is missing, unknown, revoked, expired or wrong",
        ),
        (
            "403",
            "Forbidden",
            "A path or X-Project-Id of another project, or a role that may not do this",
        ),
        ("404", "NotFound", "An id in the path names nothing in this project"),
        ("413", "PayloadTooLarge", "The body is larger than the server accepts"),
    ];
    let components = doc.components.get_or_insert_with(Default::default);
    for (_, name, description) in COMMON {
        let error = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        components.responses.insert(
            name.to_string(),
            ResponseBuilder::new()
                .description(description)
                .content("application/json", error)
                .build()
                .into(),
        );
    }
    let no_credentials = serde_json::json!([{}]);
    for (path, item) in doc.paths.paths.iter_mut() {
        let ids_in_path = path.matches('{').count() - usize::from(path.contains("{project_id}"));
        let ops = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            // `security(())` marks the routes that need no credentials.
            let open = op
                .security
                .as_ref()
                .is_some_and(|s| serde_json::to_value(s).is_ok_and(|v| v == no_credentials));
            let applies = |status: &str| match status {
                "400" => path.contains('{') || op.parameters.is_some() || op.request_body.is_some(),
                "401" | "403" => !open,
                "404" => ids_in_path > 0,
                _ => op.request_body.is_some(),
            };
            let wanted: Vec<_> = COMMON.iter().filter(|(status, ..)| applies(status)).collect();
            for (status, name, _) in wanted {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
            }
        }
    }
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
        .merge(web::router())
        .fallback(error::no_such_api)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extract::authenticate_signatures,
        ))
        .layer(axum::middleware::from_fn(error::keystone_errors))
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
    listen::serve(listener, router, shutdown, ConnLimits::default()).await
}
