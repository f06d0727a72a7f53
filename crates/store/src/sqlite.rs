//! The embedded default backend: SQLite in one file, WAL mode, `synchronous=FULL`, foreign keys
//! on. One thread owns the write connection and group-commits: the write jobs waiting for it
//! run in one transaction, each inside its own savepoint (a failing job is rolled back alone),
//! and one COMMIT (one fsync) answers all of them; no job is answered before its commit is
//! durable. Reads come from a pool of read-only connections and never wait for the writer.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, ToSql};
use serde_json::{Map, Value};

use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use teamlabel_core::error::{codes, Error, Result};
use teamlabel_core::iam::auth::Role;
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    AccessKeyRecord, CopyCount, CopyRecord, CopyWrite, DatasetChange, DatasetQuery, DatasetRecord, DeletedSample,
    HistoryRecord, IdempotencyRecord, LabelUsage, Labeler, Login, LoginState, Project, SampleCounts, SampleQuery,
    SampleRecord, SampleWrite, Store, TaskRecord, TeamSample, TeamSampleQuery, TeamSampleRow, TokenRecord, User,
    WorkerQuery, WorkerRecord, WorkforceQuery, WorkforceRecord, IDEMPOTENCY_TTL_MS,
};

use crate::migrations;

pub struct SqliteStore {
    path: PathBuf,
    jobs: std::sync::mpsc::Sender<Job>,
    readers: r2d2::Pool<SqliteConnectionManager>,
}

/// Maps a SQLite error: unique violations become the resource's 400, the rest internal.
fn db_err(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("UNIQUE") {
            if msg.contains("workforce_tasks.") {
                return Error::bad_request(
                    codes::TASK_EXISTS,
                    "The workforce task already exists: the name is taken in this dataset",
                );
            }
            if msg.contains("workforces.") {
                return Error::bad_request(
                    codes::WORKFORCE_EXISTS,
                    "The workforce already exists: the name is taken in this project",
                );
            }
            if msg.contains("workers.") {
                return Error::bad_request(
                    codes::WORKER_EXISTS,
                    "The worker already exists: the user is in the team",
                );
            }
            if msg.contains("task_copies.") {
                return Error::bad_request(
                    codes::TASK_START_FAILED,
                    "Failed to start the team labeling task: it was started already",
                );
            }
            if msg.contains("datasets.") {
                return Error::bad_request(
                    codes::DATASET_EXISTS,
                    "Dataset already exists: the name is taken in this project",
                );
            }
            if msg.contains("labels.") {
                return Error::bad_request(
                    codes::LABEL_EXISTS,
                    "Label already exists: a label of that name and type is in the dataset",
                );
            }
            if msg.contains("samples.") {
                return Error::bad_request(
                    codes::SAMPLE_EXISTS,
                    "Sample already exists: the name is taken in this dataset",
                );
            }
        }
    }
    Error::internal(format!("sqlite: {e}"))
}

fn json_text(v: &Value) -> String {
    v.to_string()
}

fn map_text(m: &Map<String, Value>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

fn parse_map(s: &str) -> Map<String, Value> {
    serde_json::from_str(s).unwrap_or_default()
}

fn bad_row(what: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, what.to_string(), rusqlite::types::Type::Integer)
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

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool
                .get()
                .map_err(|e| Error::unavailable(format!("sqlite read pool: {e}")))?;
            f(&conn).map_err(db_err)
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
        self.jobs
            .send(job)
            .map_err(|_| Error::unavailable("the SQLite writer has stopped"))?;
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
/// runs them in one transaction with a savepoint each, commits once, then answers all.
fn writer_loop(conn: Connection, queue: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
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
        let commit = conn.execute_batch("COMMIT").map_err(db_err);
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

fn user_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(at)?,
        project_id: r.get(at + 1)?,
        email: r.get(at + 2)?,
        role: Role::from_code(r.get(at + 3)?).ok_or_else(|| bad_row("role"))?,
        create_time: r.get(at + 4)?,
    })
}

const ACCESS_KEY_COLUMNS: &str =
    "k.access_key, k.user_id, k.project_id, k.sealed_secret, k.description, k.security_token_hash, k.expires_at, k.create_time";

fn access_key_from_row(r: &Row<'_>) -> rusqlite::Result<AccessKeyRecord> {
    Ok(AccessKeyRecord {
        access_key: r.get(0)?,
        user_id: r.get(1)?,
        project_id: r.get(2)?,
        sealed_secret: r.get(3)?,
        description: r.get(4)?,
        security_token_hash: r.get(5)?,
        expires_at: r.get(6)?,
        create_time: r.get(7)?,
    })
}

const DATASET_COLUMNS: &str = "id, project_id, name, dataset_type, description, data_sources, work_path, work_path_type, data_format, workspace_id, import_annotations, label_format, status, create_time, update_time";

fn dataset_from_row(r: &Row<'_>) -> rusqlite::Result<DatasetRecord> {
    let data_sources: String = r.get(5)?;
    let label_format: Option<String> = r.get(11)?;
    Ok(DatasetRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        dataset_type: DatasetType::from_code(r.get(3)?).ok_or_else(|| bad_row("dataset_type"))?,
        description: r.get(4)?,
        data_sources: serde_json::from_str(&data_sources).unwrap_or(Value::Array(vec![])),
        work_path: r.get(6)?,
        work_path_type: r.get(7)?,
        data_format: r.get(8)?,
        workspace_id: r.get(9)?,
        import_annotations: r.get(10)?,
        label_format: label_format.and_then(|s| serde_json::from_str(&s).ok()),
        status: r.get(12)?,
        create_time: r.get(13)?,
        update_time: r.get(14)?,
    })
}

