//! The embedded default backend: SQLite in one file, WAL mode, `synchronous=FULL`, foreign keys
//! on. One thread owns the write connection and group-commits: the write jobs waiting for it
//! run in one transaction, each inside its own savepoint (a failing job is rolled back alone),
//! and one COMMIT (one fsync) answers all of them; no job is answered before its commit is
//! durable. Reads come from a pool of read-only connections and never wait for the writer.
//! Each domain's `Store` impl is in its own file; the SQL both dialects share is in
//! `crate::sql`, here only what differs. Must not word API errors: it reports `StoreError`s.

mod datasets;
mod exec;
mod identity;
mod samples;
mod tasks;
mod team_samples;
mod teams;
mod writes;

use exec::*;
use writes::*;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde_json::{Map, Value};

use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::error::{Error, Result};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    AccessKeyRecord, Constraint, CopyCount, CopyWrite, DatasetChange, DatasetQuery, DatasetRecord, DeletedSample,
    Entity, HistoryRecord, IdempotencyRecord, LabelUsage, Login, LoginState, OutboxEvent, Project, SampleCounts,
    SampleQuery, SampleRecord, SampleWrite, Store, StoreError, TaskRecord, TeamSample, TeamSampleQuery, TeamSampleRow,
    TokenRecord, User, WorkerQuery, WorkerRecord, WorkforceQuery, WorkforceRecord,
};

use crate::migrations;
use crate::telemetry;

pub struct SqliteStore {
    path: PathBuf,
    jobs: std::sync::mpsc::Sender<Job>,
    readers: r2d2::Pool<SqliteConnectionManager>,
}

fn map_text(m: &Map<String, Value>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, "FULL")
    }

    /// Opens with a chosen `synchronous` level (`FULL` is the default; `EXTRA`, `NORMAL` and
    /// `OFF` are accepted: the durability guard decides whether the server may start with them).
    pub fn open_with(path: &Path, synchronous: &str) -> anyhow::Result<Self> {
        let synchronous = synchronous.to_ascii_uppercase();
        anyhow::ensure!(
            ["OFF", "NORMAL", "FULL", "EXTRA"].contains(&synchronous.as_str()),
            "SQLite synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous:?}"
        );
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = Connection::open(path)?;
        writer.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = {synchronous};
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA cache_size = -16384;
             PRAGMA temp_store = MEMORY;"
        ))?;
        migrate(&mut writer)?;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )
            .with_init(|c| {
                c.execute_batch(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;
                     PRAGMA cache_size = -2048;",
                )
            });
        let readers = r2d2::Pool::builder().max_size(8).build(manager)?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();

        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, queue))?;
        Ok(Self {
            path: path.to_path_buf(),
            jobs,
            readers,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The effective `journal_mode` and `synchronous` of the write connection.
    pub async fn read_durability(&self) -> Result<Vec<(String, String)>> {
        self.write(|c| {
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(db_err)?;
            let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(db_err)?;
            let sync = match sync {
                0 => "OFF",
                1 => "NORMAL",
                2 => "FULL",
                3 => "EXTRA",
                _ => "UNKNOWN",
            };
            Ok(vec![("journal_mode".into(), mode), ("synchronous".into(), sync.into())])
        })
        .await
    }

    /// Runs `f` on a read-only connection of the pool.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.read_with(f).await
    }

    async fn read_with<T, E, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        E: Fault,
        F: FnOnce(&Connection) -> std::result::Result<T, E> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let conn = pool.get();
            telemetry::pool_wait("sqlite", started, conn.is_ok());
            let conn = conn.map_err(|e| Error::unavailable(format!("sqlite read pool: {e}")))?;
            f(&conn).map_err(Fault::fault)
        })
        .await
        .map_err(|e| Error::internal(format!("sqlite read task: {e}")))?
    }

    /// Runs `f` on the writer inside a savepoint of the current group transaction: its changes
    /// are kept if it answers Ok and rolled back otherwise; the answer comes once the group's
    /// COMMIT is durable (or carries the COMMIT's error).
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: Option<&Connection>| {
            let out = match conn {
                Some(conn) => f(conn),
                None => Err(Error::internal("the write was not run")),
            };
            let ok = out.is_ok();
            let done: Completion = Box::new(move |failure: Option<&Error>| {
                let _ = reply.send(match failure {
                    Some(e) => Err(e.clone()),
                    None => out,
                });
            });
            (ok, done)
        });
        telemetry::writer_queue(1.0);
        self.jobs.send(job).map_err(|_| {
            telemetry::writer_queue(-1.0);
            Error::unavailable("the SQLite writer has stopped")
        })?;
        answer
            .await
            .map_err(|_| Error::internal("the SQLite writer dropped a job"))?
    }
}

/// A write job: runs on the writer's connection (or, given none, does not run), says whether it
/// succeeded, and hands back its completion: called with `None` it answers the job's own
/// outcome, with an error it answers that error (a failed savepoint or COMMIT).
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Completion) + Send>;
type Completion = Box<dyn FnOnce(Option<&Error>) + Send>;

/// Most jobs committed together.
const MAX_GROUP: usize = 256;

/// The writer thread: waits for a job, takes every job queued behind it (up to `MAX_GROUP`),
/// runs them in one transaction with a savepoint each, commits once, then answers all. It
/// reports the queue it leaves, each group's size and each COMMIT's time.
fn writer_loop(conn: Connection, queue: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        telemetry::writer_queue(-(group.len() as f64));
        telemetry::group_commit(group.len());
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let err = db_err(e);
            for job in group {
                let (_, done) = job(None);
                done(Some(&err));
            }
            continue;
        }
        let mut completions = Vec::with_capacity(group.len());
        for job in group {
            if let Err(e) = conn.execute_batch("SAVEPOINT job") {
                let (_, done) = job(None);
                completions.push((done, Some(db_err(e)), false));
                continue;
            }
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Some(&conn))));
            match outcome {
                Ok((true, done)) => {
                    let released = conn.execute_batch("RELEASE job").map_err(db_err);
                    completions.push((done, released.err(), true));
                }
                Ok((false, done)) => {
                    let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
                    completions.push((done, None, false));
                }
                Err(_) => {
                    // The job's reply channel went with the panic; its caller sees an error.
                    let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
                    tracing::error!("a SQLite write job panicked; its changes were rolled back");
                }
            }
        }
        let started = std::time::Instant::now();
        let commit = conn.execute_batch("COMMIT").map_err(db_err);
        telemetry::commit("sqlite", started.elapsed());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for (done, own_error, applied) in completions {
            // A job that failed answers its own error; one that succeeded answers the commit's.
            let commit_error = if applied { commit.as_ref().err() } else { None };
            done(own_error.as_ref().or(commit_error));
        }
    }
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    for (version, sql) in migrations::SQLITE {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute_batch(sql)
                .map_err(|e| anyhow::anyhow!("migration {version}: {e}"))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, teamlabel_core::clock::now_ms()],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

crate::sql::acceptance::acceptance_store!(SqliteStore);
crate::sql::webhooks::webhook_store!(SqliteStore);

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn durability_settings(&self) -> Result<Vec<(String, String)>> {
        self.read_durability().await
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }
}
