//! The `teamlabel` binary: parse, set up logging, load settings, dispatch. Wiring only.
#![forbid(unsafe_code)]

mod archive;
mod config;
mod data_io;
mod objects;
mod serve;
mod webhooks;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::json;
use teamlabel_core::clock::format_rfc3339;
use teamlabel_core::iam::sealer::Sealer;
use teamlabel_core::{App, Limits};
use teamlabel_store::FsBlobStore;

use crate::archive::{BackupArgs, RestoreArgs, BACKUP_HELP, RESTORE_HELP};
use crate::config::{FileConfig, StoreArgs};
use crate::data_io::{ExportArgs, ImportArgs, EXPORT_HELP, IMPORT_HELP};
use crate::objects::ObjectSettings;
use crate::serve::ServeArgs;

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
    /// (default `info`; `warn` for import and export)
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
    /// Import files from the object storage into a dataset, with progress; exit status 2 when
    /// something was skipped.
    #[command(long_about = IMPORT_HELP)]
    Import(Box<ImportArgs>),
    /// Export a dataset into the object storage and download it as a zip, with progress; exit
    /// status 2 when labels were dropped.
    #[command(long_about = EXPORT_HELP)]
    Export(Box<ExportArgs>),
    /// Print the OpenAPI document.
    Openapi,
    /// Copy a SQLite data dir, live, into one archive file (database, sample files, sealing key).
    #[command(long_about = BACKUP_HELP)]
    Backup(BackupArgs),
    /// Put a backup archive back into an empty or new data dir.
    #[command(long_about = RESTORE_HELP)]
    Restore(RestoreArgs),
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
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some((_, sub)) = matches.subcommand() {
        match &mut cli.command {
            Command::Import(args) => args.conn.note_sources(sub),
            Command::Export(args) => args.conn.note_sources(sub),
            _ => {}
        }
    }
    // The application's info lines are the server's log; in import and export they would only
    // interleave with the progress and the summary, so there only warnings show by default.
    let quiet = matches!(cli.command, Command::Import(_) | Command::Export(_));
    init_logging(cli.log_format, if quiet { "warn" } else { "info" });
    if let Err(e) = run(cli).await {
        eprintln!("teamlabel: {e:#}");
        std::process::exit(1);
    }
}

/// Logs to standard error in the chosen format, filtered by TEAMLABEL_LOG, else by `default`;
/// colours only when standard error is a terminal and NO_COLOR is not set.
fn init_logging(format: LogFormat, default: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TEAMLABEL_LOG").unwrap_or_else(|_| default.into());
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
        Command::Serve(args) => serve::serve(*args).await,
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
        Command::Import(args) => data_io::import(*args).await.map(data_io::finish),
        Command::Export(args) => data_io::export(*args).await.map(data_io::finish),
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&teamlabel_server::openapi())?);
            Ok(())
        }
        Command::Backup(args) => archive::backup(args),
        Command::Restore(args) => archive::restore(args),
    }
}

/// Opens the store and builds the application. `objects` gives the object storage, which
/// also decides where sample files go; without it (commands that never touch them) sample files
/// stay in DATA_DIR/blobs and there is no object storage.
pub(crate) async fn open_app(
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
