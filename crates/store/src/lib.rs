//! teamlabel-store: the only crate with SQL. `SqliteStore` is the embedded default (a file under
//! the data dir), `PgStore` the scale-out backend; both implement `teamlabel_core::store::Store`
//! and pass one conformance suite. `sqlite/` and `postgres/` have the same file per domain; the
//! SQL both dialects share is written once in `sql/`. `FsBlobStore` keeps uploaded sample bytes
//! on disk (`ObjectBlobStore` in the object store instead); `objects` holds the object-storage
//! backends (a local folder, S3-compatible services); `backup` copies a live SQLite data dir
//! into one archive and restores it; `webhooks` sends webhook deliveries over HTTP.
#![forbid(unsafe_code)]

pub mod backup;
pub mod blobs;
pub mod migrations;
pub mod objects;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod telemetry;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use teamlabel_core::store::Store;

pub use blobs::{FsBlobStore, ObjectBlobStore};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Where a `--database` value puts the data: `postgres://` or `postgresql://` selects
/// PostgreSQL; nothing (or `sqlite://PATH`) selects SQLite, by default `DIR/teamlabel.db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

/// The name of the SQLite database file in a data dir.
pub const SQLITE_FILE: &str = "teamlabel.db";

pub fn locate(database: Option<&str>, data_dir: &Path) -> anyhow::Result<Location> {
    match database {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Location::Postgres(url.to_string()))
        }
        Some(url) if url.starts_with("sqlite://") => {
            Ok(Location::Sqlite(PathBuf::from(url.trim_start_matches("sqlite://"))))
        }
        Some(other) => anyhow::bail!(
            "--database must be a postgres:// or sqlite:// URL, got {:?}",
            redact(other)
        ),
        None => Ok(Location::Sqlite(data_dir.join(SQLITE_FILE))),
    }
}

/// Opens the store a `--database` value names (see [`locate`]).
pub async fn open(database: Option<&str>, data_dir: &Path, sqlite_synchronous: &str) -> anyhow::Result<Arc<dyn Store>> {
    match locate(database, data_dir)? {
        Location::Postgres(url) => Ok(Arc::new(PgStore::connect(&url).await?)),
        Location::Sqlite(path) => Ok(Arc::new(SqliteStore::open_with(&path, sqlite_synchronous)?)),
    }
}

/// A database URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
