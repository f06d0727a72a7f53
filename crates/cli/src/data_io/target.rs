//! Where an import or export runs: a running server, reached over HTTP with the project's
//! client, or, while the server is stopped, the application opened in this process on the
//! server's own data (as `serve` opens it) and acting as one of the project's users. Both
//! answer the same wire types, so the commands above never ask which one they drive.

use std::fmt;

use teamlabel_api::data_io::{
    CreateExportTaskRequest, CreateImportTaskRequest, CreateTaskResponse, ExportTask, ImportTask,
};
use teamlabel_client::{Auth, Bytes, Client, ClientError, Download};
use teamlabel_core::iam::auth::Principal;
use teamlabel_core::objects::ByteStream;
use teamlabel_core::{App, Limits};

use super::Connection;
use crate::config::FileConfig;
use crate::objects;

pub enum Target {
    Server(Client),
    Local { app: App, principal: Principal },
}

/// Why a call failed, in words for the operator; `transient` when the same call may well
/// succeed a moment later (the server restarting, a connection reset), so waiting on a task
/// can ride it out instead of giving up on a task that goes on.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub transient: bool,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

type Result<T> = std::result::Result<T, Failure>;

impl Target {
    /// A client of the server at `url`, authenticated with the token or the AK/SK pair given.
    pub fn server(url: &str, c: &Connection) -> anyhow::Result<Target> {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--server must be a URL starting with http:// or https://, got {url:?}"
        );
        let auth = match (&c.token, &c.ak, &c.sk) {
            (Some(token), None, None) => Auth::Token(token.clone()),
            (None, Some(ak), Some(sk)) => Auth::AkSk {
                ak: ak.clone(),
                sk: sk.clone(),
                security_token: None,
            },
            (Some(_), _, _) => anyhow::bail!("give a token (--token) or an AK/SK pair (--ak, --sk), not both"),
            _ => anyhow::bail!(
                "no credentials for {url}: give --token (TEAMLABEL_TOKEN) or --ak and --sk (TEAMLABEL_AK, TEAMLABEL_SK)"
            ),
        };
        Ok(Target::Server(Client::new(url, &c.project_id, auth)))
    }

    /// The application on the data dir (or database) the store settings name, acting as the
    /// user `--email` names. Refuses a data dir without a database rather than creating an
    /// empty one: a mistyped path would otherwise look like a dataset that does not exist.
    pub async fn local(c: &Connection) -> anyhow::Result<Target> {
        let email = c.email.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "--data-dir runs the task in this process as one of the project's users: give --email \
                 (the owner a first start creates is owner@teamlabel.local)"
            )
        })?;
        let file = FileConfig::load(c.store.config.as_deref())?;
        let settings = c.store.resolve(&file);
        if let teamlabel_store::Location::Sqlite(db) =
            teamlabel_store::locate(settings.database.as_deref(), &settings.data_dir)?
        {
            anyhow::ensure!(
                db.exists(),
                "{} does not exist: --data-dir must be the data dir of a server (it holds {})",
                db.display(),
                teamlabel_store::SQLITE_FILE
            );
        }
        let objects = c
            .objects
            .resolve(file.objects.as_ref(), &settings.data_dir, &objects::process_env)?;
        let defaults = Limits::default();
        let limits = Limits {
            max_body_bytes: file.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            max_batch: file.max_batch.unwrap_or(defaults.max_batch),
            max_sample_bytes: file.max_sample_bytes.unwrap_or(defaults.max_sample_bytes),
        };
        // FULL whatever the file says: this process writes the same database as the server and
        // should lose no more in a crash than a server with the default settings.
        let app = crate::open_app(&c.store, limits, "FULL", Some(&objects)).await?;
        app.store.get_project(&c.project_id).await.map_err(local)?;
        let email = email.trim().to_lowercase();
        let user = app
            .store
            .find_user_by_email(&c.project_id, &email)
            .await
            .map_err(local)?
            .ok_or_else(|| anyhow::anyhow!("no user {email:?} in project {}", c.project_id))?;
        let principal = Principal {
            user_id: user.id,
            project_id: user.project_id,
            email: user.email,
            role: user.role,
        };
        Ok(Target::Local { app, principal })
    }

    /// Where the task runs, for the first progress line.
    pub fn describe(&self) -> String {
        match self {
            Target::Server(c) => format!("on {}", c.base_url()),
            Target::Local { principal, .. } => format!("in this process, as {}", principal.email),
        }
    }

    /// Whether the task keeps running when this process ends.
    pub fn outlives_us(&self) -> bool {
        matches!(self, Target::Server(_))
    }

    pub async fn create_import(&self, dataset_id: &str, req: &CreateImportTaskRequest) -> Result<String> {
        let created: CreateTaskResponse = match self {
            Target::Server(c) => c.create_import_task(dataset_id, req).await.map_err(|e| remote(c, e))?,
            Target::Local { app, principal } => app
                .create_import_task(principal, dataset_id, req)
                .await
                .map_err(local)?,
        };
        Ok(created.task_id)
    }

    pub async fn import_task(&self, dataset_id: &str, task_id: &str) -> Result<ImportTask> {
        match self {
            Target::Server(c) => c.get_import_task(dataset_id, task_id).await.map_err(|e| remote(c, e)),
            Target::Local { app, principal } => {
                app.get_import_task(principal, dataset_id, task_id).await.map_err(local)
            }
        }
    }

    pub async fn create_export(&self, dataset_id: &str, req: &CreateExportTaskRequest) -> Result<String> {
        let created: CreateTaskResponse = match self {
            Target::Server(c) => c.create_export_task(dataset_id, req).await.map_err(|e| remote(c, e))?,
            Target::Local { app, principal } => app
                .create_export_task(principal, dataset_id, req)
                .await
                .map_err(local)?,
        };
        Ok(created.task_id)
    }

    pub async fn export_task(&self, dataset_id: &str, task_id: &str) -> Result<ExportTask> {
        match self {
            Target::Server(c) => c.get_export_task(dataset_id, task_id).await.map_err(|e| remote(c, e)),
            Target::Local { app, principal } => {
                app.get_export_task(principal, dataset_id, task_id).await.map_err(local)
            }
        }
    }
}

