//! `serve`: its arguments, the settings layered for it (limits, listener, metrics, object
//! storage), the first start of an empty store, and a graceful stop on SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use teamlabel_core::clock::format_rfc3339;
use teamlabel_core::{App, Limits};
use teamlabel_server::{ConnLimits, Exporter, MetricsEndpoint, ServerState};

use crate::config::{FileConfig, StoreArgs};
use crate::objects::{self, ObjectsArgs};
use crate::open_app;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "TEAMLABEL_LISTEN")]
    pub listen: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub objects: ObjectsArgs,

    /// Base URL of this server as clients reach it, used in sample `source` links
    /// [default: http://<Host header of the request>]
    #[arg(long, env = "TEAMLABEL_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Largest request body in bytes [default: 12582912]
    #[arg(long, env = "TEAMLABEL_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Most items in one batch request [default: 1000]
    #[arg(long, env = "TEAMLABEL_MAX_BATCH")]
    pub max_batch: Option<usize>,

    /// Largest sample file in bytes [default: 12582912]
    #[arg(long, env = "TEAMLABEL_MAX_SAMPLE_BYTES")]
    pub max_sample_bytes: Option<usize>,

    /// SQLite `synchronous` level: FULL (the default), EXTRA, NORMAL or OFF. Anything below
    /// FULL can lose acknowledged labels on power loss and needs --allow-weak-durability
    #[arg(long, env = "TEAMLABEL_SQLITE_SYNCHRONOUS")]
    pub sqlite_synchronous: Option<String>,

    /// Start even when the database's durability settings are weaker than the defaults
    /// (SQLite journal_mode/synchronous; PostgreSQL fsync, synchronous_commit,
    /// full_page_writes); a warning is logged on every start
    #[arg(long, env = "TEAMLABEL_ALLOW_WEAK_DURABILITY")]
    pub allow_weak_durability: bool,

    /// Serve GET /metrics (Prometheus text format) on a listener of its own, e.g.
    /// 127.0.0.1:9464 (port 0 picks a free one). Metrics are off unless this or
    /// --metrics-token is given
    #[arg(long, env = "TEAMLABEL_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,

    /// Require `Authorization: Bearer TOKEN` on GET /metrics (16 to 256 visible ASCII
    /// characters). Without --metrics-listen, /metrics is then served on the API listener.
    /// Prefer the environment variable or the config file: a flag shows in the process list
    #[arg(long, env = "TEAMLABEL_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Seconds a client has to send a request's headers, and that a kept-alive connection may
    /// wait for its next request; a client slower than that is cut off [default: 30]
    #[arg(long, env = "TEAMLABEL_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,

    /// Seconds a client has to send a request's whole body once its headers are in; a slower
    /// one is answered 408 [default: 60]
    #[arg(long, env = "TEAMLABEL_BODY_TIMEOUT")]
    pub body_timeout: Option<u64>,

    /// Connections served at once; more wait until one ends [default: 1024]
    #[arg(long, env = "TEAMLABEL_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// An address or network (127.0.0.1, 10.0.0.0/8, ::1) webhook deliveries may reach although
    /// it is loopback, private, link-local or otherwise not public; repeat it, or separate
    /// several with commas. Without it such destinations are refused (after DNS resolution and
    /// on every redirect). Replaces the config file's webhooks.allow
    #[arg(long, env = "TEAMLABEL_WEBHOOK_ALLOW", value_delimiter = ',')]
    pub webhook_allow: Vec<String>,

    /// Keep the label history of the last DAYS days (1 to 36500) and remove older entries,
    /// oldest first, at start and then every hour. Without it the history is kept whole
    #[arg(long, env = "TEAMLABEL_HISTORY_KEEP_DAYS", value_name = "DAYS")]
    pub history_keep_days: Option<u32>,
}

