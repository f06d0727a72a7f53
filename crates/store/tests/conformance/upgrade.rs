//! Upgrading a database made by the schema before `0010_compact_labels`, on each backend:
//! the old schema is built by applying the earlier migrations as the runners do and filled with
//! raw SQL as the previous server wrote it (per-label rows in `task_copy_labels`, history rows
//! with both label sets), then the store is opened on it, which applies the rest. Every copy
//! must read back with exactly its labels (order, ids, names, types, instance ids, properties,
//! scores, annotators), states and versions; list totals (from the new counters), label
//! statistics, label filters and the history must answer what was stored; and a write after the
//! upgrade must move the labels, the counters and the history as it does on a new database.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};
use teamlabel_api::enums::LabelType;
use teamlabel_core::ids::{new_alnum19, new_hex32};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    CopyRecord, CopyWrite, HistoryRecord, HistoryStep, LabelUsage, Store, TeamSampleQuery, Verdicts,
};
use teamlabel_store::{migrations, PgStore, SqliteStore};

use crate::common::{obj, ACCEPTED, NONE, UNCHECK, UNREVIEWED};

/// The first migration the old server did not have.
const COMPACT_LABELS: &str = "0010_compact_labels";

/// The dataset's labels, by index: a classification label and two detection labels.
const LABELS: [(&str, LabelType); 3] = [
    ("cat", LabelType::ImageClassification),
    ("car", LabelType::ObjectDetection),
    ("person", LabelType::ObjectDetection),
];
const CAT: usize = 0;
const CAR: usize = 1;
const PERSON: usize = 2;

const SAMPLES: usize = 4;
const TIME: i64 = 1_700_000_000_000;

#[tokio::test]
async fn an_upgraded_sqlite_database_reads_every_label_back_unchanged() {
    let old = OldData::new();
    let upgraded = upgraded_sqlite(&old).await;
    check_upgrade(upgraded, &old).await;
}

#[tokio::test]
async fn an_upgraded_postgres_database_reads_every_label_back_unchanged() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipping PostgreSQL: TEST_DATABASE_URL is not set");
        return;
    };
    let old = OldData::new();
    let upgraded = upgraded_postgres(&url, &old).await;
    check_upgrade(upgraded, &old).await;
}

// ---- the old database ----

/// A database at the schema before `0010_compact_labels`, filled and then opened by the store.
struct Upgraded {
    backend: &'static str,
    store: Arc<dyn Store>,
    /// A connection of its own to the same database (and schema).
    db: OldDb,
    /// What the store must answer, with the ids the database gave.
    expected: Expected,
    _dir: Option<tempfile::TempDir>,
}

/// Builds the old SQLite file in a temporary directory, fills it, then opens the store on it.
async fn upgraded_sqlite(old: &OldData) -> Upgraded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let mut db = OldDb::Sqlite(conn);
    db.migrate_before(COMPACT_LABELS).await;
    let expected = old.write(&mut db).await;
    let store = SqliteStore::open(&path).unwrap_or_else(|e| panic!("sqlite: opening the old database: {e:#}"));
    Upgraded {
        backend: "sqlite",
        store: Arc::new(store),
        db,
        expected,
        _dir: Some(dir),
    }
}

/// Builds the old schema in a new PostgreSQL schema of its own, fills it, then connects the
/// store to that schema.
async fn upgraded_postgres(url: &str, old: &OldData) -> Upgraded {
    let schema = format!("upgrade_{}", new_hex32());
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("TEST_DATABASE_URL must reach PostgreSQL");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\""))
        .await
        .unwrap();
    let mut db = OldDb::Postgres(client);
    db.migrate_before(COMPACT_LABELS).await;
    let expected = old.write(&mut db).await;
    let store = PgStore::connect_fresh_schema(url, &schema)
        .await
        .unwrap_or_else(|e| panic!("postgres: opening the old database: {e:#}"));
    Upgraded {
        backend: "postgres",
        store: Arc::new(store),
        db,
        expected,
        _dir: None,
    }
}

/// The migrations of a dialect before `stem`.
fn migrations_before(
    all: &'static [(&'static str, &'static str)],
    stem: &str,
) -> &'static [(&'static str, &'static str)] {
    let at = all
        .iter()
        .position(|(s, _)| *s == stem)
        .unwrap_or_else(|| panic!("no migration {stem}"));
    &all[..at]
}