impl Target {
    /// The zip of a finished export, to be read a chunk at a time.
    pub async fn download(&self, dataset_id: &str, task_id: &str) -> Result<Zip<'_>> {
        match self {
            Target::Server(c) => c
                .download_export_task(dataset_id, task_id)
                .await
                .map(|d| Zip::Remote(c, d))
                .map_err(|e| remote(c, e)),
            Target::Local { app, principal } => app
                .download_export(principal, dataset_id, task_id)
                .await
                .map(|d| Zip::Local(d.body))
                .map_err(local),
        }
    }
}

/// An export's zip as it arrives: over HTTP, or made in this process.
pub enum Zip<'a> {
    Remote(&'a Client, Download),
    Local(ByteStream),
}

impl Zip<'_> {
    /// The zip's length when it is known ahead (a server may stream it without one).
    pub fn expected_len(&self) -> Option<u64> {
        match self {
            Zip::Remote(_, d) => d.content_length(),
            Zip::Local(_) => None,
        }
    }

    /// The next piece; `None` at the end. A stream cut short is an error, never an early end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        match self {
            Zip::Remote(c, d) => d.chunk().await.map_err(|e| remote(c, e)),
            Zip::Local(stream) => std::future::poll_fn(|cx| stream.as_mut().poll_next(cx))
                .await
                .transpose()
                .map_err(local),
        }
    }
}

/// An error of the in-process application: its ModelArts code and message, as the server
/// would have answered them.
pub fn local(e: teamlabel_core::Error) -> Failure {
    Failure {
        transient: e.kind == teamlabel_core::ErrorKind::Unavailable,
        message: e.to_string(),
    }
}

/// An error of a call to the server, with the server's error code and message when it
/// answered, and what to check when it could not be reached.
pub fn remote(c: &Client, e: ClientError) -> Failure {
    match e {
        ClientError::Http {
            status,
            error_code,
            error_msg,
        } => Failure {
            message: if error_code.is_empty() {
                format!("the server answered HTTP {status}: {error_msg}")
            } else {
                format!("the server answered HTTP {status} {error_code}: {error_msg}")
            },
            // A proxy's 502/503/504 while the server restarts.
            transient: matches!(status, 502..=504),
        },
        ClientError::Transport(t) => {
            let mut why = t.to_string();
            let mut source = std::error::Error::source(&t);
            while let Some(s) = source {
                why = format!("{why}: {s}");
                source = s.source();
            }
            let message = if t.is_connect() {
                format!(
                    "cannot reach the server at {}: {why}. Is it running, and is --server right? \
                     (With the server stopped, --data-dir runs the task on its data instead.)",
                    c.base_url()
                )
            } else {
                format!("the call to {} did not complete: {why}", c.base_url())
            };
            Failure {
                message,
                transient: true,
            }
        }
        other => Failure {
            message: other.to_string(),
            transient: false,
        },
    }
}
