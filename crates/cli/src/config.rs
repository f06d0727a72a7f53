//! Settings, layered: built-in defaults, then an optional TOML file (`--config`,
//! `TEAMLABEL_CONFIG`), then `TEAMLABEL_*` environment variables, then flags. Clap reads flags and
//! environment; the file fills what neither gave.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::objects::ObjectsFile;
use crate::webhooks::WebhooksFile;

/// Where the data lives; shared by every subcommand that opens the store.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory for the SQLite database (`teamlabel.db`), uploaded sample files and
    /// `initial-credentials.json` [default: ./teamlabel-data]
    #[arg(long, env = "TEAMLABEL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database URL: `postgres://user:password@host:port/db` selects PostgreSQL; leave it out
    /// for SQLite in the data directory (or give `sqlite:///path/to/file.db`)
    #[arg(long, env = "TEAMLABEL_DATABASE")]
    pub database: Option<String>,

    /// File holding the key that seals AK/SK secrets in the database (64 hex characters),
    /// created on first use. Servers sharing one PostgreSQL database need the same file
    /// [default: DATA_DIR/secret.key]
    #[arg(long, env = "TEAMLABEL_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// A TOML file with any of: listen, data_dir, database, secret_key_file, public_url,
    /// max_body_bytes, max_batch, max_sample_bytes, sqlite_synchronous, allow_weak_durability,
    /// metrics_listen, metrics_token, header_timeout, body_timeout, max_connections, an
    /// [objects] section with backend, root, endpoint,
    /// region, access_key_id, secret_access_key, session_token, blob_bucket, blob_prefix, and a
    /// [webhooks] section with allow, max_attempts, backoff_base, backoff_cap, timeout,
    /// retention_days
    #[arg(long, env = "TEAMLABEL_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The keys a configuration file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub secret_key_file: Option<PathBuf>,
    pub public_url: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub max_batch: Option<usize>,
    pub max_sample_bytes: Option<usize>,
    pub sqlite_synchronous: Option<String>,
    pub allow_weak_durability: Option<bool>,
    pub metrics_listen: Option<String>,
    pub metrics_token: Option<String>,
    pub header_timeout: Option<u64>,
    pub body_timeout: Option<u64>,
    pub max_connections: Option<usize>,
    pub objects: Option<ObjectsFile>,
    pub webhooks: Option<WebhooksFile>,
    pub history_keep_days: Option<u32>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
    }
}

/// The store settings after layering.
pub struct StoreSettings {
    pub data_dir: PathBuf,
    pub database: Option<String>,
    pub secret_key_file: PathBuf,
}

impl StoreArgs {
    pub fn resolve(&self, file: &FileConfig) -> StoreSettings {
        let data_dir = self
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("./teamlabel-data"));
        StoreSettings {
            secret_key_file: self
                .secret_key_file
                .clone()
                .or_else(|| file.secret_key_file.clone())
                .unwrap_or_else(|| data_dir.join("secret.key")),
            data_dir,
            database: self
                .database
                .clone()
                .or_else(|| file.database.clone())
                .filter(|d| !d.is_empty()),
        }
    }
}