/// One value of a row written by hand, in the column type of both dialects.
#[derive(Debug, Clone)]
enum Val {
    Text(Option<String>),
    /// BIGINT (and SQLite INTEGER).
    Int(i64),
    /// INTEGER.
    Int4(i32),
    Real(Option<f64>),
    Bool(Option<bool>),
    /// JSONB in PostgreSQL, its text in SQLite.
    Json(Option<Value>),
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_string()))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Val::Text(v.map(str::to_string))
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<i32> for Val {
    fn from(v: i32) -> Self {
        Val::Int4(v)
    }
}
impl From<Option<f64>> for Val {
    fn from(v: Option<f64>) -> Self {
        Val::Real(v)
    }
}
impl From<Option<bool>> for Val {
    fn from(v: Option<bool>) -> Self {
        Val::Bool(v)
    }
}
impl From<Value> for Val {
    fn from(v: Value) -> Self {
        Val::Json(Some(v))
    }
}
impl From<Option<Value>> for Val {
    fn from(v: Option<Value>) -> Self {
        Val::Json(v)
    }
}

/// The columns of one row to insert.
macro_rules! row {
    ($($column:literal => $value:expr),* $(,)?) => {
        vec![$(($column, Val::from($value))),*]
    };
}

/// A plain connection to the database under test, as the previous server's own would be.
enum OldDb {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl OldDb {
    /// Applies the migrations before `stem`, each in its own transaction and recorded in
    /// `schema_migrations` as the store's runner records it.
    async fn migrate_before(&mut self, stem: &str) {
        let now = teamlabel_core::clock::now_ms();
        match self {
            OldDb::Sqlite(conn) => {
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
                )
                .unwrap();
                for (version, sql) in migrations_before(migrations::SQLITE, stem) {
                    let tx = conn.transaction().unwrap();
                    tx.execute_batch(sql)
                        .unwrap_or_else(|e| panic!("sqlite migration {version}: {e}"));
                    tx.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                        rusqlite::params![version, now],
                    )
                    .unwrap();
                    tx.commit().unwrap();
                }
            }
            OldDb::Postgres(client) => {
                client
                    .batch_execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations (
                             version    TEXT PRIMARY KEY,
                             applied_at BIGINT NOT NULL
                         )",
                    )
                    .await
                    .unwrap();
                for (version, sql) in migrations_before(migrations::POSTGRES, stem) {
                    let tx = client.transaction().await.unwrap();
                    tx.batch_execute(sql)
                        .await
                        .unwrap_or_else(|e| panic!("postgres migration {version}: {e}"));
                    tx.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                        &[version, &now],
                    )
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                }
            }
        }
    }

    /// The migrations recorded, in name order.
    async fn applied(&mut self) -> Vec<String> {
        let sql = "SELECT version FROM schema_migrations ORDER BY version";
        match self {
            OldDb::Sqlite(conn) => {
                let mut stmt = conn.prepare(sql).unwrap();
                let rows = stmt.query_map([], |r| r.get(0)).unwrap();
                rows.collect::<rusqlite::Result<Vec<String>>>().unwrap()
            }
            OldDb::Postgres(client) => client.query(sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect(),
        }
    }

    /// Inserts one row; answers the generated `id` column when `returning` names it.
    async fn insert(&mut self, table: &str, row: Vec<(&str, Val)>, returning: Option<&str>) -> Option<i64> {
        let columns: Vec<&str> = row.iter().map(|(c, _)| *c).collect();
        let tail = returning.map(|c| format!(" RETURNING {c}")).unwrap_or_default();
        match self {
            OldDb::Sqlite(conn) => {
                use rusqlite::types::Value as Sql;
                let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({}){tail}",
                    columns.join(", "),
                    marks.join(", ")
                );
                let values: Vec<Sql> = row
                    .into_iter()
                    .map(|(_, v)| match v {
                        Val::Text(t) => t.map_or(Sql::Null, Sql::Text),
                        Val::Int(i) => Sql::Integer(i),
                        Val::Int4(i) => Sql::Integer(i.into()),
                        Val::Real(r) => r.map_or(Sql::Null, Sql::Real),
                        Val::Bool(b) => b.map_or(Sql::Null, |b| Sql::Integer(b.into())),
                        Val::Json(j) => j.map_or(Sql::Null, |j| Sql::Text(j.to_string())),
                    })
                    .collect();
                let params = rusqlite::params_from_iter(values);
                let inserted = match returning {
                    Some(_) => conn.query_row(&sql, params, |r| r.get(0)).map(Some),
                    None => conn.execute(&sql, params).map(|_| None),
                };
                inserted.unwrap_or_else(|e| panic!("sqlite: {sql}: {e}"))
            }
            OldDb::Postgres(client) => {
                use tokio_postgres::types::{Json, ToSql};
                let marks: Vec<String> = (1..=row.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({}){tail}",
                    columns.join(", "),
                    marks.join(", ")
                );
                let values: Vec<Box<dyn ToSql + Sync + Send>> = row
                    .into_iter()
                    .map(|(_, v)| -> Box<dyn ToSql + Sync + Send> {
                        match v {
                            Val::Text(t) => Box::new(t),
                            Val::Int(i) => Box::new(i),
                            Val::Int4(i) => Box::new(i),
                            Val::Real(r) => Box::new(r),
                            Val::Bool(b) => Box::new(b),
                            Val::Json(j) => Box::new(j.map(Json)),
                        }
                    })
                    .collect();
                let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref() as _).collect();
                let rows = client
                    .query(&sql, &params)
                    .await
                    .unwrap_or_else(|e| panic!("postgres: {sql}: {e}"));
                returning.map(|_| rows[0].get(0))
            }
        }
    }
}

