//! The `teamlabel` binary: parse, set up logging, load settings, dispatch. Wiring only.
#![forbid(unsafe_code)]

mod config;
mod objects;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::json;
use teamlabel_core::clock::format_rfc3339;
use teamlabel_core::iam::sealer::Sealer;
use teamlabel_core::{App, Limits};
use teamlabel_server::{Exporter, MetricsEndpoint, ServerState};
use teamlabel_store::{backup, FsBlobStore, Location};

use crate::config::{FileConfig, StoreArgs};
use crate::objects::{ObjectSettings, ObjectsArgs};

/// A self-hosted team data-labeling server that speaks the ModelArts Data Management v2 API.
#[derive(Parser)]
#[command(
    name = "teamlabel",
    version,
    about = "A self-hosted team data-labeling server that speaks the ModelArts Data Management v2 API.",
    long_about = None
)]
struct Cli {
    /// Log lines on standard error: `plain` text (coloured only on a terminal) or `json` (one
    /// object per line). Serving logs one line per request: request id, method, route
    /// template, status, latency_ms and caller (user id). TEAMLABEL_LOG sets the filter
    /// (default `info`)
    #[arg(long, env = "TEAMLABEL_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Plain)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Plain,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API. On first start with an empty store it creates a default project and owner
    /// and writes the owner's token and AK/SK pair to DATA_DIR/initial-credentials.json.
    Serve(Box<ServeArgs>),
    /// Create the store if needed, a project and its owner; print them with a token and an AK/SK
    /// pair as JSON.
    Init(InitArgs),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage AK/SK credentials (for requests signed as the official SDKs sign them).
    Credential {
        #[command(subcommand)]
        command: CredentialCommand,
    },
    /// Manage users' sign-in (passwords for POST /v3/auth/tokens).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Copy a SQLite data dir, live, into one archive file (database, sample files, sealing key).
    #[command(long_about = BACKUP_HELP)]
    Backup(BackupArgs),
    /// Put a backup archive back into an empty or new data dir.
    #[command(long_about = RESTORE_HELP)]
    Restore(RestoreArgs),
}

const BACKUP_HELP: &str = "\
Copy a SQLite data dir into one archive file while the server keeps running on it and accepting writes.

The database is copied with SQLite's online backup API: a snapshot as of one commit, taken by a \
separate read-only connection (the server need not stop). Then the sample files (blobs) that \
snapshot references are copied, each checked against its sha256 name, then the sealing key. \
initial-credentials.json is left out: no server needs it.

The archive is a tar file, gzip-compressed when FILE ends in .gz or .tgz, that starts with \
manifest.json: format version, schema migration level, time, rows per table, and the sha256 of \
every entry. It is written mode 0600; FILE must not exist yet. On success one JSON line is printed.

The sealing key (DATA_DIR/secret.key, or --secret-key-file) is included by default, so the \
archive alone restores a working server, and so whoever holds it can unseal every AK/SK secret \
key in it: keep it as private as the data dir. With --without-secret-key the archive holds no \
usable secret (passwords and tokens are stored as hashes), but it restores a server only \
together with that same key file, kept safe elsewhere: a server refuses to start on the \
database with any other key.