/// The connection limits after layering (flag, environment, config file, default).
fn conn_limits(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<ConnLimits> {
    let defaults = ConnLimits::default();
    let header = args.header_timeout.or(file.header_timeout);
    let body = args.body_timeout.or(file.body_timeout);
    for (flag, secs) in [("--header-timeout", header), ("--body-timeout", body)] {
        if let Some(s) = secs {
            anyhow::ensure!((1..=3600).contains(&s), "{flag} must be 1 to 3600 seconds, got {s}");
        }
    }
    let max_connections = args.max_connections.or(file.max_connections);
    if let Some(n) = max_connections {
        anyhow::ensure!(
            (1..=100_000).contains(&n),
            "--max-connections must be 1 to 100000, got {n}"
        );
    }
    Ok(ConnLimits {
        header_timeout: header.map_or(defaults.header_timeout, Duration::from_secs),
        body_timeout: body.map_or(defaults.body_timeout, Duration::from_secs),
        max_connections: max_connections.unwrap_or(defaults.max_connections),
    })
}

/// Lifetime of the token created on first start.
const FIRST_START_TTL_HOURS: u64 = 720;

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.store.config.as_deref())?;
    let defaults = Limits::default();
    let limits = Limits {
        max_body_bytes: args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(defaults.max_body_bytes),
        max_batch: args.max_batch.or(file.max_batch).unwrap_or(defaults.max_batch),
        max_sample_bytes: args
            .max_sample_bytes
            .or(file.max_sample_bytes)
            .unwrap_or(defaults.max_sample_bytes),
    };
    anyhow::ensure!(limits.max_body_bytes >= 1024, "--max-body-bytes must be at least 1024");
    let conn_limits = conn_limits(&args, &file)?;
    anyhow::ensure!(
        (1..=100_000).contains(&limits.max_batch),
        "--max-batch must be 1 to 100000"
    );
    let listen = args
        .listen
        .clone()
        .or(file.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen must be HOST:PORT, got {listen:?}"))?;
    let public_url = args
        .public_url
        .clone()
        .or(file.public_url.clone())
        .map(|u| u.trim_end_matches('/').to_string());
    if let Some(u) = &public_url {
        anyhow::ensure!(
            u.starts_with("http://") || u.starts_with("https://"),
            "--public-url must start with http:// or https://"
        );
    }

    let metrics = metrics_settings(&args, &file)?;
    let exporter = match &metrics {
        Some(_) => {
            let exporter = Exporter::install().map_err(|e| anyhow::anyhow!(e))?;
            teamlabel_store::telemetry::describe();
            Some(exporter)
        }
        None => None,
    };

    let data_dir = args.store.resolve(&file).data_dir;
    let objects = args
        .objects
        .resolve(file.objects.as_ref(), &data_dir, &objects::process_env)?;
    let synchronous = args
        .sqlite_synchronous
        .clone()
        .or(file.sqlite_synchronous.clone())
        .unwrap_or_else(|| "FULL".into());
    let hooks = crate::webhooks::settings(&args.webhook_allow, file.webhooks.as_ref())?;
    let keep_days = args.history_keep_days.or(file.history_keep_days);
    if let Some(days) = keep_days {
        anyhow::ensure!(
            (1..=36_500).contains(&days),
            "--history-keep-days must be 1 to 36500, got {days}"
        );
    }
    let app = open_app(&args.store, limits, &synchronous, Some(&objects))
        .await?
        .with_webhooks(hooks);
    tracing::info!(objects = app.objects.kind(), "object storage: {}", objects.describe());
    let allow_weak = args.allow_weak_durability || file.allow_weak_durability.unwrap_or(false);
    let settings = app.store.durability_settings().await?;
    let weak = teamlabel_core::durability::weaknesses(app.store.backend(), &settings);
    if !weak.is_empty() {
        if !allow_weak {
            anyhow::bail!(
                "refusing to start: {}. Acknowledged labels could be lost in a crash; restore the setting, or pass --allow-weak-durability to start anyway",
                weak.join("; ")
            );
        }
        for w in &weak {
            tracing::warn!("weak durability accepted by --allow-weak-durability: {w}");
        }
    }
    first_start(&app, &data_dir).await?;
    recover_data_io(&app).await?;
    start_webhooks(&app)?;
    if let Some(days) = keep_days {
        start_history_pruning(&app, days);
    }

    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    // /metrics on the API listener only behind a token; on a listener of its own otherwise.
    let mut public_metrics = None;
    if let (Some(settings), Some(exporter)) = (metrics, exporter) {
        let endpoint = MetricsEndpoint::new(exporter, settings.token);
        match settings.listen {
            None => public_metrics = Some(endpoint),
            Some(metrics_addr) => {
                let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
                    .await
                    .with_context(|| format!("cannot listen on {metrics_addr} for metrics"))?;
                let metrics_local = metrics_listener.local_addr()?;
                if !metrics_local.ip().is_loopback() && !endpoint.token() {
                    tracing::warn!("metrics served on {metrics_local} without --metrics-token: anyone who reaches it can read them");
                }
                tracing::info!("metrics on http://{metrics_local}/metrics");
                println!("metrics on http://{metrics_local}/metrics");
                // Stops with the process; it has no requests worth draining.
                tokio::spawn(teamlabel_server::serve_router(
                    metrics_listener,
                    teamlabel_server::metrics_router(endpoint),
                    std::future::pending(),
                ));
            }
        }
    }
    tracing::info!(backend = app.store.backend(), "serving on {local}");
    println!("listening on http://{local}");
    let state = ServerState { app, public_url };
    let router = teamlabel_server::router_with(state, public_metrics);
    teamlabel_server::listen::serve(listener, router, shutdown, conn_limits).await?;
    tracing::info!("shut down");
    Ok(())
}