/// One label placed on a copy by the previous server, its label named by index in `LABELS`.
#[derive(Debug, Clone)]
struct OldLabel {
    label: usize,
    instance_id: Option<&'static str>,
    property: Value,
    score: Option<f64>,
    annotated_by: Option<&'static str>,
}

impl OldLabel {
    fn placed(&self, label_ids: &[i64]) -> PlacedLabel {
        let (name, label_type) = LABELS[self.label];
        PlacedLabel {
            label_id: label_ids[self.label],
            name: name.into(),
            label_type,
            instance_id: self.instance_id.map(str::to_string),
            property: obj(self.property.clone()),
            score: self.score,
            annotated_by: self.annotated_by.map(str::to_string),
        }
    }
}

fn old_label(
    label: usize,
    instance_id: Option<&'static str>,
    property: Value,
    score: Option<f64>,
    annotated_by: Option<&'static str>,
) -> OldLabel {
    OldLabel {
        label,
        instance_id,
        property,
        score,
        annotated_by,
    }
}

/// One member's copy of one sample, as the previous server stored it.
#[derive(Debug, Clone)]
struct OldCopy {
    sample: usize,
    worker: usize,
    state: &'static str,
    version: i64,
    /// In placement order (the `ordinal` of their rows).
    labels: Vec<OldLabel>,
    metadata: Option<Value>,
    sample_usage: Option<&'static str>,
    review: Option<(bool, &'static str)>,
    update_time: i64,
}

fn copy(sample: usize, worker: usize, state: &'static str, version: i64, labels: Vec<OldLabel>) -> OldCopy {
    OldCopy {
        sample,
        worker,
        state,
        version,
        labels,
        metadata: None,
        sample_usage: None,
        review: None,
        update_time: TIME + 100 * version,
    }
}

/// What the previous server stored: a project with an owner, a dataset with three labels and
/// four samples, one team of two labelers, one task over every sample for both, their copies,
/// and the history of sample 0.
struct OldData {
    project_id: String,
    owner: (String, String),
    /// (user id, email, worker id) of each labeler.
    labelers: Vec<(String, String, String)>,
    workforce_id: String,
    dataset_id: String,
    task_id: String,
    sample_ids: Vec<String>,
    copies: Vec<OldCopy>,
}

/// What the store must answer after the upgrade.
#[derive(Debug, Clone)]
struct Expected {
    label_ids: Vec<i64>,
    /// Each copy with the index of its sample, by sample and then member id.
    copies: Vec<(usize, CopyRecord)>,
    /// The history of sample 0, oldest first.
    history: Vec<HistoryRecord>,
}

impl OldData {
    fn new() -> Self {
        let labelers = (0..2)
            .map(|j| {
                (
                    new_hex32(),
                    format!("labeler{j}-{}@example.com", new_hex32()),
                    new_hex32(),
                )
            })
            .collect();
        let boxed = json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2], [3, 4]]});
        let copies = vec![
            // Three labels, none in label id order; a polygon with floats and nesting; unicode.
            OldCopy {
                metadata: Some(json!({"@modelarts:size": [640, 480, 3], "note": "première"})),
                sample_usage: Some("TRAIN"),
                ..copy(
                    0,
                    0,
                    UNCHECK,
                    3,
                    vec![
                        old_label(PERSON, Some("p-1"), boxed.clone(), Some(0.75), Some("human")),
                        old_label(
                            CAT,
                            None,
                            json!({"@modelarts:hard": "1", "note": "chat noir — ünïcødé 猫 \"quoted\" \\ back"}),
                            None,
                            None,
                        ),
                        old_label(
                            CAR,
                            Some("c-1"),
                            json!({
                                "@modelarts:shape": "polygon",
                                "@modelarts:feature": [[0.5, 1.25], [3, 4], [5.75, 6.125]],
                                "@modelarts:occluded": true,
                                "nested": {"a": [null, false, {"b": -0.0015}], "empty": {}, "list": []},
                                "numbers": {
                                    "precise": 0.30000000000000004,
                                    "big": 12345678901234567890_u64,
                                    "tiny": 1e-7,
                                    "huge": 1.5e300
                                }
                            }),
                            // A model's score: all 17 significant digits must come back.
                            Some(1.0 / 3.0),
                            Some("auto"),
                        ),
                    ],
                )
            },
            // The same label placed twice; reviewed.
            OldCopy {
                review: Some((true, "both cars")),
                metadata: Some(json!({"k": 1})),
                ..copy(
                    0,
                    1,
                    ACCEPTED,
                    5,
                    vec![
                        old_label(CAR, Some("c-2"), boxed.clone(), Some(0.5), Some("human")),
                        old_label(
                            CAR,
                            Some("c-3"),
                            json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[5, 6], [7, 8]]}),
                            Some(0.25),
                            Some("human"),
                        ),
                    ],
                )
            },
            // No labels.
            copy(1, 0, NONE, 0, vec![]),
            copy(1, 1, UNREVIEWED, 1, vec![old_label(CAT, None, json!({}), None, None)]),
            copy(
                2,
                0,
                UNREVIEWED,
                2,
                vec![
                    old_label(PERSON, Some("p-2"), boxed.clone(), Some(0.75), Some("human")),
                    old_label(CAR, Some("c-4"), boxed, None, Some("human")),
                ],
            ),
            copy(
                2,
                1,
                UNCHECK,
                1,
                vec![old_label(CAT, None, json!({"x": 1.5}), Some(1.0), None)],
            ),
            copy(
                3,
                0,
                ACCEPTED,
                2,
                vec![old_label(
                    PERSON,
                    Some("p-3"),
                    json!({"@modelarts:shape": "circle", "@modelarts:feature": [[10, 10], [5]]}),
                    Some(0.625),
                    Some("human"),
                )],
            ),
            copy(3, 1, NONE, 0, vec![]),
        ];
        OldData {
            project_id: new_hex32(),
            owner: (new_hex32(), format!("owner-{}@example.com", new_hex32())),
            labelers,
            workforce_id: new_alnum19(),
            dataset_id: new_alnum19(),
            task_id: new_alnum19(),
            sample_ids: (0..SAMPLES).map(|_| new_hex32()).collect(),
            copies,
        }
    }

    fn worker_id(&self, worker: usize) -> &str {
        &self.labelers[worker].2
    }

    /// The history of sample 0 the previous server wrote, oldest first: a label write, a
    /// review of the other member's copy, the accepted labels written to the dataset, and a
    /// second label write whose labels after are the copy's labels now.
    fn history(&self, label_ids: &[i64]) -> Vec<HistoryRecord> {
        let labels_of = |sample: usize, worker: usize| -> Vec<PlacedLabel> {
            let c = self
                .copies
                .iter()
                .find(|c| (c.sample, c.worker) == (sample, worker))
                .unwrap();
            c.labels.iter().map(|l| l.placed(label_ids)).collect()
        };
        let first =
            vec![old_label(CAT, None, json!({"@modelarts:hard": "1"}), Some(0.5), Some("human")).placed(label_ids)];
        let (w0, w1) = (self.worker_id(0), self.worker_id(1));
        let row = |worker: Option<&str>, actor: &(String, String), time: i64, states: (&str, &str)| HistoryRecord {
            id: 0,
            dataset_id: self.dataset_id.clone(),
            sample_id: self.sample_ids[0].clone(),
            task_id: Some(self.task_id.clone()),
            worker_id: worker.map(str::to_string),
            actor_user_id: actor.0.clone(),
            actor_email: actor.1.clone(),
            change_time: time,
            state_before: states.0.into(),
            state_after: states.1.into(),
            labels_before: api_text(&[]),
            labels_after: api_text(&[]),
            version_after: 0,
            step: HistoryStep::default(),
            copy_id: None,
        };
        let labeler = |w: usize| (self.labelers[w].0.clone(), self.labelers[w].1.clone());
        vec![
            HistoryRecord {
                labels_after: api_text(&first),
                version_after: 1,
                ..row(Some(w0), &labeler(0), TIME + 10, (NONE, UNREVIEWED))
            },
            HistoryRecord {
                labels_before: api_text(&labels_of(0, 1)),
                labels_after: api_text(&labels_of(0, 1)),
                version_after: 5,
                step: HistoryStep {
                    event: "review".into(),
                    comment: Some("both cars".into()),
                    from_workers: vec![],
                },
                ..row(Some(w1), &self.owner, TIME + 20, (UNREVIEWED, ACCEPTED))
            },
            HistoryRecord {
                labels_after: api_text(&labels_of(0, 1)),
                version_after: 1,
                step: HistoryStep {
                    event: "sync".into(),
                    comment: None,
                    from_workers: vec![w1.to_string()],
                },
                ..row(None, &self.owner, TIME + 30, ("UN_ANNOTATION", "MANUAL_ANNOTATION"))
            },
            HistoryRecord {
                labels_before: api_text(&first),
                labels_after: api_text(&labels_of(0, 0)),
                version_after: 3,
                ..row(Some(w0), &labeler(0), TIME + 40, (UNREVIEWED, UNCHECK))
            },
        ]
    }

    /// Writes everything with plain SQL, as the previous server did, and answers what the
    /// store must read back.
    async fn write(&self, db: &mut OldDb) -> Expected {
        let (owner_id, owner_email) = &self.owner;
        db.insert(
            "projects",
            row! {"id" => &self.project_id, "name" => "old project", "create_time" => TIME},
            None,
        )
        .await;
        let users = std::iter::once((owner_id, owner_email, 3_i32))
            .chain(self.labelers.iter().map(|(id, email, _)| (id, email, 0_i32)));
        for (id, email, role) in users {
            db.insert(
                "users",
                row! {"id" => id, "project_id" => &self.project_id, "email" => email, "role" => role, "create_time" => TIME},
                None,
            )
            .await;
        }
        db.insert(
            "datasets",
            row! {
                "id" => &self.dataset_id, "project_id" => &self.project_id, "name" => "old dataset",
                "dataset_type" => 900_i32, "data_sources" => json!([{"data_type": 0, "data_path": "/b/in/"}]),
                "work_path" => Some("/b/out/"), "create_time" => TIME, "update_time" => TIME,
            },
            None,
        )
        .await;
        let mut label_ids = Vec::new();
        for (position, (name, label_type)) in LABELS.iter().enumerate() {
            let id = db
                .insert(
                    "labels",
                    row! {
                        "dataset_id" => &self.dataset_id, "name" => *name, "type" => label_type.code(),
                        "property" => json!({"@modelarts:color": "#3399ff"}), "position" => position as i32,
                    },
                    Some("id"),
                )
                .await
                .unwrap();
            label_ids.push(id);
        }
        let mut seqs = Vec::new();
        for (i, id) in self.sample_ids.iter().enumerate() {
            let labeled = self.copies.iter().any(|c| c.sample == i && !c.labels.is_empty());
            let seq = db
                .insert(
                    "samples",
                    row! {
                        "id" => id, "dataset_id" => &self.dataset_id, "name" => format!("{i}.jpg").as_str(),
                        "sample_type" => 0_i32, "blob_sha256" => Some(new_hex32().as_str()),
                        "content_type" => Some("image/jpeg"), "size" => 1234_i64,
                        "metadata" => json!({"@modelarts:size": [640, 480, 3]}),
                        "status" => if labeled { "MANUAL_ANNOTATION" } else { "UN_ANNOTATION" },
                        "sample_time" => TIME, "update_time" => TIME, "version" => i as i64,
                    },
                    Some("seq"),
                )
                .await
                .unwrap();
            seqs.push(seq);
        }
        db.insert(
            "workforces",
            row! {
                "id" => &self.workforce_id, "project_id" => &self.project_id, "name" => "old team",
                "create_time" => TIME, "update_time" => TIME,
            },
            None,
        )
        .await;
        for (user_id, _, worker_id) in &self.labelers {
            db.insert(
                "workers",
                row! {
                    "id" => worker_id, "workforce_id" => &self.workforce_id, "user_id" => user_id, "role" => 0_i32,
                    "create_time" => TIME, "update_time" => TIME,
                },
                None,
            )
            .await;
        }
        let config = json!({"workforces": [{
            "workforce_id": self.workforce_id,
            "workers": self.labelers.iter().map(|l| json!({"worker_id": l.2})).collect::<Vec<_>>(),
        }]});
        db.insert(
            "workforce_tasks",
            row! {
                "id" => &self.task_id, "dataset_id" => &self.dataset_id, "name" => "old task", "status" => 1_i32,
                "repetition" => 2_i32, "workforces_config" => config, "create_time" => TIME, "update_time" => TIME,
            },
            None,
        )
        .await;
        for (_, _, worker_id) in &self.labelers {
            db.insert(
                "task_workers",
                row! {"task_id" => &self.task_id, "worker_id" => worker_id},
                None,
            )
            .await;
        }

        let mut copies = Vec::new();
        for c in &self.copies {
            let (accept, comment) = match c.review {
                Some((accept, comment)) => (Some(accept), Some(comment)),
                None => (None, None),
            };
            let id = db
                .insert(
                    "task_copies",
                    row! {
                        "task_id" => &self.task_id, "sample_seq" => seqs[c.sample], "worker_id" => self.worker_id(c.worker),
                        "state" => c.state, "version" => c.version, "metadata" => c.metadata.clone(),
                        "sample_usage" => c.sample_usage, "review_accept" => accept, "review_comment" => comment,
                        "update_time" => c.update_time,
                    },
                    Some("id"),
                )
                .await
                .unwrap();
            // The rows go in last placement first: the order read back must be the ordinals'.
            for (ordinal, l) in c.labels.iter().enumerate().rev() {
                db.insert(
                    "task_copy_labels",
                    row! {
                        "copy_id" => id, "ordinal" => ordinal as i32, "label_id" => label_ids[l.label],
                        "instance_id" => l.instance_id, "property" => l.property.clone(), "score" => l.score,
                        "annotated_by" => l.annotated_by,
                    },
                    None,
                )
                .await;
            }
            let record = CopyRecord {
                id,
                worker_id: self.worker_id(c.worker).to_string(),
                state: c.state.into(),
                version: c.version,
                labels: c.labels.iter().map(|l| l.placed(&label_ids)).collect(),
                metadata: c.metadata.clone().map(obj),
                sample_usage: c.sample_usage.map(str::to_string),
                update_time: c.update_time,
                verdicts: Verdicts {
                    review_accept: accept,
                    review_comment: comment.map(str::to_string),
                    ..Verdicts::default()
                },
                round_id: None,
            };
            copies.push((c.sample, record));
        }
        copies.sort_by(|(a, x), (b, y)| (a, &x.worker_id).cmp(&(b, &y.worker_id)));

        let history = self.history(&label_ids);
        for h in &history {
            let from_workers = (!h.step.from_workers.is_empty()).then(|| json!(h.step.from_workers));
            db.insert(
                "annotation_history",
                row! {
                    "dataset_id" => &h.dataset_id, "sample_id" => &h.sample_id, "task_id" => h.task_id.as_deref(),
                    "worker_id" => h.worker_id.as_deref(), "actor_user_id" => &h.actor_user_id,
                    "actor_email" => &h.actor_email, "change_time" => h.change_time,
                    "state_before" => &h.state_before, "state_after" => &h.state_after,
                    "labels_before" => parse(&h.labels_before), "labels_after" => parse(&h.labels_after),
                    "version_after" => h.version_after, "event" => &h.step.event,
                    "comment" => h.step.comment.as_deref(), "from_workers" => from_workers,
                },
                None,
            )
            .await;
        }
        Expected {
            label_ids,
            copies,
            history,
        }
    }
}