fn label_from_row(r: &Row<'_>) -> rusqlite::Result<LabelDef> {
    let property: String = r.get(3)?;
    let attributes: Option<String> = r.get(4)?;
    Ok(LabelDef {
        id: r.get(0)?,
        name: r.get(1)?,
        label_type: LabelType::from_code(r.get(2)?).ok_or_else(|| bad_row("label type"))?,
        property: parse_map(&property),
        attributes: attributes.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

fn insert_labels(tx: &Connection, dataset_id: &str, labels: &[LabelDef], first_position: i64) -> Result<()> {
    let mut stmt = tx
        .prepare_cached("INSERT INTO labels (dataset_id, name, type, property, attributes, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .map_err(db_err)?;
    for (i, l) in labels.iter().enumerate() {
        let attributes = l
            .attributes
            .as_ref()
            .map(|a| serde_json::to_string(a).unwrap_or_else(|_| "[]".into()));
        stmt.execute(params![
            dataset_id,
            l.name,
            l.label_type.code(),
            map_text(&l.property),
            attributes,
            first_position + i as i64
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

// Lookups by sample id write `+s.dataset_id`: the unary plus keeps SQLite's planner (which has
// no statistics) from scanning a dataset through `samples_by_dataset` instead of using the unique
// index on `id`, a scan that costs O(dataset size) per lookup.
const SAMPLE_COLUMNS: &str = "s.seq, s.id, s.dataset_id, s.name, s.sample_type, s.source, s.blob_sha256, s.content_type, s.size, s.text_len, s.metadata, s.sample_usage, s.status, s.sample_time, s.update_time, s.version";

fn sample_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, SampleRecord)> {
    let metadata: String = r.get(10)?;
    let status: String = r.get(12)?;
    Ok((
        r.get(0)?,
        SampleRecord {
            id: r.get(1)?,
            dataset_id: r.get(2)?,
            name: r.get(3)?,
            sample_type: SampleType::from_code(r.get(4)?).ok_or_else(|| bad_row("sample_type"))?,
            source: r.get(5)?,
            blob_sha256: r.get(6)?,
            content_type: r.get(7)?,
            size: r.get(8)?,
            text_len: r.get(9)?,
            metadata: parse_map(&metadata),
            sample_usage: r.get(11)?,
            status: SampleStatus::from_db(&status).ok_or_else(|| bad_row("status"))?,
            sample_time: r.get(13)?,
            update_time: r.get(14)?,
            version: r.get(15)?,
            labels: Vec::new(),
        },
    ))
}

/// Loads the labels of the given samples (by `seq`) in one query and attaches them.
fn attach_labels(conn: &Connection, rows: &mut [(i64, SampleRecord)]) -> rusqlite::Result<()> {
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    let mut by_seq = load_placed_labels(conn, "sample_labels", "sample_seq", &seqs)?;
    for (seq, sample) in rows.iter_mut() {
        sample.labels = by_seq.remove(seq).unwrap_or_default();
    }
    Ok(())
}

/// Loads the placed labels of `keys` from a label table (`sample_labels` by `sample_seq`, or
/// `task_copy_labels` by `copy_id`) in one query, each key's labels in their order.
fn load_placed_labels(
    conn: &Connection,
    table: &str,
    key: &str,
    keys: &[i64],
) -> rusqlite::Result<HashMap<i64, Vec<PlacedLabel>>> {
    let mut out: HashMap<i64, Vec<PlacedLabel>> = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT x.{key}, x.label_id, l.name, l.type, x.instance_id, x.property, x.score, x.annotated_by
         FROM {table} x JOIN labels l ON l.id = x.label_id
         WHERE x.{key} IN ({}) ORDER BY x.{key}, x.ordinal",
        vec!["?"; keys.len()].join(",")
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut q = stmt.query(params_from_iter(keys.iter()))?;
    while let Some(r) = q.next()? {
        let property: String = r.get(5)?;
        let placed = PlacedLabel {
            label_id: r.get(1)?,
            name: r.get(2)?,
            label_type: LabelType::from_code(r.get(3)?).ok_or_else(|| bad_row("label type"))?,
            instance_id: r.get(4)?,
            property: parse_map(&property),
            score: r.get(6)?,
            annotated_by: r.get(7)?,
        };
        out.entry(r.get(0)?).or_default().push(placed);
    }
    Ok(out)
}

/// The WHERE clause of a sample list over `samples s`; `?1` is the dataset id, further values
/// are pushed onto `args`. Label ids and states are integers and fixed strings, inlined.
fn sample_filter(q: &SampleQuery, args: &mut Vec<Box<dyn ToSql>>) -> String {
    let mut filter = String::from("s.dataset_id = ?1");
    if let Some(statuses) = &q.statuses {
        let list = statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        filter.push_str(&format!(" AND s.status IN ({list})"));
    }
    if let Some(t) = q.sample_type {
        args.push(Box::new(t.code()));
        filter.push_str(&format!(" AND s.sample_type = ?{}", args.len()));
    }
    if let Some(name) = &q.name {
        args.push(Box::new(name.clone()));
        filter.push_str(&format!(" AND s.name = ?{}", args.len()));
    }
    for group in &q.label_groups {
        filter.push_str(&label_group_clause(group, "sample_labels", "sample_seq", "s.seq"));
    }
    filter
}

/// ` AND EXISTS (...)` matching rows of `table` whose `key` is `outer` and whose label is in the
/// group; an empty group matches nothing.
fn label_group_clause(group: &[i64], table: &str, key: &str, outer: &str) -> String {
    if group.is_empty() {
        return " AND 0 = 1".to_string();
    }
    let ids = group.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    format!(" AND EXISTS (SELECT 1 FROM {table} x WHERE x.{key} = {outer} AND x.label_id IN ({ids}))")
}

fn workforce_from_row(r: &Row<'_>) -> rusqlite::Result<WorkforceRecord> {
    Ok(WorkforceRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        worker_count: r.get::<_, i64>(4)? as u64,
        create_time: r.get(5)?,
        update_time: r.get(6)?,
    })
}

/// Loads samples of a dataset by public id (with their `seq`, without labels), in the order of
/// `ids`, skipping ids that do not exist.
fn load_samples_by_id(c: &Connection, dataset_id: &str, ids: &[String]) -> rusqlite::Result<Vec<(i64, SampleRecord)>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE +s.dataset_id = ?1 AND s.id = ?2"
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        if let Some(row) = stmt.query_row(params![dataset_id, id], sample_from_row).optional()? {
            out.push(row);
        }
    }
    Ok(out)
}

fn not_found_team(code: &'static str, what: &str, id: &str) -> Error {
    Error::not_found(code, format!("{what} does not exist: {id}"))
}

const WORKER_COLUMNS: &str =
    "w.id, w.workforce_id, w.user_id, u.email, w.role, w.description, w.create_time, w.update_time";

fn worker_from_row(r: &Row<'_>) -> rusqlite::Result<WorkerRecord> {
    Ok(WorkerRecord {
        id: r.get(0)?,
        workforce_id: r.get(1)?,
        user_id: r.get(2)?,
        email: r.get(3)?,
        role: Role::from_code(r.get(4)?).ok_or_else(|| bad_row("role"))?,
        description: r.get(5)?,
        create_time: r.get(6)?,
        update_time: r.get(7)?,
    })
}

const TASK_COLUMNS: &str = "id, dataset_id, name, description, status, repetition, workforces_config, sample_conditions, synchronize_data, synchronize_auto_labeling_data, auto_sync_dataset, data_sync_type, create_time, update_time";

fn task_from_row(r: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    let config: String = r.get(6)?;
    let conditions: Option<String> = r.get(7)?;
    Ok(TaskRecord {
        id: r.get(0)?,
        dataset_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        status: r.get(4)?,
        repetition: r.get(5)?,
        workforces_config: serde_json::from_str(&config).unwrap_or(Value::Object(Map::new())),
        sample_conditions: conditions.and_then(|c| serde_json::from_str(&c).ok()),
        synchronize_data: r.get(8)?,
        synchronize_auto_labeling_data: r.get(9)?,
        auto_sync_dataset: r.get(10)?,
        data_sync_type: r.get(11)?,
        create_time: r.get(12)?,
        update_time: r.get(13)?,
    })
}

/// Loads copies (without labels) by a WHERE clause over `task_copies c`.
const COPY_COLUMNS: &str = "c.id, c.worker_id, c.state, c.version, c.metadata, c.sample_usage, c.update_time";

fn copy_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<CopyRecord> {
    let metadata: Option<String> = r.get(at + 4)?;
    Ok(CopyRecord {
        id: r.get(at)?,
        worker_id: r.get(at + 1)?,
        state: r.get(at + 2)?,
        version: r.get(at + 3)?,
        labels: Vec::new(),
        metadata: metadata.map(|m| parse_map(&m)),
        sample_usage: r.get(at + 5)?,
        update_time: r.get(at + 6)?,
    })
}

/// Attaches their labels to copies, in one query.
fn attach_copy_labels(conn: &Connection, copies: &mut [&mut CopyRecord]) -> rusqlite::Result<()> {
    let ids: Vec<i64> = copies.iter().map(|c| c.id).collect();
    let mut by_copy = load_placed_labels(conn, "task_copy_labels", "copy_id", &ids)?;
    for copy in copies.iter_mut() {
        copy.labels = by_copy.remove(&copy.id).unwrap_or_default();
    }
    Ok(())
}

/// A history row with its JSON already serialized, so the writer thread only writes.
struct HistoryRow {
    record: HistoryRecord,
    labels_before: String,
    labels_after: String,
}

fn history_rows(history: &[HistoryRecord]) -> Vec<HistoryRow> {
    history
        .iter()
        .map(|h| HistoryRow {
            labels_before: h.labels_before.to_string(),
            labels_after: h.labels_after.to_string(),
            record: h.clone(),
        })
        .collect()
}

/// A label row with its property map already serialized.
struct LabelRow {
    label_id: i64,
    instance_id: Option<String>,
    property: String,
    score: Option<f64>,
    annotated_by: Option<String>,
}

fn label_rows(labels: &[PlacedLabel]) -> Vec<LabelRow> {
    labels
        .iter()
        .map(|l| LabelRow {
            label_id: l.label_id,
            instance_id: l.instance_id.clone(),
            property: map_text(&l.property),
            score: l.score,
            annotated_by: l.annotated_by.clone(),
        })
        .collect()
}

fn insert_history(tx: &Connection, history: &[HistoryRow]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO annotation_history (dataset_id, sample_id, task_id, worker_id, actor_user_id, actor_email, change_time,
                 state_before, state_after, labels_before, labels_after, version_after)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(db_err)?;
    for row in history {
        let h = &row.record;
        stmt.execute(params![
            h.dataset_id,
            h.sample_id,
            h.task_id,
            h.worker_id,
            h.actor_user_id,
            h.actor_email,
            h.change_time,
            h.state_before,
            h.state_after,
            row.labels_before,
            row.labels_after,
            h.version_after
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

/// Records an idempotency key, replacing an expired record of the same key; a live one fails
/// the transaction.
fn insert_idempotency(tx: &Connection, r: &IdempotencyRecord) -> Result<()> {
    let n = tx
        .execute(
            "INSERT INTO idempotency_keys (project_id, user_id, idem_key, request_hash, status, response, create_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (project_id, user_id, idem_key) DO UPDATE SET
                 request_hash = excluded.request_hash, status = excluded.status, response = excluded.response,
                 create_time = excluded.create_time
             WHERE idempotency_keys.create_time <= ?8",
            params![
                r.project_id,
                r.user_id,
                r.key,
                r.request_hash,
                r.status,
                r.response.to_string(),
                r.create_time,
                r.create_time - IDEMPOTENCY_TTL_MS
            ],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(idempotency_taken());
    }
    Ok(())
}

fn idempotency_taken() -> Error {
    Error::conflict(
        codes::IDEMPOTENCY_TAKEN,
        "X-Idempotency-Key is in use by another request; retry to read its answer",
    )
}

fn version_conflict() -> Error {
    Error::conflict(
        codes::VERSION_CONFLICT,
        "The labels changed since they were read; read them again and retry",
    )
}

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

    async fn insert_project(&self, project: &Project, owner: &User) -> Result<()> {
        let (project, owner) = (project.clone(), owner.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO projects (id, name, create_time) VALUES (?1, ?2, ?3)",
                params![project.id, project.name, project.create_time],
            )
            .map_err(db_err)?;
            tx.execute(
                "INSERT INTO users (id, project_id, email, role, create_time) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    owner.id,
                    owner.project_id,
                    owner.email,
                    owner.role.code(),
                    owner.create_time
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_project(&self, id: &str) -> Result<Project> {
        let id = id.to_string();
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row("SELECT id, name, create_time FROM projects WHERE id = ?1", [id], |r| {
                        Ok(Project {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            create_time: r.get(2)?,
                        })
                    })
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| Error::not_found(codes::INVALID_PROJECT, format!("Project does not exist: {id}")))
    }

    async fn find_first_project(&self) -> Result<Option<Project>> {
        self.read(|c| {
            c.query_row(
                "SELECT id, name, create_time FROM projects ORDER BY create_time, id LIMIT 1",
                [],
                |r| {
                    Ok(Project {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        create_time: r.get(2)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn insert_user(&self, user: &User) -> Result<()> {
        let u = user.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO users (id, project_id, email, role, create_time) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![u.id, u.project_id, u.email, u.role.code(), u.create_time],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn find_user_by_email(&self, project_id: &str, email: &str) -> Result<Option<User>> {
        let (p, e) = (project_id.to_string(), email.to_string());
        self.read(move |c| {
            c.query_row(
                "SELECT id, project_id, email, role, create_time FROM users WHERE project_id = ?1 AND email = ?2",
                params![p, e],
                |r| user_from_row(r, 0),
            )
            .optional()
        })
        .await
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let t = token.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO tokens (hash, user_id, project_id, expires_at, create_time) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.hash, t.user_id, t.project_id, t.expires_at, t.create_time],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn find_token(&self, hash: &str) -> Result<Option<(TokenRecord, User)>> {
        let hash = hash.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT t.hash, t.user_id, t.project_id, t.expires_at, t.create_time,
                        u.id, u.project_id, u.email, u.role, u.create_time
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?1",
                [hash],
                |r| {
                    Ok((
                        TokenRecord {
                            hash: r.get(0)?,
                            user_id: r.get(1)?,
                            project_id: r.get(2)?,
                            expires_at: r.get(3)?,
                            create_time: r.get(4)?,
                        },
                        user_from_row(r, 5)?,
                    ))
                },
            )
            .optional()
        })
        .await
    }

    async fn list_projects_by_name(&self, name: &str) -> Result<Vec<Project>> {
        let name = name.to_string();
        self.read(move |c| {
            let mut stmt =
                c.prepare("SELECT id, name, create_time FROM projects WHERE name = ?1 ORDER BY create_time, id")?;
            let rows = stmt.query_map([name], |r| {
                Ok(Project {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    create_time: r.get(2)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn find_login(&self, project_id: &str, id_or_email: &str) -> Result<Option<Login>> {
        let (p, key) = (project_id.to_string(), id_or_email.to_string());
        self.read(move |c| {
            c.query_row(
                "SELECT id, project_id, email, role, create_time, password_hash, failed_logins, locked_until
                 FROM users WHERE project_id = ?1 AND (id = ?2 OR email = lower(?2))",
                params![p, key],
                |r| {
                    Ok(Login {
                        user: user_from_row(r, 0)?,
                        password_hash: r.get(5)?,
                        state: LoginState {
                            failed: r.get(6)?,
                            locked_until: r.get(7)?,
                        },
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn set_password(&self, user_id: &str, password_hash: Option<&str>) -> Result<()> {
        let (u, h) = (user_id.to_string(), password_hash.map(str::to_string));
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = 0 WHERE id = ?1",
                    params![u, h],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::not_found(
                    codes::INVALID_ARGUMENT,
                    format!("User not found: {u}"),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn update_login_state(&self, user_id: &str, expected: LoginState, new: LoginState) -> Result<bool> {
        let u = user_id.to_string();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE users SET failed_logins = ?4, locked_until = ?5
                     WHERE id = ?1 AND failed_logins = ?2 AND locked_until = ?3",
                    params![u, expected.failed, expected.locked_until, new.failed, new.locked_until],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        let k = key.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO access_keys (access_key, user_id, project_id, sealed_secret, description,
                                          security_token_hash, expires_at, create_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    k.access_key,
                    k.user_id,
                    k.project_id,
                    k.sealed_secret,
                    k.description,
                    k.security_token_hash,
                    k.expires_at,
                    k.create_time
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn find_access_key(&self, access_key: &str) -> Result<Option<(AccessKeyRecord, User)>> {
        let ak = access_key.to_string();
        self.read(move |c| {
            c.query_row(
                &format!(
                    "SELECT {ACCESS_KEY_COLUMNS}, u.id, u.project_id, u.email, u.role, u.create_time
                     FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = ?1"
                ),
                [ak],
                |r| Ok((access_key_from_row(r)?, user_from_row(r, 8)?)),
            )
            .optional()
        })
        .await
    }

    async fn list_access_keys(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        now: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<(AccessKeyRecord, User)>)> {
        let (p, u) = (project_id.to_string(), user_id.map(str::to_string));
        self.read(move |c| {
            let filter = "k.project_id = ?1 AND (?2 IS NULL OR k.user_id = ?2)
                          AND (k.expires_at IS NULL OR k.expires_at > ?3)";
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM access_keys k WHERE {filter}"),
                params![p, u, now],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(&format!(
                "SELECT {ACCESS_KEY_COLUMNS}, u.id, u.project_id, u.email, u.role, u.create_time
                 FROM access_keys k JOIN users u ON u.id = k.user_id WHERE {filter}
                 ORDER BY k.create_time DESC, k.access_key LIMIT ?4 OFFSET ?5"
            ))?;
            let rows = stmt
                .query_map(params![p, u, now, limit as i64, (offset * limit) as i64], |r| {
                    Ok((access_key_from_row(r)?, user_from_row(r, 8)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn delete_access_key(&self, project_id: &str, access_key: &str) -> Result<bool> {
        let (p, ak) = (project_id.to_string(), access_key.to_string());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM access_keys WHERE project_id = ?1 AND access_key = ?2",
                    params![p, ak],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn purge_expired_access_keys(&self, now: i64) -> Result<u64> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM access_keys WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                    [now],
                )
                .map_err(db_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let (n, v) = (name.to_string(), value.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO server_settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![n, v],
            )
            .map_err(db_err)?;
            tx.query_row("SELECT value FROM server_settings WHERE name = ?1", [n], |r| r.get(0))
                .map_err(db_err)
        })
        .await
    }

    async fn insert_dataset(&self, dataset: &DatasetRecord, labels: &[LabelDef]) -> Result<()> {
        let (d, labels) = (dataset.clone(), labels.to_vec());
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO datasets ({DATASET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
                params![
                    d.id,
                    d.project_id,
                    d.name,
                    d.dataset_type.code(),
                    d.description,
                    json_text(&d.data_sources),
                    d.work_path,
                    d.work_path_type,
                    d.data_format,
                    d.workspace_id,
                    d.import_annotations,
                    d.label_format.as_ref().map(json_text),
                    d.status,
                    d.create_time,
                    d.update_time
                ],
            )
            .map_err(db_err)?;
            insert_labels(tx, &d.id, &labels, 0)
        })
        .await
    }

    async fn get_dataset(&self, project_id: &str, dataset_id: &str) -> Result<DatasetRecord> {
        let (p, id) = (project_id.to_string(), dataset_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row(
                        &format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE project_id = ?1 AND id = ?2"),
                        params![p, id],
                        dataset_from_row,
                    )
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| Error::dataset_not_found(&id))
    }

    async fn list_datasets(&self, project_id: &str, query: &DatasetQuery) -> Result<(u64, Vec<DatasetRecord>)> {
        let (p, q) = (project_id.to_string(), query.clone());
        self.read(move |c| {
            let mut filter = String::from("project_id = ?1");
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(p)];
            if let Some(t) = q.dataset_type {
                args.push(Box::new(t.code()));
                filter.push_str(&format!(" AND dataset_type = ?{}", args.len()));
            }
            if let Some(s) = &q.search_content {
                let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                args.push(Box::new(format!("%{escaped}%")));
                filter.push_str(&format!(" AND name LIKE ?{} ESCAPE '\\'", args.len()));
            }
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM datasets WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let key = if q.sort_by_name { "name" } else { "create_time" };
            let sql = format!(
                "SELECT {DATASET_COLUMNS} FROM datasets WHERE {filter} ORDER BY {key} {dir}, id {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), dataset_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn sample_counts(&self, dataset_ids: &[String]) -> Result<HashMap<String, SampleCounts>> {
        let ids = dataset_ids.to_vec();
        self.read(move |c| {
            let mut out: HashMap<String, SampleCounts> = ids.iter().map(|i| (i.clone(), SampleCounts::default())).collect();
            if ids.is_empty() {
                return Ok(out);
            }
            let marks = vec!["?"; ids.len()].join(",");
            let mut stmt = c.prepare(&format!(
                "SELECT dataset_id, status, COUNT(*) FROM samples WHERE dataset_id IN ({marks}) GROUP BY dataset_id, status"
            ))?;
            let mut q = stmt.query(params_from_iter(ids.iter()))?;
            while let Some(r) = q.next()? {
                let (id, status, n): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                let counts = out.entry(id).or_default();
                counts.total += n as u64;
                match SampleStatus::from_db(&status) {
                    Some(SampleStatus::UnAnnotation) => counts.un_annotation += n as u64,
                    Some(SampleStatus::ManualAnnotation) => counts.manual_annotation += n as u64,
                    Some(SampleStatus::AutoAnnotation) => counts.auto_annotation += n as u64,
                    None => return Err(bad_row("status")),
                }
            }
            Ok(out)
        })
        .await
    }

    async fn update_dataset(&self, dataset_id: &str, change: &DatasetChange) -> Result<Vec<DeletedSample>> {
        let (id, ch) = (dataset_id.to_string(), change.clone());
        self.write(move |tx| {
            let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM datasets WHERE id = ?1)", [&id], |r| r.get(0)).map_err(db_err)?;
            if !exists {
                return Err(Error::dataset_not_found(&id));
            }
            let mut deleted = Vec::new();
            if !ch.delete_labels.is_empty() {
                let ids = ch.delete_labels.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
                if ch.delete_policy >= 1 {
                    let mut stmt = tx
                        .prepare(&format!(
                            "DELETE FROM samples WHERE dataset_id = ?1
                               AND EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq AND sl.label_id IN ({ids}))
                               AND NOT EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq AND sl.label_id NOT IN ({ids}))
                             RETURNING id, blob_sha256"
                        ))
                        .map_err(db_err)?;
                    deleted = stmt
                        .query_map([&id], |r| Ok(DeletedSample { id: r.get(0)?, blob_sha256: r.get(1)? }))
                        .map_err(db_err)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map_err(db_err)?;
                }
                tx.execute(&format!("DELETE FROM labels WHERE dataset_id = ?1 AND id IN ({ids})"), [&id]).map_err(db_err)?;
                tx.execute(
                    "UPDATE samples SET status = 'UN_ANNOTATION' WHERE dataset_id = ?1 AND status <> 'UN_ANNOTATION'
                       AND NOT EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq)",
                    [&id],
                )
                .map_err(db_err)?;
            }
            for l in &ch.update_labels {
                let attributes = l.attributes.as_ref().map(|a| serde_json::to_string(a).unwrap_or_else(|_| "[]".into()));
                tx.execute(
                    "UPDATE labels SET name = ?1, type = ?2, property = ?3, attributes = ?4 WHERE id = ?5 AND dataset_id = ?6",
                    params![l.name, l.label_type.code(), map_text(&l.property), attributes, l.id, id],
                )
                .map_err(db_err)?;
            }
            if !ch.add_labels.is_empty() {
                let next: i64 = tx
                    .query_row("SELECT COALESCE(MAX(position) + 1, 0) FROM labels WHERE dataset_id = ?1", [&id], |r| r.get(0))
                    .map_err(db_err)?;
                insert_labels(tx, &id, &ch.add_labels, next)?;
            }
            tx.execute(
                "UPDATE datasets SET name = COALESCE(?1, name), description = COALESCE(?2, description), update_time = ?3 WHERE id = ?4",
                params![ch.name, ch.description, ch.update_time, id],
            )
            .map_err(db_err)?;
            Ok(deleted)
        })
        .await
    }

    async fn delete_dataset(&self, project_id: &str, dataset_id: &str) -> Result<()> {
        let (p, id) = (project_id.to_string(), dataset_id.to_string());
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM datasets WHERE project_id = ?1 AND id = ?2", params![p, id])
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::dataset_not_found(&id));
            }
            Ok(())
        })
        .await
    }

    async fn list_labels(&self, dataset_id: &str) -> Result<Vec<LabelDef>> {
        let id = dataset_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, type, property, attributes FROM labels WHERE dataset_id = ?1 ORDER BY position, id",
            )?;
            let rows = stmt
                .query_map([id], label_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn label_usage(&self, dataset_id: &str) -> Result<Vec<LabelUsage>> {
        let id = dataset_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT l.id, COUNT(sl.label_id), COUNT(DISTINCT sl.sample_seq)
                 FROM labels l JOIN sample_labels sl ON sl.label_id = l.id
                 WHERE l.dataset_id = ?1 GROUP BY l.id",
            )?;
            let rows = stmt
                .query_map([id], |r| {
                    Ok(LabelUsage {
                        label_id: r.get(0)?,
                        count: r.get::<_, i64>(1)? as u64,
                        sample_count: r.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn find_sample_names(&self, dataset_id: &str, names: &[String]) -> Result<HashSet<String>> {
        let (id, names) = (dataset_id.to_string(), names.to_vec());
        self.read(move |c| {
            let mut found = HashSet::new();
            let mut stmt = c.prepare_cached("SELECT 1 FROM samples WHERE dataset_id = ?1 AND name = ?2")?;
            for n in names {
                if stmt.exists(params![id, n])? {
                    found.insert(n);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn insert_samples(&self, samples: &[SampleRecord]) -> Result<()> {
        let samples = samples.to_vec();
        self.write(move |tx| {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO samples (id, dataset_id, name, sample_type, source, blob_sha256, content_type, size, text_len, metadata, sample_usage, status, sample_time, update_time)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(db_err)?;
            let mut lab = tx
                .prepare_cached(
                    "INSERT INTO sample_labels (sample_seq, ordinal, label_id, instance_id, property, score, annotated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db_err)?;
            for s in &samples {
                ins.execute(params![
                    s.id,
                    s.dataset_id,
                    s.name,
                    s.sample_type.code(),
                    s.source,
                    s.blob_sha256,
                    s.content_type,
                    s.size,
                    s.text_len,
                    map_text(&s.metadata),
                    s.sample_usage,
                    s.status.as_str(),
                    s.sample_time,
                    s.update_time
                ])
                .map_err(db_err)?;
                let seq = tx.last_insert_rowid();
                for (i, l) in s.labels.iter().enumerate() {
                    lab.execute(params![seq, i as i64, l.label_id, l.instance_id, map_text(&l.property), l.score, l.annotated_by])
                        .map_err(db_err)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn list_samples(&self, dataset_id: &str, query: &SampleQuery) -> Result<(u64, Vec<SampleRecord>)> {
        let (id, q) = (dataset_id.to_string(), query.clone());
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(id)];
            let filter = sample_filter(&q, &mut args);
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM samples s WHERE {filter}"),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let sql = format!(
                "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE {filter} ORDER BY s.seq {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt
                .query_map(params_from_iter(args.iter()), sample_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            attach_labels(c, &mut rows)?;
            Ok((total as u64, rows.into_iter().map(|(_, s)| s).collect()))
        })
        .await
    }

    async fn get_sample(&self, dataset_id: &str, sample_id: &str) -> Result<SampleRecord> {
        let (d, id) = (dataset_id.to_string(), sample_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    let row = c
                        .query_row(
                            &format!("SELECT {SAMPLE_COLUMNS} FROM samples s WHERE +s.dataset_id = ?1 AND s.id = ?2"),
                            params![d, id],
                            sample_from_row,
                        )
                        .optional()?;
                    match row {
                        None => Ok(None),
                        Some(r) => {
                            let mut rows = vec![r];
                            attach_labels(c, &mut rows)?;
                            Ok(rows.pop().map(|(_, s)| s))
                        }
                    }
                }
            })
            .await?;
        found.ok_or_else(|| Error::sample_not_found(&id))
    }

    async fn delete_samples(&self, dataset_id: &str, ids: &[String]) -> Result<Vec<DeletedSample>> {
        let (d, ids) = (dataset_id.to_string(), ids.to_vec());
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached("DELETE FROM samples WHERE +dataset_id = ?1 AND id = ?2 RETURNING id, blob_sha256")
                .map_err(db_err)?;
            let mut deleted = Vec::new();
            for id in ids {
                if let Some(row) = stmt
                    .query_row(params![d, id], |r| {
                        Ok(DeletedSample {
                            id: r.get(0)?,
                            blob_sha256: r.get(1)?,
                        })
                    })
                    .optional()
                    .map_err(db_err)?
                {
                    deleted.push(row);
                }
            }
            Ok(deleted)
        })
        .await
    }

    async fn blob_in_use(&self, sha256: &str) -> Result<bool> {
        let sha = sha256.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM samples WHERE blob_sha256 = ?1)",
                [sha],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn insert_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
        let w = workforce.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO workforces (id, project_id, name, description, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![w.id, w.project_id, w.name, w.description, w.create_time, w.update_time],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_workforce(&self, project_id: &str, workforce_id: &str) -> Result<WorkforceRecord> {
        let (p, id) = (project_id.to_string(), workforce_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row(
                        "SELECT f.id, f.project_id, f.name, f.description, (SELECT COUNT(*) FROM workers w WHERE w.workforce_id = f.id), f.create_time, f.update_time
                         FROM workforces f WHERE f.project_id = ?1 AND f.id = ?2",
                        params![p, id],
                        workforce_from_row,
                    )
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| not_found_team(codes::WORKFORCE_NOT_FOUND, "The workforce", &id))
    }

    async fn list_workforces(&self, project_id: &str, query: &WorkforceQuery) -> Result<(u64, Vec<WorkforceRecord>)> {
        let (p, q) = (project_id.to_string(), query.clone());
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(p)];
            let mut filter = String::from("f.project_id = ?1");
            if let Some(s) = &q.search_content {
                let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                args.push(Box::new(format!("%{escaped}%")));
                filter.push_str(&format!(" AND f.name LIKE ?{} ESCAPE '\\'", args.len()));
            }
            if let Some(t) = &q.task_id {
                args.push(Box::new(t.clone()));
                filter.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM task_workers tw JOIN workers w ON w.id = tw.worker_id WHERE tw.task_id = ?{} AND w.workforce_id = f.id)",
                    args.len()
                ));
            }
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM workforces f WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let key = if q.sort_by_name { "f.name" } else { "f.create_time" };
            let sql = format!(
                "SELECT f.id, f.project_id, f.name, f.description, (SELECT COUNT(*) FROM workers w WHERE w.workforce_id = f.id), f.create_time, f.update_time
                 FROM workforces f WHERE {filter} ORDER BY {key} {dir}, f.id {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), workforce_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn update_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
        let w = workforce.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE workforces SET name = ?1, description = ?2, update_time = ?3 WHERE id = ?4 AND project_id = ?5",
                    params![w.name, w.description, w.update_time, w.id, w.project_id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(not_found_team(codes::WORKFORCE_NOT_FOUND, "The workforce", &w.id));
            }
            Ok(())
        })
        .await
    }

    async fn delete_workforce(&self, project_id: &str, workforce_id: &str) -> Result<()> {
        let (p, id) = (project_id.to_string(), workforce_id.to_string());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM workforces WHERE project_id = ?1 AND id = ?2",
                    params![p, id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(not_found_team(codes::WORKFORCE_NOT_FOUND, "The workforce", &id));
            }
            Ok(())
        })
        .await
    }

    async fn insert_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let w = worker.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO workers (id, workforce_id, user_id, role, description, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![w.id, w.workforce_id, w.user_id, w.role.code(), w.description, w.create_time, w.update_time],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_worker(&self, workforce_id: &str, worker_id: &str) -> Result<WorkerRecord> {
        let (f, id) = (workforce_id.to_string(), worker_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row(
                        &format!("SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id WHERE w.workforce_id = ?1 AND w.id = ?2"),
                        params![f, id],
                        worker_from_row,
                    )
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| not_found_team(codes::WORKER_NOT_FOUND, "The worker", &id))
    }

    async fn list_workers(&self, project_id: &str, query: &WorkerQuery) -> Result<(u64, Vec<WorkerRecord>)> {
        let (p, q) = (project_id.to_string(), query.clone());
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(p)];
            let mut filter = String::from("f.project_id = ?1");
            if let Some(f) = &q.workforce_id {
                args.push(Box::new(f.clone()));
                filter.push_str(&format!(" AND w.workforce_id = ?{}", args.len()));
            }
            if let Some(r) = q.role {
                filter.push_str(&format!(" AND w.role = {}", r.code()));
            }
            let from = "workers w JOIN users u ON u.id = w.user_id JOIN workforces f ON f.id = w.workforce_id";
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {from} WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let key = if q.sort_by_email { "u.email" } else { "w.create_time" };
            let sql = format!(
                "SELECT {WORKER_COLUMNS} FROM {from} WHERE {filter} ORDER BY {key} {dir}, w.id {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), worker_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn update_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let w = worker.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE workers SET role = ?1, description = ?2, update_time = ?3 WHERE id = ?4 AND workforce_id = ?5",
                    params![w.role.code(), w.description, w.update_time, w.id, w.workforce_id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(not_found_team(codes::WORKER_NOT_FOUND, "The worker", &w.id));
            }
            Ok(())
        })
        .await
    }

    async fn delete_workers(&self, workforce_id: &str, ids: &[String]) -> Result<Vec<String>> {
        let (f, ids) = (workforce_id.to_string(), ids.to_vec());
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached("DELETE FROM workers WHERE workforce_id = ?1 AND id = ?2")
                .map_err(db_err)?;
            let mut deleted = Vec::new();
            for id in ids {
                if stmt.execute(params![f, id]).map_err(db_err)? > 0 {
                    deleted.push(id);
                }
            }
            Ok(deleted)
        })
        .await
    }

    async fn workers_of_user(&self, user_id: &str) -> Result<Vec<WorkerRecord>> {
        let u = user_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id WHERE w.user_id = ?1 ORDER BY w.create_time, w.id"
            ))?;
            let rows = stmt.query_map([u], worker_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn worker_has_open_work(&self, worker_id: &str) -> Result<bool> {
        let w = worker_id.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM task_copies tc JOIN workforce_tasks t ON t.id = tc.task_id
                                WHERE tc.worker_id = ?1 AND tc.state <> '__ACCEPTED__' AND t.status <> 3)",
                [w],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn insert_task(&self, task: &TaskRecord, worker_ids: &[String]) -> Result<()> {
        let (t, workers) = (task.clone(), worker_ids.to_vec());
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO workforce_tasks ({TASK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
                params![
                    t.id,
                    t.dataset_id,
                    t.name,
                    t.description,
                    t.status,
                    t.repetition,
                    t.workforces_config.to_string(),
                    t.sample_conditions.as_ref().map(Value::to_string),
                    t.synchronize_data,
                    t.synchronize_auto_labeling_data,
                    t.auto_sync_dataset,
                    t.data_sync_type,
                    t.create_time,
                    t.update_time
                ],
            )
            .map_err(db_err)?;
            let mut stmt = tx.prepare_cached("INSERT INTO task_workers (task_id, worker_id) VALUES (?1, ?2)").map_err(db_err)?;
            for w in &workers {
                stmt.execute(params![t.id, w]).map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_task(&self, dataset_id: &str, task_id: &str) -> Result<TaskRecord> {
        let (d, id) = (dataset_id.to_string(), task_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row(
                        &format!("SELECT {TASK_COLUMNS} FROM workforce_tasks WHERE dataset_id = ?1 AND id = ?2"),
                        params![d, id],
                        task_from_row,
                    )
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| not_found_team(codes::TASK_NOT_FOUND, "Workforce task", &id))
    }

    async fn list_tasks(&self, dataset_id: &str, offset: u64, limit: u64) -> Result<(u64, Vec<TaskRecord>)> {
        let d = dataset_id.to_string();
        self.read(move |c| {
            let total: i64 = c.query_row("SELECT COUNT(*) FROM workforce_tasks WHERE dataset_id = ?1", [&d], |r| r.get(0))?;
            let mut stmt = c.prepare(&format!(
                "SELECT {TASK_COLUMNS} FROM workforce_tasks WHERE dataset_id = ?1 ORDER BY create_time DESC, id DESC LIMIT {limit} OFFSET {}",
                offset.saturating_mul(limit)
            ))?;
            let rows = stmt.query_map([&d], task_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn update_task(&self, task: &TaskRecord, worker_ids: Option<&[String]>) -> Result<()> {
        let (t, workers) = (task.clone(), worker_ids.map(<[String]>::to_vec));
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE workforce_tasks SET name = ?1, description = ?2, status = ?3, workforces_config = ?4, update_time = ?5
                     WHERE id = ?6 AND dataset_id = ?7",
                    params![t.name, t.description, t.status, t.workforces_config.to_string(), t.update_time, t.id, t.dataset_id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(not_found_team(codes::TASK_NOT_FOUND, "Workforce task", &t.id));
            }
            if let Some(workers) = workers {
                tx.execute("DELETE FROM task_workers WHERE task_id = ?1", [&t.id]).map_err(db_err)?;
                let mut stmt = tx.prepare_cached("INSERT INTO task_workers (task_id, worker_id) VALUES (?1, ?2)").map_err(db_err)?;
                for w in &workers {
                    stmt.execute(params![t.id, w]).map_err(db_err)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn delete_task(&self, dataset_id: &str, task_id: &str) -> Result<()> {
        let (d, id) = (dataset_id.to_string(), task_id.to_string());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM workforce_tasks WHERE dataset_id = ?1 AND id = ?2",
                    params![d, id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(not_found_team(codes::TASK_NOT_FOUND, "Workforce task", &id));
            }
            Ok(())
        })
        .await
    }

    async fn task_workers(&self, task_id: &str) -> Result<Vec<WorkerRecord>> {
        let t = task_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {WORKER_COLUMNS} FROM task_workers tw JOIN workers w ON w.id = tw.worker_id JOIN users u ON u.id = w.user_id
                 WHERE tw.task_id = ?1 ORDER BY w.id"
            ))?;
            let rows = stmt.query_map([t], worker_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn list_user_tasks(
        &self,
        user_id: &str,
        offset: u64,
        limit: u64,
        ascending: bool,
        sort_by_name: bool,
        search_content: Option<&str>,
    ) -> Result<(u64, Vec<(TaskRecord, WorkerRecord)>)> {
        let (u, search) = (user_id.to_string(), search_content.map(str::to_string));
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(u)];
            let mut filter = String::from("w.user_id = ?1");
            if let Some(s) = &search {
                let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                args.push(Box::new(format!("%{escaped}%")));
                filter.push_str(&format!(" AND t.name LIKE ?{} ESCAPE '\\'", args.len()));
            }
            let from = "task_workers tw JOIN workers w ON w.id = tw.worker_id JOIN users u ON u.id = w.user_id JOIN workforce_tasks t ON t.id = tw.task_id";
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {from} WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if ascending { "ASC" } else { "DESC" };
            let key = if sort_by_name { "t.name" } else { "t.create_time" };
            let task_cols = TASK_COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT {task_cols}, {WORKER_COLUMNS} FROM {from} WHERE {filter} ORDER BY {key} {dir}, t.id {dir}, w.id LIMIT {limit} OFFSET {}",
                offset.saturating_mul(limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    let task = task_from_row(r)?;
                    let worker = WorkerRecord {
                        id: r.get(14)?,
                        workforce_id: r.get(15)?,
                        user_id: r.get(16)?,
                        email: r.get(17)?,
                        role: Role::from_code(r.get(18)?).ok_or_else(|| bad_row("role"))?,
                        description: r.get(19)?,
                        create_time: r.get(20)?,
                        update_time: r.get(21)?,
                    };
                    Ok((task, worker))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn start_task(
        &self,
        task_id: &str,
        dataset_id: &str,
        samples: &SampleQuery,
        labelers: &[String],
        repetition: u32,
        status: i32,
        now: i64,
    ) -> Result<u64> {
        let (t, d, q, labelers) = (
            task_id.to_string(),
            dataset_id.to_string(),
            samples.clone(),
            labelers.to_vec(),
        );
        self.write(move |tx| {
            let n = labelers.len() as i64;
            if n == 0 || repetition == 0 || repetition as i64 > n {
                return Err(Error::bad_request(codes::TASK_START_FAILED, "a task needs at least `repetition` labelers"));
            }
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(d)];
            let filter = sample_filter(&q, &mut args);
            args.push(Box::new(t.clone()));
            let task_arg = args.len();
            args.push(Box::new(now));
            let now_arg = args.len();
            // Labelers as a VALUES table (j, worker_id) and repetitions as (k); sample i (0-based,
            // in insertion order) goes to labeler (i * repetition + k) mod n.
            let mut values = Vec::new();
            for (j, w) in labelers.iter().enumerate() {
                args.push(Box::new(w.clone()));
                values.push(format!("({j}, ?{})", args.len()));
            }
            let reps = (0..repetition).map(|k| format!("({k})")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "WITH chosen AS (SELECT s.seq, ROW_NUMBER() OVER (ORDER BY s.seq) - 1 AS i FROM samples s WHERE {filter}),
                      lab(j, worker_id) AS (VALUES {}),
                      rep(k) AS (VALUES {reps})
                 INSERT INTO task_copies (task_id, sample_seq, worker_id, state, version, update_time)
                 SELECT ?{task_arg}, chosen.seq, lab.worker_id, '__NONE__', 0, ?{now_arg}
                 FROM chosen CROSS JOIN rep JOIN lab ON lab.j = (chosen.i * {repetition} + rep.k) % {n}
                 ORDER BY chosen.seq, rep.k",
                values.join(", ")
            );
            let copies = tx.execute(&sql, params_from_iter(args.iter())).map_err(db_err)?;
            tx.execute("UPDATE workforce_tasks SET status = ?1, update_time = ?2 WHERE id = ?3", params![status, now, t]).map_err(db_err)?;
            Ok(copies as u64 / repetition as u64)
        })
        .await
    }

    async fn task_copy_counts(&self, task_id: &str) -> Result<Vec<CopyCount>> {
        let t = task_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT worker_id, state, COUNT(*) FROM task_copies WHERE task_id = ?1 GROUP BY worker_id, state",
            )?;
            let rows = stmt
                .query_map([t], |r| {
                    Ok(CopyCount {
                        worker_id: r.get(0)?,
                        state: r.get(1)?,
                        count: r.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn task_sample_count(&self, task_id: &str) -> Result<u64> {
        let t = task_id.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT COUNT(DISTINCT sample_seq) FROM task_copies WHERE task_id = ?1",
                [t],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .map(|n| n as u64)
    }

    async fn task_label_usage(&self, task_id: &str) -> Result<Vec<LabelUsage>> {
        let t = task_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT cl.label_id, COUNT(*), COUNT(DISTINCT tc.sample_seq)
                 FROM task_copies tc JOIN task_copy_labels cl ON cl.copy_id = tc.id
                 WHERE tc.task_id = ?1 GROUP BY cl.label_id",
            )?;
            let rows = stmt
                .query_map([t], |r| {
                    Ok(LabelUsage {
                        label_id: r.get(0)?,
                        count: r.get::<_, i64>(1)? as u64,
                        sample_count: r.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn load_team_samples(
        &self,
        task_id: &str,
        dataset_id: &str,
        sample_ids: &[String],
    ) -> Result<Vec<TeamSample>> {
        let (t, d, ids) = (task_id.to_string(), dataset_id.to_string(), sample_ids.to_vec());
        self.read(move |c| {
            // One query for the samples and their copies in this task.
            let mut unique: Vec<&str> = Vec::with_capacity(ids.len());
            let mut seen = HashSet::new();
            for id in &ids {
                if seen.insert(id.as_str()) {
                    unique.push(id);
                }
            }
            if unique.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM samples s
                 LEFT JOIN task_copies c ON c.sample_seq = s.seq AND c.task_id = ?1
                 WHERE +s.dataset_id = ?2 AND s.id IN ({}) ORDER BY s.seq, c.worker_id",
                vec!["?"; unique.len()].join(",")
            );
            let mut args: Vec<&dyn ToSql> = vec![&t, &d];
            args.extend(unique.iter().map(|id| id as &dyn ToSql));
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query(args.as_slice())?;
            let mut by_id: HashMap<String, TeamSample> = HashMap::new();
            while let Some(r) = rows.next()? {
                let copy_id: Option<i64> = r.get(16)?;
                let (_, sample) = sample_from_row(r)?;
                let entry = by_id.entry(sample.id.clone()).or_insert_with(|| TeamSample {
                    sample,
                    copies: Vec::new(),
                });
                if copy_id.is_some() {
                    entry.copies.push(copy_from_row(r, 16)?);
                }
            }
            let mut out: Vec<TeamSample> = unique.iter().filter_map(|id| by_id.remove(*id)).collect();
            let mut all: Vec<&mut CopyRecord> = out.iter_mut().flat_map(|s| s.copies.iter_mut()).collect();
            attach_copy_labels(c, &mut all)?;
            Ok(out)
        })
        .await
    }

    async fn find_idempotency(&self, project_id: &str, user_id: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        let (p, u, k) = (project_id.to_string(), user_id.to_string(), key.to_string());
        let live_after = teamlabel_core::clock::now_ms() - IDEMPOTENCY_TTL_MS;
        self.read(move |c| {
            c.query_row(
                "SELECT request_hash, status, response, create_time FROM idempotency_keys
                 WHERE project_id = ?1 AND user_id = ?2 AND idem_key = ?3 AND create_time > ?4",
                params![p, u, k, live_after],
                |r| {
                    let response: String = r.get(2)?;
                    Ok(IdempotencyRecord {
                        project_id: p.clone(),
                        user_id: u.clone(),
                        key: k.clone(),
                        request_hash: r.get(0)?,
                        status: r.get(1)?,
                        response: serde_json::from_str(&response).unwrap_or(Value::Null),
                        create_time: r.get(3)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn write_copies_with(
        &self,
        writes: &[CopyWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        // Everything is serialized here, off the writer thread, which only writes.
        let writes: Vec<(CopyWrite, Option<String>, Vec<LabelRow>)> = writes
            .iter()
            .map(|w| (w.clone(), w.metadata.as_ref().map(map_text), label_rows(&w.labels)))
            .collect();
        let (history, idem) = (history_rows(history), idempotency.cloned());
        self.write(move |tx| {
            let mut bump = tx
                .prepare_cached(
                    "UPDATE task_copies SET state = ?1, version = version + 1, metadata = COALESCE(?2, metadata),
                         sample_usage = COALESCE(?3, sample_usage), update_time = ?4
                     WHERE id = ?5 AND version = ?6",
                )
                .map_err(db_err)?;
            let mut clear = tx.prepare_cached("DELETE FROM task_copy_labels WHERE copy_id = ?1").map_err(db_err)?;
            let mut add = tx
                .prepare_cached(
                    "INSERT INTO task_copy_labels (copy_id, ordinal, label_id, instance_id, property, score, annotated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db_err)?;
            for (w, metadata, labels) in &writes {
                let n = bump
                    .execute(params![w.state, metadata, w.sample_usage, w.update_time, w.copy_id, w.expected_version])
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(version_conflict());
                }
                clear.execute([w.copy_id]).map_err(db_err)?;
                for (i, l) in labels.iter().enumerate() {
                    add.execute(params![w.copy_id, i as i64, l.label_id, l.instance_id, l.property, l.score, l.annotated_by])
                        .map_err(db_err)?;
                }
            }
            insert_history(tx, &history)?;
            match &idem {
                Some(record) => insert_idempotency(tx, record),
                None => Ok(()),
            }
        })
        .await
    }

    async fn list_team_samples(&self, task_id: &str, query: &TeamSampleQuery) -> Result<(u64, Vec<TeamSampleRow>)> {
        let (t, q) = (task_id.to_string(), query.clone());
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(t.clone())];
            let mut filter = String::from("c.task_id = ?1");
            if let Some(w) = &q.worker_id {
                args.push(Box::new(w.clone()));
                filter.push_str(&format!(" AND c.worker_id = ?{}", args.len()));
            }
            if let Some(id) = &q.sample_id {
                args.push(Box::new(id.clone()));
                filter.push_str(&format!(" AND s.id = ?{}", args.len()));
            }
            if let Some(states) = &q.states {
                let mut list = Vec::new();
                for st in states {
                    args.push(Box::new(st.clone()));
                    list.push(format!("?{}", args.len()));
                }
                filter.push_str(&format!(" AND c.state IN ({})", if list.is_empty() { "NULL".to_string() } else { list.join(",") }));
            }
            for group in &q.label_groups {
                filter.push_str(&label_group_clause(group, "task_copy_labels", "copy_id", "c.id"));
            }
            let from = "task_copies c JOIN samples s ON s.seq = c.sample_seq";
            // Every copy has its sample (a foreign key), so the count joins samples only when it
            // filters on them: counting a task's copies alone reads one index.
            let count_from = if q.sample_id.is_some() { from } else { "task_copies c" };
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {count_from} WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let sql = format!(
                "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM {from} WHERE {filter} ORDER BY c.sample_seq, c.worker_id LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows: Vec<(i64, SampleRecord, CopyRecord)> = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    let (seq, sample) = sample_from_row(r)?;
                    Ok((seq, sample, copy_from_row(r, 16)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            {
                let mut copies: Vec<&mut CopyRecord> = rows.iter_mut().map(|(_, _, c)| c).collect();
                attach_copy_labels(c, &mut copies)?;
            }
            let mut labelers_of = c.prepare_cached(
                "SELECT w.id, u.email, w.role FROM task_copies tc JOIN workers w ON w.id = tc.worker_id JOIN users u ON u.id = w.user_id
                 WHERE tc.task_id = ?1 AND tc.sample_seq = ?2 ORDER BY w.id",
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for (seq, sample, copy) in rows {
                let labelers = labelers_of
                    .query_map(params![t, seq], |r| {
                        Ok(Labeler { worker_id: r.get(0)?, email: r.get(1)?, role: Role::from_code(r.get(2)?).ok_or_else(|| bad_row("role"))? })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(TeamSampleRow { sample, copy, labelers });
            }
            Ok((total as u64, out))
        })
        .await
    }

    async fn load_samples(&self, dataset_id: &str, sample_ids: &[String]) -> Result<Vec<SampleRecord>> {
        let (d, ids) = (dataset_id.to_string(), sample_ids.to_vec());
        self.read(move |c| {
            let mut rows = load_samples_by_id(c, &d, &ids)?;
            attach_labels(c, &mut rows)?;
            Ok(rows.into_iter().map(|(_, s)| s).collect())
        })
        .await
    }

    async fn write_samples_with(
        &self,
        writes: &[SampleWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let writes: Vec<(SampleWrite, String, Vec<LabelRow>)> = writes
            .iter()
            .map(|w| (w.clone(), map_text(&w.metadata), label_rows(&w.labels)))
            .collect();
        let (history, idem) = (history_rows(history), idempotency.cloned());
        self.write(move |tx| {
            let mut bump = tx
                .prepare_cached(
                    "UPDATE samples SET status = ?1, version = version + 1, metadata = ?2, sample_usage = COALESCE(?3, sample_usage), update_time = ?4
                     WHERE +dataset_id = ?5 AND id = ?6 AND version = ?7 RETURNING seq",
                )
                .map_err(db_err)?;
            let mut clear = tx.prepare_cached("DELETE FROM sample_labels WHERE sample_seq = ?1").map_err(db_err)?;
            let mut add = tx
                .prepare_cached(
                    "INSERT INTO sample_labels (sample_seq, ordinal, label_id, instance_id, property, score, annotated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db_err)?;
            for (w, metadata, labels) in &writes {
                let seq: Option<i64> = bump
                    .query_row(
                        params![w.status.as_str(), metadata, w.sample_usage, w.update_time, w.dataset_id, w.sample_id, w.expected_version],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db_err)?;
                let Some(seq) = seq else { return Err(version_conflict()) };
                clear.execute([seq]).map_err(db_err)?;
                for (i, l) in labels.iter().enumerate() {
                    add.execute(params![seq, i as i64, l.label_id, l.instance_id, l.property, l.score, l.annotated_by]).map_err(db_err)?;
                }
            }
            insert_history(tx, &history)?;
            match &idem {
                Some(record) => insert_idempotency(tx, record),
                None => Ok(()),
            }
        })
        .await
    }

    async fn list_history(
        &self,
        dataset_id: &str,
        sample_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<HistoryRecord>)> {
        let (d, s) = (dataset_id.to_string(), sample_id.to_string());
        self.read(move |c| {
            let total: i64 = c.query_row("SELECT COUNT(*) FROM annotation_history WHERE dataset_id = ?1 AND sample_id = ?2", params![d, s], |r| r.get(0))?;
            let mut stmt = c.prepare(&format!(
                "SELECT id, dataset_id, sample_id, task_id, worker_id, actor_user_id, actor_email, change_time, state_before, state_after,
                        labels_before, labels_after, version_after
                 FROM annotation_history WHERE dataset_id = ?1 AND sample_id = ?2 ORDER BY id DESC LIMIT {limit} OFFSET {}",
                offset.saturating_mul(limit)
            ))?;
            let rows = stmt
                .query_map(params![d, s], |r| {
                    let before: String = r.get(10)?;
                    let after: String = r.get(11)?;
                    Ok(HistoryRecord {
                        id: r.get(0)?,
                        dataset_id: r.get(1)?,
                        sample_id: r.get(2)?,
                        task_id: r.get(3)?,
                        worker_id: r.get(4)?,
                        actor_user_id: r.get(5)?,
                        actor_email: r.get(6)?,
                        change_time: r.get(7)?,
                        state_before: r.get(8)?,
                        state_after: r.get(9)?,
                        labels_before: serde_json::from_str(&before).unwrap_or(Value::Array(vec![])),
                        labels_after: serde_json::from_str(&after).unwrap_or(Value::Array(vec![])),
                        version_after: r.get(12)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }
}
