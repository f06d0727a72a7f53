//! What the CLI tests share: the `teamlabel` binary under test and a PostgreSQL schema of their
//! own, dropped when done.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The `teamlabel` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_teamlabel");

/// A `teamlabel serve` the test started, and the base URL it announced. Dropping it kills it.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `teamlabel serve` on a free loopback port over the data dir `dir` (and `database`,
/// when given), with `extra` flags; answers once it announced its address.
pub fn serve(dir: &Path, database: Option<&str>, extra: &[&str]) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--data-dir", dir.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(extra);
    if let Some(db) = database {
        cmd.args(["--database", db]);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_string))
        .expect("the server announces its address");
    Server { child, base }
}

/// SIGKILL: the server gets no chance to finish anything.
pub fn kill(mut s: Server) {
    Command::new("kill")
        .args(["-KILL", &s.child.id().to_string()])
        .status()
        .unwrap();
    let _ = s.child.wait();
}

/// SIGTERM, then waits (at most 30 s) for an exit with status 0.
pub fn stop(mut s: Server) {
    assert!(Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            assert!(status.success(), "the server exits 0 on SIGTERM, got {status}");
            return;
        }
        assert!(Instant::now() < deadline, "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

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