/// The JSON text of labels in their API form, as history rows hold them.
fn api_text(labels: &[PlacedLabel]) -> String {
    Value::Array(
        labels
            .iter()
            .map(|l| serde_json::to_value(l.to_api()).unwrap())
            .collect(),
    )
    .to_string()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// ---- the checks ----

/// Reads the upgraded database back, writes one copy through the store, and reads again.
async fn check_upgrade(u: Upgraded, old: &OldData) {
    let Upgraded {
        backend,
        store,
        mut db,
        mut expected,
        _dir,
    } = u;
    let s = store.as_ref();
    // Both dialects have the same stems, in name order.
    let every: Vec<String> = migrations::SQLITE.iter().map(|(stem, _)| stem.to_string()).collect();
    assert_eq!(db.applied().await, every, "{backend}: every migration recorded once");

    check_reads(backend, s, old, &expected, "as upgraded").await;

    // A labeler rewrites the copy with three labels: other labels, another state.
    let at = expected
        .copies
        .iter()
        .position(|(sample, c)| *sample == 0 && c.worker_id == old.worker_id(0))
        .unwrap();
    let before = expected.copies[at].1.clone();
    let ids = &expected.label_ids;
    let labels = vec![
        old_label(
            CAR,
            Some("c-9"),
            json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[10, 20], [30, 40.5]]}),
            Some(0.5),
            Some("human"),
        )
        .placed(ids),
        old_label(CAT, None, json!({"note": "réécrit"}), None, None).placed(ids),
    ];
    let write = CopyWrite {
        copy_id: before.id,
        expected_version: before.version,
        labels: labels.clone(),
        metadata: None,
        sample_usage: None,
        state: UNREVIEWED.into(),
        update_time: TIME + 1000,
    };
    let h = HistoryRecord {
        id: 0,
        dataset_id: old.dataset_id.clone(),
        sample_id: old.sample_ids[0].clone(),
        task_id: Some(old.task_id.clone()),
        worker_id: Some(before.worker_id.clone()),
        actor_user_id: old.labelers[0].0.clone(),
        actor_email: old.labelers[0].1.clone(),
        change_time: TIME + 1000,
        state_before: before.state.clone(),
        state_after: UNREVIEWED.into(),
        labels_before: api_text(&before.labels),
        labels_after: api_text(&labels),
        version_after: before.version + 1,
        step: HistoryStep::default(),
        // Left to the store to find, as a writer that does not know the copy would.
        copy_id: None,
    };
    s.write_copies(&[write], std::slice::from_ref(&h))
        .await
        .unwrap_or_else(|e| panic!("{backend}: writing a copy after the upgrade: {e}"));
    expected.copies[at].1 = CopyRecord {
        state: UNREVIEWED.into(),
        version: before.version + 1,
        labels,
        update_time: TIME + 1000,
        ..before
    };
    expected.history.push(h);

    check_reads(backend, s, old, &expected, "after a write").await;
}

