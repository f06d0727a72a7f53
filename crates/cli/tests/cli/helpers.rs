//! What the CLI tests share: the `teamlabel` binary under test and a PostgreSQL schema of their
//! own, dropped when done.

use std::process::Command;
use std::time::SystemTime;

/// The `teamlabel` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_teamlabel");

/// A fresh schema `api_<32 hex>` in the database at `url`; the prefix lets `scripts/test` drop
/// it if a test dies before its `Drop`.
pub struct Schema {
    pub url: String,
    pub name: String,
}

impl Schema {
    pub fn create(url: &str) -> Schema {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let schema = Schema {
            name: format!(
                "api_{:032x}",
                ((std::process::id() as u128) << 96) | (nanos & ((1 << 96) - 1))
            ),
            url: url.to_string(),
        };
        assert!(Command::new("psql")
            .args([url, "-qc", &format!("CREATE SCHEMA {}", schema.name)])
            .status()
            .unwrap()
            .success());
        schema
    }

    /// The database URL that puts a server in this schema.
    pub fn database_url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.url, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .env("PGOPTIONS", "--client-min-messages=warning")
            .args([
                self.url.as_str(),
                "-qc",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
            ])
            .status();
    }
}
