//! The embedded default backend: SQLite in one file, WAL mode, `synchronous=FULL`, foreign keys
//! on. One connection writes (behind a mutex, so writes are serialized the way SQLite requires);
//! reads come from a pool of read-only connections and never wait for the writer. All SQLite
//! calls run on blocking threads.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, ToSql};
use serde_json::{Map, Value};

use teamlabel_core::auth::Role;
use teamlabel_core::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use teamlabel_core::error::{codes, Error, Result};
use teamlabel_core::labels::LabelDef;
use teamlabel_core::rules::PlacedLabel;
use teamlabel_core::store::{
    DatasetChange, DatasetQuery, DatasetRecord, DeletedSample, LabelUsage, Project, SampleCounts, SampleQuery,
    SampleRecord, Store, TokenRecord, User,
};

use crate::migrations;

pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: r2d2::Pool<SqliteConnectionManager>,
}

/// Maps a SQLite error: unique violations become the resource's 400, the rest internal.
fn db_err(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("UNIQUE") {
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
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = Connection::open(path)?;
        writer.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;",
        )?;
        migrate(&mut writer)?;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )
            .with_init(|c| {
                c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;")
            });
        let readers = r2d2::Pool::builder().max_size(8).build(manager)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(writer)),
            readers,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The effective `journal_mode` and `synchronous` of the write connection.
    pub fn durability_settings(&self) -> anyhow::Result<Vec<(String, String)>> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| anyhow::anyhow!("writer lock poisoned"))?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        let sync = match sync {
            0 => "OFF",
            1 => "NORMAL",
            2 => "FULL",
            3 => "EXTRA",
            _ => "UNKNOWN",
        };
        Ok(vec![("journal_mode".into(), mode), ("synchronous".into(), sync.into())])
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

    /// Runs `f` in one write transaction: committed if it answers Ok, rolled back otherwise.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer
                .lock()
                .map_err(|_| Error::internal("sqlite writer lock poisoned"))?;
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let out = f(&tx)?;
            tx.commit().map_err(db_err)?;
            Ok(out)
        })
        .await
        .map_err(|e| Error::internal(format!("sqlite write task: {e}")))?
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
                params![version, teamlabel_core::app::now_ms()],
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

fn insert_labels(
    tx: &rusqlite::Transaction<'_>,
    dataset_id: &str,
    labels: &[LabelDef],
    first_position: i64,
) -> Result<()> {
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

const SAMPLE_COLUMNS: &str = "s.seq, s.id, s.dataset_id, s.name, s.sample_type, s.source, s.blob_sha256, s.content_type, s.size, s.text_len, s.metadata, s.sample_usage, s.status, s.sample_time, s.update_time";

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
            labels: Vec::new(),
        },
    ))
}

/// Loads the labels of the given samples (by `seq`) in one query and attaches them.
fn attach_labels(conn: &Connection, rows: &mut [(i64, SampleRecord)]) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let placeholders = vec!["?"; rows.len()].join(",");
    let sql = format!(
        "SELECT sl.sample_seq, sl.label_id, l.name, l.type, sl.instance_id, sl.property, sl.score, sl.annotated_by
         FROM sample_labels sl JOIN labels l ON l.id = sl.label_id
         WHERE sl.sample_seq IN ({placeholders}) ORDER BY sl.sample_seq, sl.ordinal"
    );
    let mut stmt = conn.prepare(&sql)?;
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    let index: HashMap<i64, usize> = seqs.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let mut q = stmt.query(params_from_iter(seqs.iter()))?;
    while let Some(r) = q.next()? {
        let seq: i64 = r.get(0)?;
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
        if let Some(&i) = index.get(&seq) {
            rows[i].1.labels.push(placed);
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
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
            let placeholders = vec!["?"; ids.len()].join(",");
            let mut stmt = c.prepare(&format!(
                "SELECT dataset_id, status, COUNT(*) FROM samples WHERE dataset_id IN ({placeholders}) GROUP BY dataset_id, status"
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
            let mut filter = String::from("s.dataset_id = ?1");
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(id)];
            if let Some(statuses) = &q.statuses {
                let list = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(",");
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
                if group.is_empty() {
                    filter.push_str(" AND 0");
                    continue;
                }
                let ids = group.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
                filter.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = s.seq AND sl.label_id IN ({ids}))"
                ));
            }
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM samples s WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let sql = format!(
                "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE {filter} ORDER BY s.seq {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query_map(params_from_iter(args.iter()), sample_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
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
                            &format!("SELECT {SAMPLE_COLUMNS} FROM samples s WHERE s.dataset_id = ?1 AND s.id = ?2"),
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
                .prepare_cached("DELETE FROM samples WHERE dataset_id = ?1 AND id = ?2 RETURNING id, blob_sha256")
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
}