PostgreSQL (--database postgres://...) is refused: back up the database with pg_dump, and copy \
DATA_DIR/blobs and the secret key file beside it. So is a server whose sample files are kept in \
S3 ([objects] backend = \"s3\" or TEAMLABEL_OBJECTS=s3): back up the bucket with the service's tools.

Example: teamlabel backup --data-dir ./teamlabel-data --out teamlabel-2026-05-01.tar.gz";

const RESTORE_HELP: &str = "\
Put a backup archive back into a data dir that does not exist yet or is empty; a directory \
holding anything is refused, so nothing is overwritten.

Every entry is checked against the sha256 in the archive's manifest (each sample file against \
its name), the database must pass PRAGMA integrity_check and match the manifest's schema and row \
counts, and the key must match the database. Only then are teamlabel.db, blobs/ and secret.key \
moved into DIR; on any failure nothing is restored. An archive of an older schema is fine \
(serve brings it up to date); one made by a newer teamlabel is refused.

Afterwards, `teamlabel serve --data-dir DIR` serves the restored data. An archive made with \
--without-secret-key needs the original key file: copy it to DIR/secret.key (mode 0600) or \
pass --secret-key-file to serve.

Example: teamlabel restore --from teamlabel-2026-05-01.tar.gz --data-dir ./teamlabel-data";

#[derive(clap::Args)]
struct BackupArgs {
    /// Where to write the archive (a new file; .tar, or .tar.gz / .tgz for gzip)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Leave the sealing key out of the archive (keep the key file safe elsewhere: a restore
    /// needs it)
    #[arg(long)]
    without_secret_key: bool,

    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args)]
struct RestoreArgs {
    /// The archive `teamlabel backup` wrote
    #[arg(long, value_name = "FILE")]
    from: PathBuf,

    /// The data dir to restore into: it must not exist or be empty
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "TEAMLABEL_LISTEN")]
    listen: Option<String>,

    #[command(flatten)]
    store: StoreArgs,

    #[command(flatten)]
    objects: ObjectsArgs,

    /// Base URL of this server as clients reach it, used in sample `source` links
    /// [default: http://<Host header of the request>]
    #[arg(long, env = "TEAMLABEL_PUBLIC_URL")]
    public_url: Option<String>,

    /// Largest request body in bytes [default: 12582912]
    #[arg(long, env = "TEAMLABEL_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,

    /// Most items in one batch request [default: 1000]
    #[arg(long, env = "TEAMLABEL_MAX_BATCH")]
    max_batch: Option<usize>,

    /// Largest sample file in bytes [default: 12582912]
    #[arg(long, env = "TEAMLABEL_MAX_SAMPLE_BYTES")]
    max_sample_bytes: Option<usize>,

    /// SQLite `synchronous` level: FULL (the default), EXTRA, NORMAL or OFF. Anything below
    /// FULL can lose acknowledged labels on power loss and needs --allow-weak-durability
    #[arg(long, env = "TEAMLABEL_SQLITE_SYNCHRONOUS")]
    sqlite_synchronous: Option<String>,

    /// Start even when the database's durability settings are weaker than the defaults
    /// (SQLite journal_mode/synchronous; PostgreSQL fsync, synchronous_commit,
    /// full_page_writes); a warning is logged on every start
    #[arg(long, env = "TEAMLABEL_ALLOW_WEAK_DURABILITY")]
    allow_weak_durability: bool,

    /// Serve GET /metrics (Prometheus text format) on a listener of its own, e.g.
    /// 127.0.0.1:9464 (port 0 picks a free one). Metrics are off unless this or
    /// --metrics-token is given
    #[arg(long, env = "TEAMLABEL_METRICS_LISTEN")]
    metrics_listen: Option<String>,

    /// Require `Authorization: Bearer TOKEN` on GET /metrics (16 to 256 visible ASCII
    /// characters). Without --metrics-listen, /metrics is then served on the API listener.
    /// Prefer the environment variable or the config file: a flag shows in the process list
    #[arg(long, env = "TEAMLABEL_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
}

#[derive(clap::Args)]
struct InitArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Name of the new project
    #[arg(long)]
    project_name: String,
    /// Email of the project's owner
    #[arg(long)]
    owner_email: String,
    /// Lifetime of the owner's token in hours
    #[arg(long, default_value_t = 720)]
    ttl_hours: u64,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token for an existing user of a project; print it as JSON.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The project (32 hex characters)
        #[arg(long)]
        project_id: String,
        /// The user's email in that project
        #[arg(long)]
        email: String,
        /// Lifetime in hours
        #[arg(long, default_value_t = 24)]
        ttl_hours: u64,
    },
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Issue a permanent AK/SK pair for an existing user of a project; print it as JSON. The
    /// secret key is shown only here.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The project (32 hex characters)
        #[arg(long)]
        project_id: String,
        /// The user's email in that project
        #[arg(long)]
        email: String,
        /// A note to recognise the pair by (0 to 256 characters)
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Set a user's password, read from the first line of standard input (8 to 128
    /// characters); clears a lock from wrong passwords.
    ///
    /// Example: printf '%s\n' 'a long passphrase' | teamlabel user set-password --project-id P --email E
    SetPassword {
        #[command(flatten)]
        store: StoreArgs,
        /// The project (32 hex characters)
        #[arg(long)]
        project_id: String,
        /// The user's email in that project
        #[arg(long)]
        email: String,
    },
}

