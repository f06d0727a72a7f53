//! The server under test: starting the release `teamlabel` binary on a fresh data dir (and a
//! fresh PostgreSQL schema) or pointing at a running server, reading its memory figures and
//! database size, and stopping and cleaning up after the run. It sends no API requests: those
//! go through `teamlabel-client` in the other modules.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{Args, Backend};

/// A server under test.
pub struct Target {
    pub base: String,
    pub project: String,
    pub owner: String,
    /// Started by the bench: the child, its data dir, and the PostgreSQL schema if any.
    pub child: Option<tokio::process::Child>,
    pub data_dir: Option<tempfile::TempDir>,
    pub database: Option<String>,
    pub schema: Option<String>,
}

pub fn binary(args: &Args) -> Result<PathBuf> {
    if let Some(b) = &args.binary {
        return Ok(b.clone());
    }
    let here = std::env::current_exe()?;
    let b = here.with_file_name("teamlabel");
    anyhow::ensure!(
        b.exists(),
        "{} not found: build it with `cargo build --release -p teamlabel` or pass --binary",
        b.display()
    );
    Ok(b)
}

pub async fn start(args: &Args) -> Result<Target> {
    if let Some(base) = &args.server {
        return Ok(Target {
            base: base.trim_end_matches('/').to_string(),
            project: args.project_id.clone().context("--server needs --project-id")?,
            owner: args.token.clone().context("--server needs --token")?,
            child: None,
            data_dir: None,
            database: None,
            schema: None,
        });
    }
    let bin = binary(args)?;
    let dir = tempfile::Builder::new().prefix("teamlabel-bench-").tempdir()?;
    let (database, schema) = match args.backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => {
            let url = args
                .database
                .clone()
                .context("--backend postgres needs --database postgres://...")?;
            let schema = format!("bench_{}", std::process::id());
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .context("connecting to --database")?;
            tokio::spawn(conn);
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                ))
                .await?;
            let sep = if url.contains('?') { '&' } else { '?' };
            (
                Some(format!("{url}{sep}options=-c%20search_path%3D{schema}")),
                Some((url, schema)),
            )
        }
    };
    let mut cmd = tokio::process::Command::new(&bin);
    // The local object store at a known folder: `import` and `export` put and read files there.
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--objects", "local", "--objects-root"])
        .arg(dir.path().join("buckets"));
    if let Some(db) = &database {
        cmd.args(["--database", db]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await??
            .context("the server exited before listening")?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let creds: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("initial-credentials.json"))?)?;
    Ok(Target {
        base,
        project: creds["project_id"].as_str().context("project_id")?.to_string(),
        owner: creds["token"].as_str().context("token")?.to_string(),
        child: Some(child),
        data_dir: Some(dir),
        database,
        schema: schema.map(|(url, s)| format!("{url}\u{0}{s}")),
    })
}

/// A token of the user `email`, made with the binary's `token create` on the bench's own data
/// dir (or database).
pub async fn labeler_token(args: &Args, t: &Target, dir: &tempfile::TempDir, email: &str) -> Result<String> {
    let mut cmd = tokio::process::Command::new(binary(args)?);
    cmd.args([
        "token",
        "create",
        "--project-id",
        &t.project,
        "--email",
        email,
        "--data-dir",
    ])
    .arg(dir.path());
    if let Some(db) = &t.database {
        cmd.args(["--database", db]);
    }
    let out = cmd.output().await?;
    anyhow::ensure!(
        out.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)?;
    Ok(v["token"].as_str().context("token")?.to_string())
}

/// A `/proc/PID/status` memory figure (`VmHWM`: peak since start, `VmRSS`: now) in MiB.
pub fn rss_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time the process has used so far (user and system, all threads), in seconds, from
/// `/proc/PID/stat` (in USER_HZ ticks, 100 a second on Linux).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The server's resident memory, sampled in the background until [`RssSampler::peak`].
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<f64>,
}

impl RssSampler {
    /// Samples `VmRSS` every `every` from now on; `None` for a server the bench did not start.
    pub fn start(t: &Target, every: Duration) -> Option<RssSampler> {
        let pid = t.child.as_ref()?.id()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak = 0f64;
            loop {
                peak = peak.max(rss_mib(pid, "VmRSS:").unwrap_or(0.0));
                if stopped.load(Ordering::Relaxed) {
                    return peak;
                }
                tokio::time::sleep(every).await;
            }
        });
        Some(RssSampler { stop, task })
    }

    /// Stops sampling (after one last sample) and answers the peak in MiB.
    pub async fn peak(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        (&mut self.task).await.unwrap_or(0.0)
    }
}

impl Drop for RssSampler {
    /// A run that gave up stops its sampling too.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub async fn database_size_mib(t: &Target) -> Option<f64> {
    if let Some(dir) = &t.data_dir {
        if t.database.is_none() {
            let size: u64 = ["teamlabel.db", "teamlabel.db-wal"]
                .iter()
                .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
                .map(|m| m.len())
                .sum();
            return Some(size as f64 / 1048576.0);
        }
    }
    let (url, schema) = t.schema.as_ref()?.split_once('\u{0}')?;
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.ok()?;
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            &[&schema],
        )
        .await
        .ok()?;
    Some(row.get::<_, i64>(0) as f64 / 1048576.0)
}

pub async fn finish(t: &mut Target, keep: bool) {
    if let Some(child) = &mut t.child {
        if let Some(pid) = child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    }
    if keep {
        if let Some(dir) = t.data_dir.take() {
            eprintln!("kept {}", dir.keep().display());
        }
        return;
    }
    if let Some((url, schema)) = t.schema.as_ref().and_then(|s| s.split_once('\u{0}')) {
        if let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!(
                    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE"
                ))
                .await;
        }
    }
}