/// Where and how `GET /metrics` is served, once the layers are read.
struct MetricsSettings {
    /// A listener of its own; `None` puts /metrics on the API listener (behind the token).
    listen: Option<SocketAddr>,
    token: Option<String>,
}

/// Metrics are on with `--metrics-listen`, or with `--metrics-token` alone (then on the API
/// listener, where they are never served without a token).
fn metrics_settings(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<Option<MetricsSettings>> {
    let listen = args.metrics_listen.clone().or(file.metrics_listen.clone());
    let token = args.metrics_token.clone().or(file.metrics_token.clone());
    if let Some(t) = &token {
        anyhow::ensure!(
            (16..=256).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()),
            "--metrics-token must be 16 to 256 visible ASCII characters"
        );
    }
    let listen = match listen {
        Some(l) => Some(
            l.parse::<SocketAddr>()
                .with_context(|| format!("--metrics-listen must be HOST:PORT, got {l:?}"))?,
        ),
        None if token.is_none() => return Ok(None),
        None => None,
    };
    Ok(Some(MetricsSettings { listen, token }))
}

/// With an empty store, creates a default project and owner and tells the operator once.
async fn first_start(app: &App, data_dir: &Path) -> anyhow::Result<()> {
    if app.store.find_first_project().await?.is_some() {
        return Ok(());
    }
    let (project, owner, token, expires_at) = app
        .create_project("default", "owner@teamlabel.local", FIRST_START_TTL_HOURS)
        .await?;
    let (credential, _) = app.issue_access_key(&project.id, &owner.email, "owner").await?;
    let creds = json!({
        "project_id": project.id,
        "user_id": owner.id,
        "email": owner.email,
        "token": token,
        "expires_at": format_rfc3339(expires_at),
        "access_key": credential.access,
        "secret_key": credential.secret,
    });
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("initial-credentials.json");
    write_private(&path, serde_json::to_string_pretty(&creds)?.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("created project {} with owner {}", project.id, owner.email);
    println!("owner token (shown once; also in {}): {token}", path.display());
    println!(
        "owner access key: {} (its secret key is in {})",
        credential.access,
        path.display()
    );
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, before the
/// server announces its address, so a signal sent right after the announcement is never lost.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutdown signal received; finishing requests in flight");
    })
}

/// Starts the dispatcher of webhook deliveries. It stops with the process: a delivery cut short
/// is sent again once its claim runs out (at least once).
fn start_webhooks(app: &App) -> anyhow::Result<()> {
    let settings = &app.webhooks.settings;
    let transport = teamlabel_store::webhooks::HttpTransport::new(settings).map_err(|e| anyhow::anyhow!(e))?;
    if !settings.policy.allow.is_empty() {
        let allowed: Vec<String> = settings.policy.allow.iter().map(|n| n.to_string()).collect();
        tracing::info!(
            "webhook deliveries may reach these non-public networks: {}",
            allowed.join(", ")
        );
    }
    let dispatcher = app.clone();
    tokio::spawn(async move {
        dispatcher
            .run_webhook_dispatcher(std::sync::Arc::new(transport), std::future::pending())
            .await
    });
    Ok(())
}

/// Removes label history older than `days`, now and then every hour. A failed round is logged
/// and tried again at the next.
fn start_history_pruning(app: &App, days: u32) {
    tracing::info!(
        days,
        "label history is kept for {days} days; older entries are removed every hour"
    );
    let app = app.clone();
    tokio::spawn(async move {
        loop {
            let before = teamlabel_core::clock::now_ms() - i64::from(days) * 86_400_000;
            match app.prune_history(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, days, "removed label history older than the kept days"),
                Err(e) => tracing::warn!(error = %e.message, "removing old label history failed"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

/// Fails the imports, exports and version publishing a stopped server left unfinished: all of
/// them at start on SQLite (this server owns the file), and, on PostgreSQL, those that stood
/// still for `STALE_MS`, at start and then every minute (another server may be running the
/// others).
async fn recover_data_io(app: &App) -> anyhow::Result<()> {
    use teamlabel_core::data_io::tasks::STALE_MS;
    let now = teamlabel_core::clock::now_ms();
    let before = if app.store.backend() == "sqlite" {
        now + 1
    } else {
        now - STALE_MS
    };
    let (versions, tasks) = app.recover_data_io(before).await?;
    if versions + tasks > 0 {
        tracing::warn!(
            versions,
            tasks,
            "work left unfinished by a stopped server was marked failed"
        );
    }
    let sweeper = app.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            let before = teamlabel_core::clock::now_ms() - STALE_MS;
            if let Err(e) = sweeper.recover_data_io(before).await {
                tracing::warn!(error = %e, "the sweep of stale imports and exports failed");
            }
        }
    });
    Ok(())
}