/// Lifetime of the token created on first start.
const FIRST_START_TTL_HOURS: u64 = 720;

fn main() {
    // Blocking threads run SQLite calls; more of them than the connection pools can use only
    // add memory (a stack and an allocator arena each).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(16)
        .build();
    match runtime {
        Ok(rt) => rt.block_on(async_main()),
        Err(e) => {
            eprintln!("teamlabel: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    }
}

async fn async_main() {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    if let Err(e) = run(cli).await {
        eprintln!("teamlabel: {e:#}");
        std::process::exit(1);
    }
}

/// Logs to standard error in the chosen format; colours only when standard error is a
/// terminal and NO_COLOR is not set.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TEAMLABEL_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Plain => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            logs.with_ansi(colour).init();
        }
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Init(args) => {
            let app = open_app(&args.store, Limits::default(), "FULL", None).await?;
            let (project, owner, token, _) = app
                .create_project(&args.project_name, &args.owner_email, args.ttl_hours)
                .await?;
            let (credential, _) = app.issue_access_key(&project.id, &owner.email, "owner").await?;
            println!(
                "{}",
                json!({
                    "project_id": project.id,
                    "user_id": owner.id,
                    "email": owner.email,
                    "token": token,
                    "access_key": credential.access,
                    "secret_key": credential.secret,
                })
            );
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    store,
                    project_id,
                    email,
                    ttl_hours,
                },
        } => {
            let app = open_app(&store, Limits::default(), "FULL", None).await?;
            let (token, expires_at) = app.create_token(&project_id, &email, ttl_hours).await?;
            println!("{}", json!({"token": token, "expires_at": format_rfc3339(expires_at)}));
            Ok(())
        }
        Command::Credential {
            command:
                CredentialCommand::Create {
                    store,
                    project_id,
                    email,
                    description,
                },
        } => {
            let app = open_app(&store, Limits::default(), "FULL", None).await?;
            let (credential, user) = app.issue_access_key(&project_id, &email, &description).await?;
            println!(
                "{}",
                json!({
                    "project_id": user.project_id,
                    "user_id": user.id,
                    "email": user.email,
                    "access_key": credential.access,
                    "secret_key": credential.secret,
                })
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::SetPassword {
                    store,
                    project_id,
                    email,
                },
        } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(
                !password.is_empty(),
                "no password on standard input: pipe it in, e.g. printf '%s\\n' 'a long passphrase' | teamlabel user set-password ..."
            );
            let app = open_app(&store, Limits::default(), "FULL", None).await?;
            let user = app.set_password(&project_id, &email, password).await?;
            println!(
                "{}",
                json!({"project_id": user.project_id, "user_id": user.id, "email": user.email, "password_set": true})
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&teamlabel_server::openapi())?);
            Ok(())
        }
        Command::Backup(args) => backup(args),
        Command::Restore(args) => restore(args),
    }
}

fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.store.config.as_deref())?;
    let settings = args.store.resolve(&file);
    let database = match teamlabel_store::locate(settings.database.as_deref(), &settings.data_dir)? {
        Location::Sqlite(path) => path,
        Location::Postgres(url) => anyhow::bail!(
            "teamlabel backup copies SQLite data dirs only, and this one is configured for PostgreSQL ({}). \
             Back up the database with pg_dump (pg_dump --format=custom --file=teamlabel.dump DATABASE_URL), and \
             copy {} and the secret key file {} beside the dump; see the README's Backups section",
            teamlabel_store::redact(&url),
            settings.data_dir.join("blobs").display(),
            settings.secret_key_file.display()
        ),
    };
    let s3 = file.objects.as_ref().and_then(|o| o.backend) == Some(objects::Backend::S3)
        || std::env::var("TEAMLABEL_OBJECTS").is_ok_and(|v| v.eq_ignore_ascii_case("s3"));
    anyhow::ensure!(
        !s3,
        "teamlabel backup copies data dirs whose sample files are in DATA_DIR/blobs, and this configuration keeps \
         them in S3 ([objects] backend = \"s3\" or TEAMLABEL_OBJECTS=s3), out of the archive's reach. Back up the \
         bucket with the storage service's tools, and the database with SQLite's .backup command (or copy \
         {} while the server is stopped), with the secret key file {} beside them",
        database.display(),
        settings.secret_key_file.display()
    );
    let source = backup::Source {
        database,
        blobs: settings.data_dir.join("blobs"),
        secret_key: (!args.without_secret_key).then_some(settings.secret_key_file),
    };
    let created = backup::create(&source, &args.out)?;
    let m = &created.manifest;
    println!(
        "{}",
        json!({
            "archive": args.out,
            "archive_bytes": created.archive_bytes,
            "created_at": m.created_at,
            "schema_level": m.schema.level,
            "samples": m.rows.get("samples"),
            "blobs": m.blobs.count,
            "blob_bytes": m.blobs.bytes,
            "secret_key_included": m.secret_key_included,
            "snapshots": created.snapshots,
        })
    );
    Ok(())
}

fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let m = backup::restore(&args.from, &args.data_dir)?;
    if !m.secret_key_included {
        eprintln!(
            "teamlabel: the archive holds no sealing key (it was made with --without-secret-key): copy the \
             original key file to {} (mode 0600), or pass --secret-key-file to serve",
            backup::key_path(&args.data_dir).display()
        );
    }
    println!(
        "{}",
        json!({
            "data_dir": args.data_dir,
            "created_at": m.created_at,
            "schema_level": m.schema.level,
            "samples": m.rows.get("samples"),
            "blobs": m.blobs.count,
            "blob_bytes": m.blobs.bytes,
            "secret_key_restored": m.secret_key_included,
        })
    );
    Ok(())
}

/// Opens the store and builds the application. `objects` gives the object storage, which
/// also decides where sample files go; without it (commands that never touch them) sample files
/// stay in DATA_DIR/blobs and there is no object storage.
async fn open_app(
    args: &StoreArgs,
    limits: Limits,
    sqlite_synchronous: &str,
    objects: Option<&ObjectSettings>,
) -> anyhow::Result<App> {
    let file = FileConfig::load(args.config.as_deref())?;
    let settings = args.resolve(&file);
    let store = teamlabel_store::open(settings.database.as_deref(), &settings.data_dir, sqlite_synchronous)
        .await
        .with_context(|| match &settings.database {
            Some(url) => format!("cannot open the database {}", teamlabel_store::redact(url)),
            None => format!("cannot open the SQLite database in {}", settings.data_dir.display()),
        })?;
    let app = match objects {
        Some(objects) => {
            let (objects, blobs) = objects::open(objects, &settings.data_dir).await?;
            App::new(store, blobs, limits).with_objects(objects)
        }
        None => {
            let blobs = FsBlobStore::new(settings.data_dir.join("blobs"))
                .with_context(|| format!("cannot create {}", settings.data_dir.join("blobs").display()))?;
            App::new(store, Arc::new(blobs), limits)
        }
    };
    let (sealer, created) = load_sealing_key(&settings.secret_key_file)?;
    let app = app.with_sealer(sealer);
    if let Err(e) = app.check_sealing_key().await {
        if created {
            let _ = std::fs::remove_file(&settings.secret_key_file);
        }
        anyhow::bail!("{} ({})", e.message, settings.secret_key_file.display());
    }
    Ok(app)
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

/// Reads the sealing key, or creates the file with a new random key (mode 0600) when it does
/// not exist; answers whether it was created.
fn load_sealing_key(path: &Path) -> anyhow::Result<(Sealer, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => Sealer::from_hex(&text)
            .map(|s| (s, false))
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let sealer = Sealer::generate();
            match write_new_private(path, format!("{}\n", sealer.to_hex()).as_bytes()) {
                Ok(()) => Ok((sealer, true)),
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_sealing_key(path),
                Err(e) => Err(anyhow::anyhow!(
                    "cannot write the sealing key to {}: {e}",
                    path.display()
                )),
            }
        }
        Err(e) => Err(anyhow::anyhow!("cannot read the sealing key {}: {e}", path.display())),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
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
    let app = open_app(&args.store, limits, &synchronous, Some(&objects)).await?;
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
    teamlabel_server::serve_router(listener, router, shutdown).await?;
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

/// Creates a file readable by its owner only, failing if it exists.
fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
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