/// Every read of the task and of sample 0's history against what is expected.
async fn check_reads(backend: &str, s: &dyn Store, old: &OldData, expected: &Expected, when: &str) {
    let task = old.task_id.as_str();
    let by_id: BTreeMap<i64, &CopyRecord> = expected.copies.iter().map(|(_, c)| (c.id, c)).collect();

    // Each copy with exactly its labels, state, version and the rest.
    let loaded = s
        .load_team_samples(task, &old.dataset_id, &old.sample_ids)
        .await
        .unwrap();
    let got_ids: Vec<&str> = loaded.iter().map(|t| t.sample.id.as_str()).collect();
    assert_eq!(got_ids, old.sample_ids, "{backend} {when}: the samples");
    for (i, team_sample) in loaded.iter().enumerate() {
        let want: Vec<&CopyRecord> = expected
            .copies
            .iter()
            .filter(|(x, _)| *x == i)
            .map(|(_, c)| c)
            .collect();
        assert_eq!(
            team_sample.copies.len(),
            want.len(),
            "{backend} {when}: copies of sample {i}"
        );
        for (got, want) in team_sample.copies.iter().zip(want) {
            let which = format!("{backend} {when}: sample {i}, copy {} of {}", want.id, want.worker_id);
            assert_eq!(got.labels.len(), want.labels.len(), "{which}: labels {:#?}", got.labels);
            for (k, (got, want)) in got.labels.iter().zip(&want.labels).enumerate() {
                assert_eq!(got, want, "{which}: label {k}");
            }
            assert_eq!(got, want, "{which}");
        }
    }

    // List totals (from the counters) by member and state, and the rows they count.
    let mut workers: Vec<Option<String>> = old.labelers.iter().map(|l| Some(l.2.clone())).collect();
    workers.push(None);
    let state_sets: [Option<&[&str]>; 5] = [
        None,
        Some(&[UNCHECK]),
        Some(&[UNREVIEWED]),
        Some(&[NONE, ACCEPTED]),
        Some(&[UNCHECK, UNREVIEWED]),
    ];
    for worker_id in &workers {
        for states in state_sets {
            let query = TeamSampleQuery {
                limit: 100,
                worker_id: worker_id.clone(),
                states: states.map(|set| set.iter().map(|x| x.to_string()).collect()),
                ..TeamSampleQuery::default()
            };
            let want: Vec<&CopyRecord> = expected
                .copies
                .iter()
                .map(|(_, c)| c)
                .filter(|c| worker_id.as_ref().is_none_or(|w| *w == c.worker_id))
                .filter(|c| states.is_none_or(|set| set.contains(&c.state.as_str())))
                .collect();
            let (total, rows) = s.list_team_samples(task, &query).await.unwrap();
            let which = format!("{backend} {when}: member {worker_id:?}, states {states:?}");
            assert_eq!(total, want.len() as u64, "{which}: total");
            let got: Vec<&CopyRecord> = rows.iter().map(|r| &r.copy).collect();
            assert_eq!(got, want, "{which}: rows");
        }
    }

    // Label statistics: placements and samples per label.
    let mut usage: BTreeMap<i64, (u64, Vec<usize>)> = BTreeMap::new();
    for (sample, c) in &expected.copies {
        for l in &c.labels {
            let entry = usage.entry(l.label_id).or_default();
            entry.0 += 1;
            if !entry.1.contains(sample) {
                entry.1.push(*sample);
            }
        }
    }
    let want: Vec<LabelUsage> = usage
        .into_iter()
        .map(|(label_id, (count, samples))| LabelUsage {
            label_id,
            count,
            sample_count: samples.len() as u64,
        })
        .collect();
    let mut got = s.task_label_usage(task).await.unwrap();
    got.sort_by_key(|u| u.label_id);
    assert_eq!(got, want, "{backend} {when}: label usage of the task");

    // The label filter lists exactly the copies that place the label.
    for (index, label_id) in expected.label_ids.iter().enumerate() {
        let query = TeamSampleQuery {
            limit: 100,
            label_groups: vec![vec![*label_id]],
            ..TeamSampleQuery::default()
        };
        let want: Vec<i64> = expected
            .copies
            .iter()
            .filter(|(_, c)| c.labels.iter().any(|l| l.label_id == *label_id))
            .map(|(_, c)| c.id)
            .collect();
        let (total, rows) = s.list_team_samples(task, &query).await.unwrap();
        let which = format!("{backend} {when}: copies placing {}", LABELS[index].0);
        assert_eq!(total, want.len() as u64, "{which}: total");
        assert_eq!(rows.iter().map(|r| r.copy.id).collect::<Vec<_>>(), want, "{which}");
        for r in &rows {
            assert_eq!(&r.copy, by_id[&r.copy.id], "{which}: copy {}", r.copy.id);
        }
    }

    // The history of sample 0, newest first, with both label sets.
    let (total, rows) = s
        .list_history(&old.dataset_id, &old.sample_ids[0], 0, 100)
        .await
        .unwrap();
    assert_eq!(total, expected.history.len() as u64, "{backend} {when}: history total");
    assert_eq!(rows.len(), expected.history.len(), "{backend} {when}: history rows");
    assert!(
        rows.windows(2).all(|w| w[0].id > w[1].id),
        "{backend} {when}: history newest first"
    );
    for (got, want) in rows.iter().zip(expected.history.iter().rev()) {
        let which = format!("{backend} {when}: history row {} ({})", got.id, want.step.event);
        assert_eq!(
            parse(&got.labels_before),
            parse(&want.labels_before),
            "{which}: labels before"
        );
        assert_eq!(
            parse(&got.labels_after),
            parse(&want.labels_after),
            "{which}: labels after"
        );
        let without_labels = |h: &HistoryRecord| HistoryRecord {
            id: 0,
            labels_before: String::new(),
            labels_after: String::new(),
            ..h.clone()
        };
        assert_eq!(without_labels(got), without_labels(want), "{which}");
    }
}
