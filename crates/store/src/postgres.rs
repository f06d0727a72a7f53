//! The PostgreSQL backend. `PgStore` owns a deadpool-postgres connection pool, the migration
//! runner of the PostgreSQL dialect (`schema_migrations`, serialized across servers by an
//! advisory lock) and the SQL behind every `Store` method. JSON columns are JSONB; dataset,
//! sample and label types are stored as their documented integers, sample states as their text
//! names. The semantics match `SqliteStore`: one conformance suite runs against both.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use serde_json::{Map, Value};
use teamlabel_core::clock::now_ms;
use teamlabel_core::datasets::labels::{LabelAttribute, LabelDef};
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
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Json, ToSql};
use tokio_postgres::{IsolationLevel, NoTls, Row};

/// Key of the advisory lock that serializes migrations between servers starting at once.
const MIGRATION_LOCK: i64 = 7245110;
/// Most connections one server holds.
const MAX_CONNECTIONS: usize = 16;

const DATASETS_NAME_KEY: &str = "datasets_project_id_name_key";
const LABELS_NAME_KEY: &str = "labels_dataset_id_name_type_key";
const SAMPLES_NAME_KEY: &str = "samples_dataset_id_name_key";

const DATASET_COLUMNS: &str = "id, project_id, name, dataset_type, description, data_sources, \
     work_path, work_path_type, data_format, workspace_id, import_annotations, label_format, \
     status, create_time, update_time";

const SAMPLE_COLUMNS: &str = "s.seq, s.id, s.dataset_id, s.name, s.sample_type, s.source, \
     s.blob_sha256, s.content_type, s.size, s.text_len, s.metadata, s.sample_usage, s.status, \
     s.sample_time, s.update_time, s.version";

/// The PostgreSQL store: a pool of at most 16 connections to one database (and schema).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies the migrations not yet
    /// applied.
    pub async fn connect(url: &str) -> anyhow::Result<PgStore> {
        let store = PgStore {
            pool: build_pool(pg_config(url)?)?,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// For tests: like `connect`, but every connection works in `schema` (created if missing),
    /// so each test gets its own empty namespace in one database. `schema` is letters, digits
    /// and `_`.
    pub async fn connect_fresh_schema(url: &str, schema: &str) -> anyhow::Result<PgStore> {
        check_schema_name(schema)?;
        let mut config = pg_config(url)?;
        let search_path = format!("-c search_path=\"{schema}\"");
        let options = match config.get_options() {
            Some(given) if !given.is_empty() => format!("{given} {search_path}"),
            _ => search_path,
        };
        config.options(options);
        let store = PgStore {
            pool: build_pool(config)?,
        };
        {
            let client = store.pool.get().await.context("connecting to PostgreSQL")?;
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await
                .with_context(|| format!("creating schema {schema}"))?;
        }
        store.migrate().await?;
        Ok(store)
    }

    /// The server's durability settings (`fsync`, `synchronous_commit`, `full_page_writes`),
    /// for the startup log and the operator.
    pub async fn read_durability(&self) -> anyhow::Result<Vec<(String, String)>> {
        let client = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut settings = Vec::new();
        for name in ["fsync", "synchronous_commit", "full_page_writes"] {
            let row = client
                .query_one(&format!("SHOW {name}"), &[])
                .await
                .with_context(|| format!("SHOW {name}"))?;
            let value: String = row.try_get(0).with_context(|| format!("SHOW {name}"))?;
            settings.push((name.to_string(), value));
        }
        Ok(settings)
    }

    /// Applies each migration not yet recorded in `schema_migrations`, one transaction per
    /// migration, each holding the migration advisory lock.
    async fn migrate(&self) -> anyhow::Result<()> {
        let mut client = self.pool.get().await.context("connecting to PostgreSQL")?;
        for (version, sql) in crate::migrations::POSTGRES {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .context("taking the migration lock")?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version    TEXT PRIMARY KEY,
                     applied_at BIGINT NOT NULL
                 )",
            )
            .await
            .context("creating schema_migrations")?;
            let applied = tx
                .query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[version])
                .await
                .context("reading schema_migrations")?
                .is_some();
            if !applied {
                tx.batch_execute(sql)
                    .await
                    .with_context(|| format!("applying migration {version}"))?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[version, &now_ms()],
                )
                .await
                .with_context(|| format!("recording migration {version}"))?;
                tracing::info!(migration = version, "applied PostgreSQL migration");
            }
            tx.commit().await?;
        }
        Ok(())
    }

    async fn client(&self) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| Error::unavailable(format!("PostgreSQL connection pool: {e}")))
    }

    /// Runs a count query (answering `total`, with the first `count_params` parameters) and a
    /// page query over one snapshot.
    async fn count_and_page(
        &self,
        count_sql: &str,
        page_sql: &str,
        params: &Params,
        count_params: usize,
        what: &'static str,
    ) -> Result<(u64, Vec<Row>)> {
        let mut client = self.client().await?;
        let tx = read_snapshot(&mut client).await?;
        let refs = params.refs();
        let total_row = tx
            .query_one(count_sql, &refs[..count_params])
            .await
            .map_err(sql(what))?;
        let rows = tx.query(page_sql, &refs).await.map_err(sql(what))?;
        tx.commit().await.map_err(sql(what))?;
        Ok((count(col(&total_row, "total")?), rows))
    }

    /// The first of `samples` whose name is already taken in its dataset, for the message of a
    /// unique violation.
    async fn taken_sample_name(&self, samples: &[SampleRecord]) -> Option<String> {
        let client = self.client().await.ok()?;
        let dataset_ids: Vec<&str> = samples.iter().map(|s| s.dataset_id.as_str()).collect();
        let names: Vec<&str> = samples.iter().map(|s| s.name.as_str()).collect();
        let row = client
            .query_opt(
                "SELECT s.name
                 FROM samples s
                 JOIN UNNEST($1::text[], $2::text[]) AS b(dataset_id, name)
                   ON s.dataset_id = b.dataset_id AND s.name = b.name
                 LIMIT 1",
                &[&dataset_ids, &names],
            )
            .await
            .ok()??;
        row.try_get("name").ok()
    }
}

fn pg_config(url: &str) -> anyhow::Result<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .with_context(|| format!("invalid PostgreSQL URL {}", crate::redact(url)))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("teamlabel");
    }
    Ok(config)
}

fn build_pool(config: tokio_postgres::Config) -> anyhow::Result<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(MAX_CONNECTIONS)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(10)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .context("building the PostgreSQL connection pool")
}

fn check_schema_name(schema: &str) -> anyhow::Result<()> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    anyhow::ensure!(
        valid,
        "schema name {schema:?} must be 1 to 63 letters, digits and _, not starting with a digit"
    );
    Ok(())
}

// ---- errors ----

/// Maps a database error: a lost or refused connection is `Unavailable`, anything else
/// `Internal` (logged by the caller, never shown).
fn db_err(context: &str, e: &tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let message = format!("{context}: {db}");
            // 08: connection exception; 57P: operator intervention; 53300: too many connections.
            if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                Error::unavailable(message)
            } else {
                Error::internal(message)
            }
        }
        None => {
            let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
            if e.is_closed() || io {
                Error::unavailable(format!("{context}: {e}"))
            } else {
                Error::internal(format!("{context}: {e}"))
            }
        }
    }
}

/// `map_err` adapter for `db_err`.
fn sql(context: &'static str) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| db_err(context, &e)
}

fn is_unique_violation(e: &tokio_postgres::Error, constraint: &str) -> bool {
    e.as_db_error()
        .is_some_and(|db| *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint() == Some(constraint))
}

fn dataset_exists(name: &str) -> Error {
    Error::bad_request(codes::DATASET_EXISTS, format!("Dataset already exists: {name}"))
}

fn label_exists(label: &LabelDef) -> Error {
    Error::bad_request(
        codes::LABEL_EXISTS,
        format!(
            "Label already exists: {:?} of type {}",
            label.name,
            label.label_type.code()
        ),
    )
}

fn sample_exists(name: Option<&str>) -> Error {
    let message = match name {
        Some(name) => format!("Sample already exists: {name}"),
        None => "Sample already exists".to_string(),
    };
    Error::bad_request(codes::SAMPLE_EXISTS, message)
}

// ---- rows ----

fn col<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> Result<T> {
    row.try_get(name)
        .map_err(|e| Error::internal(format!("reading column {name}: {e}")))
}

fn json_object(value: Value, what: &str) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Error::internal(format!("stored {what} is not a JSON object: {other}"))),
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn project_from_row(row: &Row) -> Result<Project> {
    Ok(Project {
        id: col(row, "id")?,
        name: col(row, "name")?,
        create_time: col(row, "create_time")?,
    })
}

const ACCESS_KEY_COLUMNS: &str =
    "k.access_key, k.user_id, k.project_id AS key_project_id, k.sealed_secret, k.description, k.security_token_hash, k.expires_at, k.create_time AS key_create_time";

fn access_key_from_row(row: &Row) -> Result<AccessKeyRecord> {
    Ok(AccessKeyRecord {
        access_key: col(row, "access_key")?,
        user_id: col(row, "user_id")?,
        project_id: col(row, "key_project_id")?,
        sealed_secret: col(row, "sealed_secret")?,
        description: col(row, "description")?,
        security_token_hash: col(row, "security_token_hash")?,
        expires_at: col(row, "expires_at")?,
        create_time: col(row, "key_create_time")?,
    })
}

fn role(code: i32) -> Result<Role> {
    Role::from_code(i64::from(code)).ok_or_else(|| Error::internal(format!("stored role {code} is unknown")))
}

fn user_from_row(row: &Row) -> Result<User> {
    Ok(User {
        id: col(row, "id")?,
        project_id: col(row, "project_id")?,
        email: col(row, "email")?,
        role: role(col(row, "role")?)?,
        create_time: col(row, "create_time")?,
    })
}

fn dataset_from_row(row: &Row) -> Result<DatasetRecord> {
    let code: i32 = col(row, "dataset_type")?;
    Ok(DatasetRecord {
        id: col(row, "id")?,
        project_id: col(row, "project_id")?,
        name: col(row, "name")?,
        dataset_type: DatasetType::from_code(i64::from(code))
            .ok_or_else(|| Error::internal(format!("stored dataset_type {code} is unknown")))?,
        description: col(row, "description")?,
        data_sources: col(row, "data_sources")?,
        work_path: col(row, "work_path")?,
        work_path_type: col(row, "work_path_type")?,
        data_format: col(row, "data_format")?,
        workspace_id: col(row, "workspace_id")?,
        import_annotations: col(row, "import_annotations")?,
        label_format: col(row, "label_format")?,
        status: col(row, "status")?,
        create_time: col(row, "create_time")?,
        update_time: col(row, "update_time")?,
    })
}

fn label_type(code: i32) -> Result<LabelType> {
    LabelType::from_code(i64::from(code)).ok_or_else(|| Error::internal(format!("stored label type {code} is unknown")))
}

fn label_from_row(row: &Row) -> Result<LabelDef> {
    let attributes = match col::<Option<Value>>(row, "attributes")? {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            serde_json::from_value::<Vec<LabelAttribute>>(value)
                .map_err(|e| Error::internal(format!("stored label attributes: {e}")))?,
        ),
    };
    Ok(LabelDef {
        id: col(row, "id")?,
        name: col(row, "name")?,
        label_type: label_type(col(row, "type")?)?,
        property: json_object(col(row, "property")?, "label property")?,
        attributes,
    })
}

/// A sample row (selected with `SAMPLE_COLUMNS`) and its `seq`; labels are filled later.
fn sample_from_row(row: &Row) -> Result<(i64, SampleRecord)> {
    let type_code: i32 = col(row, "sample_type")?;
    let status: String = col(row, "status")?;
    let sample = SampleRecord {
        id: col(row, "id")?,
        dataset_id: col(row, "dataset_id")?,
        name: col(row, "name")?,
        sample_type: SampleType::from_code(i64::from(type_code))
            .ok_or_else(|| Error::internal(format!("stored sample_type {type_code} is unknown")))?,
        source: col(row, "source")?,
        blob_sha256: col(row, "blob_sha256")?,
        content_type: col(row, "content_type")?,
        size: col(row, "size")?,
        text_len: col(row, "text_len")?,
        metadata: json_object(col(row, "metadata")?, "sample metadata")?,
        sample_usage: col(row, "sample_usage")?,
        status: SampleStatus::from_db(&status)
            .ok_or_else(|| Error::internal(format!("stored sample status {status:?} is unknown")))?,
        sample_time: col(row, "sample_time")?,
        update_time: col(row, "update_time")?,
        version: col(row, "version")?,
        labels: Vec::new(),
    };
    Ok((col(row, "seq")?, sample))
}

fn deleted_from_row(row: &Row) -> Result<DeletedSample> {
    Ok(DeletedSample {
        id: col(row, "id")?,
        blob_sha256: col(row, "blob_sha256")?,
    })
}

/// Loads the labels of the samples `seqs` in one query and puts them on the samples, in order.
async fn attach_labels<C: GenericClient>(db: &C, samples: Vec<(i64, SampleRecord)>) -> Result<Vec<SampleRecord>> {
    let seqs: Vec<i64> = samples.iter().map(|(seq, _)| *seq).collect();
    let mut by_seq = load_placed_labels(db, "sample_labels", "sample_seq", &seqs).await?;
    Ok(samples
        .into_iter()
        .map(|(seq, mut sample)| {
            sample.labels = by_seq.remove(&seq).unwrap_or_default();
            sample
        })
        .collect())
}

/// Inserts label definitions with positions `first_position..`, one prepared statement reused
/// (label sets are small; a row at a time names the label a unique violation is about).
async fn insert_labels(
    tx: &deadpool_postgres::Transaction<'_>,
    dataset_id: &str,
    labels: &[LabelDef],
    first_position: i32,
) -> Result<()> {
    if labels.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO labels (dataset_id, name, type, property, attributes, position)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await
        .map_err(sql("prepare insert label"))?;
    for (index, label) in labels.iter().enumerate() {
        let position = i32::try_from(index)
            .ok()
            .and_then(|i| first_position.checked_add(i))
            .ok_or_else(|| Error::internal("label position out of range"))?;
        tx.execute(
            &statement,
            &[
                &dataset_id,
                &label.name,
                &label.label_type.code(),
                &Json(&label.property),
                &label.attributes.as_ref().map(Json),
                &position,
            ],
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e, LABELS_NAME_KEY) {
                label_exists(label)
            } else {
                db_err("insert label", &e)
            }
        })?;
    }
    Ok(())
}

// ---- team labeling: constraints, errors, rows ----

const WORKFORCES_NAME_KEY: &str = "workforces_project_id_name_key";
const WORKERS_USER_KEY: &str = "workers_workforce_id_user_id_key";
const TASKS_NAME_KEY: &str = "workforce_tasks_dataset_id_name_key";

/// A member with the email of its user, over `workers w JOIN users u`; aliased so the columns
/// can sit next to a task's.
const WORKER_COLUMNS: &str = "w.id AS worker_id, w.workforce_id AS worker_workforce_id, \
     w.user_id AS worker_user_id, u.email AS worker_email, w.role AS worker_role, \
     w.description AS worker_description, w.create_time AS worker_create_time, \
     w.update_time AS worker_update_time";

/// A task over `workforce_tasks t`.
const TASK_COLUMNS: &str = "t.id, t.dataset_id, t.name, t.description, t.status, t.repetition, \
     t.workforces_config, t.sample_conditions, t.synchronize_data, \
     t.synchronize_auto_labeling_data, t.auto_sync_dataset, t.data_sync_type, t.create_time, \
     t.update_time";

/// A copy (without labels) over `task_copies c`; aliased so the columns can sit next to a
/// sample's.
const COPY_COLUMNS: &str = "c.id AS copy_id, c.worker_id AS copy_worker_id, c.state AS copy_state, \
     c.version AS copy_version, c.metadata AS copy_metadata, c.sample_usage AS copy_sample_usage, \
     c.update_time AS copy_update_time";

/// A workforce with its member count, over `workforces f`.
const WORKFORCE_COLUMNS: &str = "f.id, f.project_id, f.name, f.description, \
     (SELECT count(*) FROM workers w WHERE w.workforce_id = f.id) AS worker_count, \
     f.create_time, f.update_time";

const HISTORY_COLUMNS: &str = "id, dataset_id, sample_id, task_id, worker_id, actor_user_id, actor_email, \
     change_time, state_before, state_after, labels_before, labels_after::jsonb AS labels_after, \
     version_after";

fn not_found_team(code: &'static str, what: &str, id: &str) -> Error {
    Error::not_found(code, format!("{what} does not exist: {id}"))
}

fn workforce_not_found(id: &str) -> Error {
    not_found_team(codes::WORKFORCE_NOT_FOUND, "The workforce", id)
}

fn worker_not_found(id: &str) -> Error {
    not_found_team(codes::WORKER_NOT_FOUND, "The worker", id)
}

fn task_not_found(id: &str) -> Error {
    not_found_team(codes::TASK_NOT_FOUND, "Workforce task", id)
}

fn workforce_exists(name: &str) -> Error {
    Error::bad_request(codes::WORKFORCE_EXISTS, format!("Workforce already exists: {name}"))
}

fn worker_exists(user_id: &str) -> Error {
    Error::bad_request(
        codes::WORKER_EXISTS,
        format!("Worker already exists: user {user_id} is already in the workforce"),
    )
}

fn task_exists(name: &str) -> Error {
    Error::bad_request(codes::TASK_EXISTS, format!("Workforce task already exists: {name}"))
}

/// Records an idempotency key, replacing an expired record of the same key; a live one fails
/// the transaction (which the caller drops, rolling back).
async fn insert_idempotency(tx: &deadpool_postgres::Transaction<'_>, r: &IdempotencyRecord) -> Result<()> {
    let n = tx
        .execute(
            "INSERT INTO idempotency_keys (project_id, user_id, idem_key, request_hash, status, response, create_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (project_id, user_id, idem_key) DO UPDATE SET
                 request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response,
                 create_time = EXCLUDED.create_time
             WHERE idempotency_keys.create_time <= $8",
            &[
                &r.project_id,
                &r.user_id,
                &r.key,
                &r.request_hash,
                &r.status,
                &Json(&r.response),
                &r.create_time,
                &(r.create_time - IDEMPOTENCY_TTL_MS),
            ],
        )
        .await
        .map_err(sql("record idempotency key"))?;
    if n == 0 {
        return Err(Error::conflict(
            codes::IDEMPOTENCY_TAKEN,
            "X-Idempotency-Key is in use by another request; retry to read its answer",
        ));
    }
    Ok(())
}

fn version_conflict() -> Error {
    Error::conflict(
        codes::VERSION_CONFLICT,
        "The labels changed since they were read; read them again and retry",
    )
}

fn workforce_from_row(row: &Row) -> Result<WorkforceRecord> {
    Ok(WorkforceRecord {
        id: col(row, "id")?,
        project_id: col(row, "project_id")?,
        name: col(row, "name")?,
        description: col(row, "description")?,
        worker_count: count(col(row, "worker_count")?),
        create_time: col(row, "create_time")?,
        update_time: col(row, "update_time")?,
    })
}

/// A member selected with `WORKER_COLUMNS`.
fn worker_from_row(row: &Row) -> Result<WorkerRecord> {
    Ok(WorkerRecord {
        id: col(row, "worker_id")?,
        workforce_id: col(row, "worker_workforce_id")?,
        user_id: col(row, "worker_user_id")?,
        email: col(row, "worker_email")?,
        role: role(col(row, "worker_role")?)?,
        description: col(row, "worker_description")?,
        create_time: col(row, "worker_create_time")?,
        update_time: col(row, "worker_update_time")?,
    })
}

/// A task selected with `TASK_COLUMNS`.
fn task_from_row(row: &Row) -> Result<TaskRecord> {
    Ok(TaskRecord {
        id: col(row, "id")?,
        dataset_id: col(row, "dataset_id")?,
        name: col(row, "name")?,
        description: col(row, "description")?,
        status: col(row, "status")?,
        repetition: col(row, "repetition")?,
        workforces_config: col(row, "workforces_config")?,
        sample_conditions: col(row, "sample_conditions")?,
        synchronize_data: col(row, "synchronize_data")?,
        synchronize_auto_labeling_data: col(row, "synchronize_auto_labeling_data")?,
        auto_sync_dataset: col(row, "auto_sync_dataset")?,
        data_sync_type: col(row, "data_sync_type")?,
        create_time: col(row, "create_time")?,
        update_time: col(row, "update_time")?,
    })
}

/// A copy selected with `COPY_COLUMNS`; labels are filled later.
fn copy_from_row(row: &Row) -> Result<CopyRecord> {
    let metadata: Option<Value> = col(row, "copy_metadata")?;
    Ok(CopyRecord {
        id: col(row, "copy_id")?,
        worker_id: col(row, "copy_worker_id")?,
        state: col(row, "copy_state")?,
        version: col(row, "copy_version")?,
        labels: Vec::new(),
        metadata: metadata.map(|m| json_object(m, "copy metadata")).transpose()?,
        sample_usage: col(row, "copy_sample_usage")?,
        update_time: col(row, "copy_update_time")?,
    })
}

/// A history row selected with `HISTORY_COLUMNS`.
fn history_from_row(row: &Row) -> Result<HistoryRecord> {
    Ok(HistoryRecord {
        id: col(row, "id")?,
        dataset_id: col(row, "dataset_id")?,
        sample_id: col(row, "sample_id")?,
        task_id: col(row, "task_id")?,
        worker_id: col(row, "worker_id")?,
        actor_user_id: col(row, "actor_user_id")?,
        actor_email: col(row, "actor_email")?,
        change_time: col(row, "change_time")?,
        state_before: col(row, "state_before")?,
        state_after: col(row, "state_after")?,
        labels_before: col(row, "labels_before")?,
        labels_after: col(row, "labels_after")?,
        version_after: col(row, "version_after")?,
    })
}

fn usage_from_row(row: &Row) -> Result<LabelUsage> {
    Ok(LabelUsage {
        label_id: col(row, "label_id")?,
        count: count(col(row, "n")?),
        sample_count: count(col(row, "samples")?),
    })
}

/// Each id once, in first-seen order.
fn distinct(ids: &[String]) -> Vec<&str> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect()
}

/// Loads samples of a dataset by public id (with their `seq`, without labels), in the order of
/// `ids`, each once, skipping ids that do not exist.
async fn load_samples_by_id<C: GenericClient>(
    db: &C,
    dataset_id: &str,
    ids: &[String],
) -> Result<Vec<(i64, SampleRecord)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = distinct(ids);
    let rows = db
        .query(
            &format!(
                "SELECT {SAMPLE_COLUMNS}
                 FROM UNNEST($2::text[]) WITH ORDINALITY AS wanted(id, ord)
                 JOIN samples s ON s.id = wanted.id AND s.dataset_id = $1
                 ORDER BY wanted.ord"
            ),
            &[&dataset_id, &ids],
        )
        .await
        .map_err(sql("load samples"))?;
    rows.iter().map(sample_from_row).collect()
}

/// Loads the placed labels of `keys` from a label table (`sample_labels` by `sample_seq`, or
/// `task_copy_labels` by `copy_id`) in one query, each key's labels in their order.
async fn load_placed_labels<C: GenericClient>(
    db: &C,
    table: &str,
    key: &str,
    keys: &[i64],
) -> Result<HashMap<i64, Vec<PlacedLabel>>> {
    let mut out: HashMap<i64, Vec<PlacedLabel>> = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let rows = db
        .query(
            &format!(
                "SELECT x.{key} AS owner, x.label_id, l.name, l.type, x.instance_id, x.property, x.score, x.annotated_by
                 FROM {table} x JOIN labels l ON l.id = x.label_id
                 WHERE x.{key} = ANY($1)
                 ORDER BY x.{key}, x.ordinal"
            ),
            &[&keys],
        )
        .await
        .map_err(sql("load labels"))?;
    for row in &rows {
        let label = PlacedLabel {
            label_id: col(row, "label_id")?,
            name: col(row, "name")?,
            label_type: label_type(col(row, "type")?)?,
            instance_id: col(row, "instance_id")?,
            property: json_object(col(row, "property")?, "label property")?,
            score: col(row, "score")?,
            annotated_by: col(row, "annotated_by")?,
        };
        out.entry(col(row, "owner")?).or_default().push(label);
    }
    Ok(out)
}

/// Loads the labels of `copies` in one query and puts them on the copies, in order.
async fn attach_copy_labels<C: GenericClient>(db: &C, copies: &mut [&mut CopyRecord]) -> Result<()> {
    let ids: Vec<i64> = copies.iter().map(|c| c.id).collect();
    let mut by_copy = load_placed_labels(db, "task_copy_labels", "copy_id", &ids).await?;
    for copy in copies.iter_mut() {
        copy.labels = by_copy.remove(&copy.id).unwrap_or_default();
    }
    Ok(())
}

/// The columns of a set of placed labels for an `UNNEST` insert into `sample_labels` or
/// `task_copy_labels`: owner key, ordinal, label, instance, property, score, annotator.
#[derive(Default)]
struct LabelRows<'a> {
    owners: Vec<i64>,
    ordinals: Vec<i32>,
    label_ids: Vec<i64>,
    instance_ids: Vec<Option<&'a str>>,
    properties: Vec<Json<&'a Map<String, Value>>>,
    scores: Vec<Option<f64>>,
    annotated_by: Vec<Option<&'a str>>,
}

impl<'a> LabelRows<'a> {
    fn push(&mut self, owner: i64, labels: &'a [PlacedLabel]) -> Result<()> {
        for (ordinal, label) in labels.iter().enumerate() {
            self.owners.push(owner);
            self.ordinals
                .push(i32::try_from(ordinal).map_err(|_| Error::internal("label ordinal out of range"))?);
            self.label_ids.push(label.label_id);
            self.instance_ids.push(label.instance_id.as_deref());
            self.properties.push(Json(&label.property));
            self.scores.push(label.score);
            self.annotated_by.push(label.annotated_by.as_deref());
        }
        Ok(())
    }

    /// Inserts the rows into `table` (whose owner key column is `key`) in one statement.
    async fn insert(&self, tx: &deadpool_postgres::Transaction<'_>, table: &str, key: &str) -> Result<()> {
        if self.owners.is_empty() {
            return Ok(());
        }
        tx.execute(
            &format!(
                "INSERT INTO {table} ({key}, ordinal, label_id, instance_id, property, score, annotated_by)
                 SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::int8[], $4::text[], $5::jsonb[],
                                      $6::float8[], $7::text[])"
            ),
            &[
                &self.owners,
                &self.ordinals,
                &self.label_ids,
                &self.instance_ids,
                &self.properties,
                &self.scores,
                &self.annotated_by,
            ],
        )
        .await
        .map_err(|e| db_err(&format!("insert {table}"), &e))?;
        Ok(())
    }
}

/// Appends history rows in one statement, in the order given (ids grow in that order).
async fn insert_history(tx: &deadpool_postgres::Transaction<'_>, history: &[HistoryRecord]) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    let mut dataset_ids = Vec::with_capacity(history.len());
    let mut sample_ids = Vec::with_capacity(history.len());
    let mut task_ids = Vec::with_capacity(history.len());
    let mut worker_ids = Vec::with_capacity(history.len());
    let mut actor_user_ids = Vec::with_capacity(history.len());
    let mut actor_emails = Vec::with_capacity(history.len());
    let mut change_times = Vec::with_capacity(history.len());
    let mut states_before = Vec::with_capacity(history.len());
    let mut states_after = Vec::with_capacity(history.len());
    let mut labels_before = Vec::with_capacity(history.len());
    let mut labels_after = Vec::with_capacity(history.len());
    let mut versions_after = Vec::with_capacity(history.len());
    for h in history {
        dataset_ids.push(h.dataset_id.as_str());
        sample_ids.push(h.sample_id.as_str());
        task_ids.push(h.task_id.as_deref());
        worker_ids.push(h.worker_id.as_deref());
        actor_user_ids.push(h.actor_user_id.as_str());
        actor_emails.push(h.actor_email.as_str());
        change_times.push(h.change_time);
        states_before.push(h.state_before.as_str());
        states_after.push(h.state_after.as_str());
        labels_before.push(&h.labels_before);
        labels_after.push(&h.labels_after);
        versions_after.push(h.version_after);
    }
    // `labels_after` goes in as JSON text whatever the column's type (JSONB, or TEXT as in
    // 0002_team), and is read back with `::jsonb`.
    tx.execute(
        "INSERT INTO annotation_history (dataset_id, sample_id, task_id, worker_id, actor_user_id,
                                         actor_email, change_time, state_before, state_after,
                                         labels_before, labels_after, version_after)
         SELECT h.dataset_id, h.sample_id, h.task_id, h.worker_id, h.actor_user_id, h.actor_email,
                h.change_time, h.state_before, h.state_after, h.labels_before, h.labels_after,
                h.version_after
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::int8[], $8::text[], $9::text[], $10::jsonb[], $11::jsonb[], $12::int8[])
              WITH ORDINALITY AS h(dataset_id, sample_id, task_id, worker_id, actor_user_id,
                                   actor_email, change_time, state_before, state_after,
                                   labels_before, labels_after, version_after, ord)
         ORDER BY h.ord",
        &[
            &dataset_ids,
            &sample_ids,
            &task_ids,
            &worker_ids,
            &actor_user_ids,
            &actor_emails,
            &change_times,
            &states_before,
            &states_after,
            &labels_before,
            &labels_after,
            &versions_after,
        ],
    )
    .await
    .map_err(sql("insert history"))?;
    Ok(())
}

/// The index of the last write of each target, in order: when a target is written more than
/// once (at successive versions), its final labels are those of its last write.
fn last_writes<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> Vec<usize> {
    let keys: Vec<K> = keys.collect();
    let mut last: HashMap<&K, usize> = HashMap::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        last.insert(key, i);
    }
    let mut out: Vec<usize> = last.into_values().collect();
    out.sort_unstable();
    out
}

/// A read-only transaction at REPEATABLE READ: the queries of one answer see one snapshot.
async fn read_snapshot(client: &mut Object) -> Result<deadpool_postgres::Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(sql("begin"))
}

/// Adds the chosen members of a task, in one statement.
async fn insert_task_workers(
    tx: &deadpool_postgres::Transaction<'_>,
    task_id: &str,
    worker_ids: &[String],
) -> Result<()> {
    if worker_ids.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO task_workers (task_id, worker_id)
         SELECT $1, w FROM UNNEST($2::text[]) AS w",
        &[&task_id, &worker_ids],
    )
    .await
    .map_err(sql("insert task workers"))?;
    Ok(())
}

// ---- query building ----

/// Positional parameters of a query assembled from optional filters.
#[derive(Default)]
struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    /// Adds a value and answers its parameter reference (`$n`).
    fn push(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|value| value.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// A case-insensitive substring pattern for `ILIKE ... ESCAPE '\'`.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `LIMIT` and `OFFSET` of page `offset` (pages count from 0) of `limit` rows.
fn page(offset: u64, limit: u64) -> (i64, i64) {
    let rows = i64::try_from(limit).unwrap_or(i64::MAX);
    let skip = i64::try_from(offset.saturating_mul(limit)).unwrap_or(i64::MAX);
    (rows, skip)
}

/// The WHERE clause of a sample list over `samples s` of one dataset (the first parameter
/// added); the values of the other filters are added after it. `list_samples` and `start_task`
/// share it.
fn sample_filter(dataset_id: &str, query: &SampleQuery, params: &mut Params) -> String {
    let mut filter = format!("s.dataset_id = {}", params.push(dataset_id.to_string()));
    if let Some(statuses) = &query.statuses {
        let statuses: Vec<&'static str> = statuses.iter().map(|s| s.as_str()).collect();
        filter += &format!(" AND s.status = ANY({})", params.push(statuses));
    }
    if let Some(sample_type) = query.sample_type {
        filter += &format!(" AND s.sample_type = {}", params.push(sample_type.code()));
    }
    if let Some(name) = &query.name {
        filter += &format!(" AND s.name = {}", params.push(name.clone()));
    }
    for group in &query.label_groups {
        filter += &label_group_clause(group, "sample_labels", "sample_seq", "s.seq", params);
    }
    filter
}

/// ` AND EXISTS (...)` matching rows of `table` whose `key` is `outer` and whose label is in the
/// group; an empty group matches nothing.
fn label_group_clause(group: &[i64], table: &str, key: &str, outer: &str, params: &mut Params) -> String {
    if group.is_empty() {
        return " AND FALSE".to_string();
    }
    format!(
        " AND EXISTS (SELECT 1 FROM {table} x WHERE x.{key} = {outer} AND x.label_id = ANY({}))",
        params.push(group.to_vec())
    )
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn durability_settings(&self) -> Result<Vec<(String, String)>> {
        self.read_durability()
            .await
            .map_err(|e| Error::unavailable(format!("reading durability settings: {e:#}")))
    }

    async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| Error::unavailable(format!("ping: {e}")))?;
        Ok(())
    }

    async fn insert_project(&self, project: &Project, owner: &User) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        tx.execute(
            "INSERT INTO projects (id, name, create_time) VALUES ($1, $2, $3)",
            &[&project.id, &project.name, &project.create_time],
        )
        .await
        .map_err(sql("insert project"))?;
        tx.execute(
            "INSERT INTO users (id, project_id, email, role, create_time)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &owner.id,
                &owner.project_id,
                &owner.email,
                &owner.role.code(),
                &owner.create_time,
            ],
        )
        .await
        .map_err(sql("insert project owner"))?;
        tx.commit().await.map_err(sql("commit insert project"))
    }

    async fn get_project(&self, id: &str) -> Result<Project> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT id, name, create_time FROM projects WHERE id = $1", &[&id])
            .await
            .map_err(sql("get project"))?
            .ok_or_else(|| Error::not_found(codes::INVALID_PROJECT, format!("Project not found: {id}")))?;
        project_from_row(&row)
    }

    async fn find_first_project(&self) -> Result<Option<Project>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, name, create_time FROM projects
                 ORDER BY create_time, id COLLATE \"C\"
                 LIMIT 1",
                &[],
            )
            .await
            .map_err(sql("find first project"))?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn insert_user(&self, user: &User) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO users (id, project_id, email, role, create_time)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &user.id,
                    &user.project_id,
                    &user.email,
                    &user.role.code(),
                    &user.create_time,
                ],
            )
            .await
            .map_err(sql("insert user"))?;
        Ok(())
    }

    async fn find_user_by_email(&self, project_id: &str, email: &str) -> Result<Option<User>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, project_id, email, role, create_time FROM users
                 WHERE project_id = $1 AND email = $2",
                &[&project_id, &email],
            )
            .await
            .map_err(sql("find user"))?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tokens (hash, user_id, project_id, expires_at, create_time)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &token.hash,
                    &token.user_id,
                    &token.project_id,
                    &token.expires_at,
                    &token.create_time,
                ],
            )
            .await
            .map_err(sql("insert token"))?;
        Ok(())
    }

    async fn find_token(&self, hash: &str) -> Result<Option<(TokenRecord, User)>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT t.hash, t.user_id, t.project_id AS token_project_id, t.expires_at,
                        t.create_time AS token_create_time,
                        u.id, u.project_id, u.email, u.role, u.create_time
                 FROM tokens t
                 JOIN users u ON u.id = t.user_id
                 WHERE t.hash = $1",
                &[&hash],
            )
            .await
            .map_err(sql("find token"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let token = TokenRecord {
            hash: col(&row, "hash")?,
            user_id: col(&row, "user_id")?,
            project_id: col(&row, "token_project_id")?,
            expires_at: col(&row, "expires_at")?,
            create_time: col(&row, "token_create_time")?,
        };
        Ok(Some((token, user_from_row(&row)?)))
    }

    async fn list_projects_by_name(&self, name: &str) -> Result<Vec<Project>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, create_time FROM projects WHERE name = $1 ORDER BY create_time, id COLLATE \"C\"",
                &[&name],
            )
            .await
            .map_err(sql("list projects by name"))?;
        rows.iter().map(project_from_row).collect()
    }

    async fn find_login(&self, project_id: &str, id_or_email: &str) -> Result<Option<Login>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, project_id, email, role, create_time, password_hash, failed_logins, locked_until
                 FROM users WHERE project_id = $1 AND (id = $2 OR email = lower($2))",
                &[&project_id, &id_or_email],
            )
            .await
            .map_err(sql("find login"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let failed: i32 = col(&row, "failed_logins")?;
        Ok(Some(Login {
            user: user_from_row(&row)?,
            password_hash: col(&row, "password_hash")?,
            state: LoginState {
                failed: i64::from(failed),
                locked_until: col(&row, "locked_until")?,
            },
        }))
    }

    async fn set_password(&self, user_id: &str, password_hash: Option<&str>) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = 0 WHERE id = $1",
                &[&user_id, &password_hash],
            )
            .await
            .map_err(sql("set password"))?;
        if n == 0 {
            return Err(Error::not_found(
                codes::INVALID_ARGUMENT,
                format!("User not found: {user_id}"),
            ));
        }
        Ok(())
    }

    async fn update_login_state(&self, user_id: &str, expected: LoginState, new: LoginState) -> Result<bool> {
        let client = self.client().await?;
        let (ef, nf) = (expected.failed as i32, new.failed as i32);
        let n = client
            .execute(
                "UPDATE users SET failed_logins = $4, locked_until = $5
                 WHERE id = $1 AND failed_logins = $2 AND locked_until = $3",
                &[&user_id, &ef, &expected.locked_until, &nf, &new.locked_until],
            )
            .await
            .map_err(sql("update login state"))?;
        Ok(n == 1)
    }

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO access_keys (access_key, user_id, project_id, sealed_secret, description,
                                          security_token_hash, expires_at, create_time)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &key.access_key,
                    &key.user_id,
                    &key.project_id,
                    &key.sealed_secret,
                    &key.description,
                    &key.security_token_hash,
                    &key.expires_at,
                    &key.create_time,
                ],
            )
            .await
            .map_err(sql("insert access key"))?;
        Ok(())
    }

    async fn find_access_key(&self, access_key: &str) -> Result<Option<(AccessKeyRecord, User)>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {ACCESS_KEY_COLUMNS}, u.id, u.project_id, u.email, u.role, u.create_time
                     FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = $1"
                ),
                &[&access_key],
            )
            .await
            .map_err(sql("find access key"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some((access_key_from_row(&row)?, user_from_row(&row)?)))
    }

    async fn list_access_keys(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        now: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<(AccessKeyRecord, User)>)> {
        let client = self.client().await?;
        let filter = "k.project_id = $1 AND ($2::TEXT IS NULL OR k.user_id = $2)
                      AND (k.expires_at IS NULL OR k.expires_at > $3)";
        let total: i64 = client
            .query_one(
                &format!("SELECT COUNT(*) FROM access_keys k WHERE {filter}"),
                &[&project_id, &user_id, &now],
            )
            .await
            .map_err(sql("count access keys"))?
            .get(0);
        let (lim, off) = (limit as i64, (offset * limit) as i64);
        let rows = client
            .query(
                &format!(
                    "SELECT {ACCESS_KEY_COLUMNS}, u.id, u.project_id, u.email, u.role, u.create_time
                     FROM access_keys k JOIN users u ON u.id = k.user_id WHERE {filter}
                     ORDER BY k.create_time DESC, k.access_key COLLATE \"C\" LIMIT $4 OFFSET $5"
                ),
                &[&project_id, &user_id, &now, &lim, &off],
            )
            .await
            .map_err(sql("list access keys"))?;
        let keys = rows
            .iter()
            .map(|r| Ok((access_key_from_row(r)?, user_from_row(r)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok((total as u64, keys))
    }

    async fn delete_access_key(&self, project_id: &str, access_key: &str) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM access_keys WHERE project_id = $1 AND access_key = $2",
                &[&project_id, &access_key],
            )
            .await
            .map_err(sql("delete access key"))?;
        Ok(n > 0)
    }

    async fn purge_expired_access_keys(&self, now: i64) -> Result<u64> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM access_keys WHERE expires_at IS NOT NULL AND expires_at <= $1",
                &[&now],
            )
            .await
            .map_err(sql("purge access keys"))
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &value],
            )
            .await
            .map_err(sql("insert setting"))?;
        let row = client
            .query_one("SELECT value FROM server_settings WHERE name = $1", &[&name])
            .await
            .map_err(sql("read setting"))?;
        col(&row, "value")
    }

    async fn insert_dataset(&self, dataset: &DatasetRecord, labels: &[LabelDef]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        tx.execute(
            "INSERT INTO datasets (id, project_id, name, dataset_type, description, data_sources,
                                   work_path, work_path_type, data_format, workspace_id,
                                   import_annotations, label_format, status, create_time,
                                   update_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &dataset.id,
                &dataset.project_id,
                &dataset.name,
                &dataset.dataset_type.code(),
                &dataset.description,
                &dataset.data_sources,
                &dataset.work_path,
                &dataset.work_path_type,
                &dataset.data_format,
                &dataset.workspace_id,
                &dataset.import_annotations,
                &dataset.label_format,
                &dataset.status,
                &dataset.create_time,
                &dataset.update_time,
            ],
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e, DATASETS_NAME_KEY) {
                dataset_exists(&dataset.name)
            } else {
                db_err("insert dataset", &e)
            }
        })?;
        insert_labels(&tx, &dataset.id, labels, 0).await?;
        tx.commit().await.map_err(sql("commit insert dataset"))
    }

    async fn get_dataset(&self, project_id: &str, dataset_id: &str) -> Result<DatasetRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE id = $1 AND project_id = $2"),
                &[&dataset_id, &project_id],
            )
            .await
            .map_err(sql("get dataset"))?
            .ok_or_else(|| Error::dataset_not_found(dataset_id))?;
        dataset_from_row(&row)
    }

    async fn list_datasets(&self, project_id: &str, query: &DatasetQuery) -> Result<(u64, Vec<DatasetRecord>)> {
        let mut params = Params::default();
        let mut filter = format!("project_id = {}", params.push(project_id.to_string()));
        if let Some(dataset_type) = query.dataset_type {
            filter += &format!(" AND dataset_type = {}", params.push(dataset_type.code()));
        }
        if let Some(search) = query.search_content.as_deref().filter(|s| !s.is_empty()) {
            filter += &format!(" AND name ILIKE {} ESCAPE '\\'", params.push(contains_pattern(search)));
        }
        let direction = if query.ascending { "ASC" } else { "DESC" };
        // Names sort by code point, as in SQLite, whatever the database's collation.
        let key = if query.sort_by_name {
            "name COLLATE \"C\""
        } else {
            "create_time"
        };
        let count_sql = format!("SELECT count(*) AS total FROM datasets WHERE {filter}");
        let (limit, offset) = page(query.offset, query.limit);
        let total_params = params.0.len();
        let page_sql = format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE {filter}
             ORDER BY {key} {direction}, id COLLATE \"C\" {direction}
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );

        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(sql("begin"))?;
        let refs = params.refs();
        let total_row = tx
            .query_one(&count_sql, &refs[..total_params])
            .await
            .map_err(sql("count datasets"))?;
        let rows = tx.query(&page_sql, &refs).await.map_err(sql("list datasets"))?;
        tx.commit().await.map_err(sql("commit list datasets"))?;
        let total = count(col(&total_row, "total")?);
        let datasets = rows.iter().map(dataset_from_row).collect::<Result<_>>()?;
        Ok((total, datasets))
    }

    async fn sample_counts(&self, dataset_ids: &[String]) -> Result<HashMap<String, SampleCounts>> {
        let mut counts: HashMap<String, SampleCounts> = dataset_ids
            .iter()
            .map(|id| (id.clone(), SampleCounts::default()))
            .collect();
        if dataset_ids.is_empty() {
            return Ok(counts);
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT dataset_id, status, count(*) AS n
                 FROM samples
                 WHERE dataset_id = ANY($1)
                 GROUP BY dataset_id, status",
                &[&dataset_ids],
            )
            .await
            .map_err(sql("count samples"))?;
        for row in &rows {
            let dataset_id: String = col(row, "dataset_id")?;
            let status: String = col(row, "status")?;
            let n = count(col(row, "n")?);
            let entry = counts.entry(dataset_id).or_default();
            entry.total += n;
            match SampleStatus::from_db(&status) {
                Some(SampleStatus::UnAnnotation) => entry.un_annotation += n,
                Some(SampleStatus::ManualAnnotation) => entry.manual_annotation += n,
                Some(SampleStatus::AutoAnnotation) => entry.auto_annotation += n,
                None => return Err(Error::internal(format!("stored sample status {status:?} is unknown"))),
            }
        }
        Ok(counts)
    }

    async fn update_dataset(&self, dataset_id: &str, change: &DatasetChange) -> Result<Vec<DeletedSample>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        // Locks the dataset row: concurrent changes of one dataset (label positions) queue up.
        tx.query_opt("SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE", &[&dataset_id])
            .await
            .map_err(sql("lock dataset"))?
            .ok_or_else(|| Error::dataset_not_found(dataset_id))?;

        let mut deleted = Vec::new();
        if !change.delete_labels.is_empty() {
            // (1) Samples whose every label is being deleted go with them.
            if change.delete_policy >= 1 {
                let rows = tx
                    .query(
                        "WITH gone AS (
                             DELETE FROM samples s
                             WHERE s.dataset_id = $1
                               AND EXISTS (SELECT 1 FROM sample_labels sl
                                           WHERE sl.sample_seq = s.seq
                                             AND sl.label_id = ANY($2))
                               AND NOT EXISTS (SELECT 1 FROM sample_labels sl
                                               WHERE sl.sample_seq = s.seq
                                                 AND sl.label_id <> ALL($2))
                             RETURNING s.seq, s.id, s.blob_sha256
                         )
                         SELECT id, blob_sha256 FROM gone ORDER BY seq",
                        &[&dataset_id, &change.delete_labels],
                    )
                    .await
                    .map_err(sql("delete samples of deleted labels"))?;
                deleted = rows.iter().map(deleted_from_row).collect::<Result<_>>()?;
            }
            // (2) The labels; their sample labels cascade.
            tx.execute(
                "DELETE FROM labels WHERE dataset_id = $1 AND id = ANY($2)",
                &[&dataset_id, &change.delete_labels],
            )
            .await
            .map_err(sql("delete labels"))?;
        }

        // (3) Rewritten labels.
        for label in &change.update_labels {
            tx.execute(
                "UPDATE labels SET name = $3, type = $4, property = $5, attributes = $6
                 WHERE id = $1 AND dataset_id = $2",
                &[
                    &label.id,
                    &dataset_id,
                    &label.name,
                    &label.label_type.code(),
                    &Json(&label.property),
                    &label.attributes.as_ref().map(Json),
                ],
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, LABELS_NAME_KEY) {
                    label_exists(label)
                } else {
                    db_err("update label", &e)
                }
            })?;
        }

        // (4) New labels after the existing ones.
        if !change.add_labels.is_empty() {
            let row = tx
                .query_one(
                    "SELECT COALESCE(MAX(position) + 1, 0) AS next
                     FROM labels WHERE dataset_id = $1",
                    &[&dataset_id],
                )
                .await
                .map_err(sql("next label position"))?;
            let next: i32 = col(&row, "next")?;
            insert_labels(&tx, dataset_id, &change.add_labels, next).await?;
        }

        // (5) Samples left without labels are unannotated again.
        if !change.delete_labels.is_empty() {
            tx.execute(
                "UPDATE samples SET status = 'UN_ANNOTATION'
                 WHERE dataset_id = $1
                   AND status <> 'UN_ANNOTATION'
                   AND NOT EXISTS (SELECT 1 FROM sample_labels WHERE sample_seq = samples.seq)",
                &[&dataset_id],
            )
            .await
            .map_err(sql("reset unlabeled samples"))?;
        }

        // (6) The dataset's own fields.
        tx.execute(
            "UPDATE datasets
             SET name = COALESCE($2, name),
                 description = COALESCE($3, description),
                 update_time = $4
             WHERE id = $1",
            &[&dataset_id, &change.name, &change.description, &change.update_time],
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e, DATASETS_NAME_KEY) {
                dataset_exists(change.name.as_deref().unwrap_or(""))
            } else {
                db_err("update dataset", &e)
            }
        })?;
        tx.commit().await.map_err(sql("commit update dataset"))?;
        Ok(deleted)
    }

    async fn delete_dataset(&self, project_id: &str, dataset_id: &str) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM datasets WHERE id = $1 AND project_id = $2",
                &[&dataset_id, &project_id],
            )
            .await
            .map_err(sql("delete dataset"))?;
        if n == 0 {
            return Err(Error::dataset_not_found(dataset_id));
        }
        Ok(())
    }

    async fn list_labels(&self, dataset_id: &str) -> Result<Vec<LabelDef>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, type, property, attributes
                 FROM labels
                 WHERE dataset_id = $1
                 ORDER BY position, id",
                &[&dataset_id],
            )
            .await
            .map_err(sql("list labels"))?;
        rows.iter().map(label_from_row).collect()
    }

    async fn label_usage(&self, dataset_id: &str) -> Result<Vec<LabelUsage>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT sl.label_id, count(*) AS n, count(DISTINCT sl.sample_seq) AS samples
                 FROM sample_labels sl
                 JOIN labels l ON l.id = sl.label_id
                 WHERE l.dataset_id = $1
                 GROUP BY sl.label_id
                 ORDER BY sl.label_id",
                &[&dataset_id],
            )
            .await
            .map_err(sql("label usage"))?;
        rows.iter()
            .map(|row| {
                Ok(LabelUsage {
                    label_id: col(row, "label_id")?,
                    count: count(col(row, "n")?),
                    sample_count: count(col(row, "samples")?),
                })
            })
            .collect()
    }

    async fn find_sample_names(&self, dataset_id: &str, names: &[String]) -> Result<HashSet<String>> {
        if names.is_empty() {
            return Ok(HashSet::new());
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT name FROM samples WHERE dataset_id = $1 AND name = ANY($2)",
                &[&dataset_id, &names],
            )
            .await
            .map_err(sql("find sample names"))?;
        rows.iter().map(|row| col(row, "name")).collect()
    }

    async fn insert_samples(&self, samples: &[SampleRecord]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut seen = HashSet::new();
        if let Some(twice) = samples
            .iter()
            .find(|s| !seen.insert((s.dataset_id.as_str(), s.name.as_str())))
        {
            return Err(sample_exists(Some(&twice.name)));
        }

        let mut ids = Vec::with_capacity(samples.len());
        let mut dataset_ids = Vec::with_capacity(samples.len());
        let mut names = Vec::with_capacity(samples.len());
        let mut sample_types = Vec::with_capacity(samples.len());
        let mut sources = Vec::with_capacity(samples.len());
        let mut blobs = Vec::with_capacity(samples.len());
        let mut content_types = Vec::with_capacity(samples.len());
        let mut sizes = Vec::with_capacity(samples.len());
        let mut text_lens = Vec::with_capacity(samples.len());
        let mut metadata = Vec::with_capacity(samples.len());
        let mut usages = Vec::with_capacity(samples.len());
        let mut statuses = Vec::with_capacity(samples.len());
        let mut sample_times = Vec::with_capacity(samples.len());
        let mut update_times = Vec::with_capacity(samples.len());
        for s in samples {
            ids.push(s.id.as_str());
            dataset_ids.push(s.dataset_id.as_str());
            names.push(s.name.as_str());
            sample_types.push(s.sample_type.code());
            sources.push(s.source.as_deref());
            blobs.push(s.blob_sha256.as_deref());
            content_types.push(s.content_type.as_deref());
            sizes.push(s.size);
            text_lens.push(s.text_len);
            metadata.push(Json(&s.metadata));
            usages.push(s.sample_usage.as_deref());
            statuses.push(s.status.as_str());
            sample_times.push(s.sample_time);
            update_times.push(s.update_time);
        }

        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let rows = tx
            .query(
                "INSERT INTO samples (id, dataset_id, name, sample_type, source, blob_sha256,
                                      content_type, size, text_len, metadata, sample_usage,
                                      status, sample_time, update_time)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[],
                                      $5::text[], $6::text[], $7::text[], $8::int8[],
                                      $9::int8[], $10::jsonb[], $11::text[], $12::text[],
                                      $13::int8[], $14::int8[])
                 RETURNING seq, id",
                &[
                    &ids,
                    &dataset_ids,
                    &names,
                    &sample_types,
                    &sources,
                    &blobs,
                    &content_types,
                    &sizes,
                    &text_lens,
                    &metadata,
                    &usages,
                    &statuses,
                    &sample_times,
                    &update_times,
                ],
            )
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) if is_unique_violation(&e, SAMPLES_NAME_KEY) => {
                drop(tx);
                drop(client);
                let taken = self.taken_sample_name(samples).await;
                return Err(sample_exists(taken.as_deref()));
            }
            Err(e) => return Err(db_err("insert samples", &e)),
        };
        let mut seq_by_id: HashMap<String, i64> = HashMap::with_capacity(rows.len());
        for row in &rows {
            seq_by_id.insert(col(row, "id")?, col(row, "seq")?);
        }

        let mut label_seqs = Vec::new();
        let mut ordinals = Vec::new();
        let mut label_ids = Vec::new();
        let mut instance_ids = Vec::new();
        let mut properties = Vec::new();
        let mut scores = Vec::new();
        let mut annotated_by = Vec::new();
        for s in samples {
            let seq = *seq_by_id
                .get(&s.id)
                .ok_or_else(|| Error::internal(format!("no seq returned for sample {}", s.id)))?;
            for (ordinal, label) in s.labels.iter().enumerate() {
                label_seqs.push(seq);
                ordinals
                    .push(i32::try_from(ordinal).map_err(|_| Error::internal("sample label ordinal out of range"))?);
                label_ids.push(label.label_id);
                instance_ids.push(label.instance_id.as_deref());
                properties.push(Json(&label.property));
                scores.push(label.score);
                annotated_by.push(label.annotated_by.as_deref());
            }
        }
        if !label_seqs.is_empty() {
            tx.execute(
                "INSERT INTO sample_labels (sample_seq, ordinal, label_id, instance_id, property,
                                            score, annotated_by)
                 SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::int8[], $4::text[],
                                      $5::jsonb[], $6::float8[], $7::text[])",
                &[
                    &label_seqs,
                    &ordinals,
                    &label_ids,
                    &instance_ids,
                    &properties,
                    &scores,
                    &annotated_by,
                ],
            )
            .await
            .map_err(sql("insert sample labels"))?;
        }
        tx.commit().await.map_err(sql("commit insert samples"))
    }

    async fn list_samples(&self, dataset_id: &str, query: &SampleQuery) -> Result<(u64, Vec<SampleRecord>)> {
        let mut params = Params::default();
        let filter = sample_filter(dataset_id, query, &mut params);
        let direction = if query.ascending { "ASC" } else { "DESC" };
        let count_sql = format!("SELECT count(*) AS total FROM samples s WHERE {filter}");
        let (limit, offset) = page(query.offset, query.limit);
        let total_params = params.0.len();
        let page_sql = format!(
            "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE {filter}
             ORDER BY s.seq {direction}
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );

        let mut client = self.client().await?;
        let tx = read_snapshot(&mut client).await?;
        let refs = params.refs();
        let total_row = tx
            .query_one(&count_sql, &refs[..total_params])
            .await
            .map_err(sql("count samples"))?;
        let rows = tx.query(&page_sql, &refs).await.map_err(sql("list samples"))?;
        let page = rows.iter().map(sample_from_row).collect::<Result<Vec<_>>>()?;
        let samples = attach_labels(&tx, page).await?;
        tx.commit().await.map_err(sql("commit list samples"))?;
        Ok((count(col(&total_row, "total")?), samples))
    }

    async fn get_sample(&self, dataset_id: &str, sample_id: &str) -> Result<SampleRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {SAMPLE_COLUMNS} FROM samples s
                     WHERE s.dataset_id = $1 AND s.id = $2"
                ),
                &[&dataset_id, &sample_id],
            )
            .await
            .map_err(sql("get sample"))?
            .ok_or_else(|| Error::sample_not_found(sample_id))?;
        let sample = sample_from_row(&row)?;
        attach_labels(&client, vec![sample])
            .await?
            .pop()
            .ok_or_else(|| Error::sample_not_found(sample_id))
    }

    async fn delete_samples(&self, dataset_id: &str, ids: &[String]) -> Result<Vec<DeletedSample>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "WITH gone AS (
                     DELETE FROM samples
                     WHERE dataset_id = $1 AND id = ANY($2)
                     RETURNING seq, id, blob_sha256
                 )
                 SELECT id, blob_sha256 FROM gone ORDER BY seq",
                &[&dataset_id, &ids],
            )
            .await
            .map_err(sql("delete samples"))?;
        rows.iter().map(deleted_from_row).collect()
    }

    async fn blob_in_use(&self, sha256: &str) -> Result<bool> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM samples WHERE blob_sha256 = $1) AS used",
                &[&sha256],
            )
            .await
            .map_err(sql("blob in use"))?;
        col(&row, "used")
    }

    // ---- teams and members ----

    async fn insert_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO workforces (id, project_id, name, description, create_time, update_time)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &workforce.id,
                    &workforce.project_id,
                    &workforce.name,
                    &workforce.description,
                    &workforce.create_time,
                    &workforce.update_time,
                ],
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, WORKFORCES_NAME_KEY) {
                    workforce_exists(&workforce.name)
                } else {
                    db_err("insert workforce", &e)
                }
            })?;
        Ok(())
    }

    async fn get_workforce(&self, project_id: &str, workforce_id: &str) -> Result<WorkforceRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {WORKFORCE_COLUMNS} FROM workforces f WHERE f.project_id = $1 AND f.id = $2"),
                &[&project_id, &workforce_id],
            )
            .await
            .map_err(sql("get workforce"))?
            .ok_or_else(|| workforce_not_found(workforce_id))?;
        workforce_from_row(&row)
    }

    async fn list_workforces(&self, project_id: &str, query: &WorkforceQuery) -> Result<(u64, Vec<WorkforceRecord>)> {
        let mut params = Params::default();
        let mut filter = format!("f.project_id = {}", params.push(project_id.to_string()));
        if let Some(search) = query.search_content.as_deref().filter(|s| !s.is_empty()) {
            filter += &format!(
                " AND f.name ILIKE {} ESCAPE '\\'",
                params.push(contains_pattern(search))
            );
        }
        if let Some(task_id) = &query.task_id {
            filter += &format!(
                " AND EXISTS (SELECT 1 FROM task_workers tw JOIN workers w ON w.id = tw.worker_id
                              WHERE tw.task_id = {} AND w.workforce_id = f.id)",
                params.push(task_id.clone())
            );
        }
        let direction = if query.ascending { "ASC" } else { "DESC" };
        let key = if query.sort_by_name {
            "f.name COLLATE \"C\""
        } else {
            "f.create_time"
        };
        let count_sql = format!("SELECT count(*) AS total FROM workforces f WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(query.offset, query.limit);
        let page_sql = format!(
            "SELECT {WORKFORCE_COLUMNS} FROM workforces f WHERE {filter}
             ORDER BY {key} {direction}, f.id COLLATE \"C\" {direction}
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list workforces")
            .await?;
        Ok((total, rows.iter().map(workforce_from_row).collect::<Result<_>>()?))
    }

    async fn update_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE workforces SET name = $1, description = $2, update_time = $3
                 WHERE id = $4 AND project_id = $5",
                &[
                    &workforce.name,
                    &workforce.description,
                    &workforce.update_time,
                    &workforce.id,
                    &workforce.project_id,
                ],
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, WORKFORCES_NAME_KEY) {
                    workforce_exists(&workforce.name)
                } else {
                    db_err("update workforce", &e)
                }
            })?;
        if n == 0 {
            return Err(workforce_not_found(&workforce.id));
        }
        Ok(())
    }

    async fn delete_workforce(&self, project_id: &str, workforce_id: &str) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM workforces WHERE project_id = $1 AND id = $2",
                &[&project_id, &workforce_id],
            )
            .await
            .map_err(sql("delete workforce"))?;
        if n == 0 {
            return Err(workforce_not_found(workforce_id));
        }
        Ok(())
    }

    async fn insert_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO workers (id, workforce_id, user_id, role, description, create_time, update_time)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &worker.id,
                    &worker.workforce_id,
                    &worker.user_id,
                    &worker.role.code(),
                    &worker.description,
                    &worker.create_time,
                    &worker.update_time,
                ],
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, WORKERS_USER_KEY) {
                    worker_exists(&worker.user_id)
                } else {
                    db_err("insert worker", &e)
                }
            })?;
        Ok(())
    }

    async fn get_worker(&self, workforce_id: &str, worker_id: &str) -> Result<WorkerRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id
                     WHERE w.workforce_id = $1 AND w.id = $2"
                ),
                &[&workforce_id, &worker_id],
            )
            .await
            .map_err(sql("get worker"))?
            .ok_or_else(|| worker_not_found(worker_id))?;
        worker_from_row(&row)
    }

    async fn list_workers(&self, project_id: &str, query: &WorkerQuery) -> Result<(u64, Vec<WorkerRecord>)> {
        let mut params = Params::default();
        let mut filter = format!("f.project_id = {}", params.push(project_id.to_string()));
        if let Some(workforce_id) = &query.workforce_id {
            filter += &format!(" AND w.workforce_id = {}", params.push(workforce_id.clone()));
        }
        if let Some(role) = query.role {
            filter += &format!(" AND w.role = {}", params.push(role.code()));
        }
        let from = "workers w JOIN users u ON u.id = w.user_id JOIN workforces f ON f.id = w.workforce_id";
        let direction = if query.ascending { "ASC" } else { "DESC" };
        let key = if query.sort_by_email {
            "u.email COLLATE \"C\""
        } else {
            "w.create_time"
        };
        let count_sql = format!("SELECT count(*) AS total FROM {from} WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(query.offset, query.limit);
        let page_sql = format!(
            "SELECT {WORKER_COLUMNS} FROM {from} WHERE {filter}
             ORDER BY {key} {direction}, w.id COLLATE \"C\" {direction}
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list workers")
            .await?;
        Ok((total, rows.iter().map(worker_from_row).collect::<Result<_>>()?))
    }

    async fn update_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE workers SET role = $1, description = $2, update_time = $3
                 WHERE id = $4 AND workforce_id = $5",
                &[
                    &worker.role.code(),
                    &worker.description,
                    &worker.update_time,
                    &worker.id,
                    &worker.workforce_id,
                ],
            )
            .await
            .map_err(sql("update worker"))?;
        if n == 0 {
            return Err(worker_not_found(&worker.id));
        }
        Ok(())
    }

    async fn delete_workers(&self, workforce_id: &str, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "DELETE FROM workers WHERE workforce_id = $1 AND id = ANY($2) RETURNING id",
                &[&workforce_id, &ids],
            )
            .await
            .map_err(sql("delete workers"))?;
        let gone = rows
            .iter()
            .map(|row| col::<String>(row, "id"))
            .collect::<Result<HashSet<_>>>()?;
        // In the order asked, each once.
        Ok(distinct(ids)
            .into_iter()
            .filter(|id| gone.contains(*id))
            .map(str::to_string)
            .collect())
    }

    async fn workers_of_user(&self, user_id: &str) -> Result<Vec<WorkerRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id
                     WHERE w.user_id = $1
                     ORDER BY w.create_time, w.id COLLATE \"C\""
                ),
                &[&user_id],
            )
            .await
            .map_err(sql("workers of user"))?;
        rows.iter().map(worker_from_row).collect()
    }

    async fn worker_has_open_work(&self, worker_id: &str) -> Result<bool> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM task_copies tc JOIN workforce_tasks t ON t.id = tc.task_id
                                WHERE tc.worker_id = $1 AND tc.state <> '__ACCEPTED__' AND t.status <> 3)
                        AS open",
                &[&worker_id],
            )
            .await
            .map_err(sql("worker open work"))?;
        col(&row, "open")
    }

    // ---- team tasks ----

    async fn insert_task(&self, task: &TaskRecord, worker_ids: &[String]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        tx.execute(
            "INSERT INTO workforce_tasks (id, dataset_id, name, description, status, repetition,
                                          workforces_config, sample_conditions, synchronize_data,
                                          synchronize_auto_labeling_data, auto_sync_dataset,
                                          data_sync_type, create_time, update_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &task.id,
                &task.dataset_id,
                &task.name,
                &task.description,
                &task.status,
                &task.repetition,
                &task.workforces_config,
                &task.sample_conditions,
                &task.synchronize_data,
                &task.synchronize_auto_labeling_data,
                &task.auto_sync_dataset,
                &task.data_sync_type,
                &task.create_time,
                &task.update_time,
            ],
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e, TASKS_NAME_KEY) {
                task_exists(&task.name)
            } else {
                db_err("insert task", &e)
            }
        })?;
        insert_task_workers(&tx, &task.id, worker_ids).await?;
        tx.commit().await.map_err(sql("commit insert task"))
    }

    async fn get_task(&self, dataset_id: &str, task_id: &str) -> Result<TaskRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {TASK_COLUMNS} FROM workforce_tasks t WHERE t.dataset_id = $1 AND t.id = $2"),
                &[&dataset_id, &task_id],
            )
            .await
            .map_err(sql("get task"))?
            .ok_or_else(|| task_not_found(task_id))?;
        task_from_row(&row)
    }

    async fn list_tasks(&self, dataset_id: &str, offset: u64, limit: u64) -> Result<(u64, Vec<TaskRecord>)> {
        let mut params = Params::default();
        let filter = format!("t.dataset_id = {}", params.push(dataset_id.to_string()));
        let count_sql = format!("SELECT count(*) AS total FROM workforce_tasks t WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(offset, limit);
        let page_sql = format!(
            "SELECT {TASK_COLUMNS} FROM workforce_tasks t WHERE {filter}
             ORDER BY t.create_time DESC, t.id COLLATE \"C\" DESC
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list tasks")
            .await?;
        Ok((total, rows.iter().map(task_from_row).collect::<Result<_>>()?))
    }

    async fn update_task(&self, task: &TaskRecord, worker_ids: Option<&[String]>) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let n = tx
            .execute(
                "UPDATE workforce_tasks
                 SET name = $1, description = $2, status = $3, workforces_config = $4, update_time = $5
                 WHERE id = $6 AND dataset_id = $7",
                &[
                    &task.name,
                    &task.description,
                    &task.status,
                    &task.workforces_config,
                    &task.update_time,
                    &task.id,
                    &task.dataset_id,
                ],
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, TASKS_NAME_KEY) {
                    task_exists(&task.name)
                } else {
                    db_err("update task", &e)
                }
            })?;
        if n == 0 {
            return Err(task_not_found(&task.id));
        }
        if let Some(worker_ids) = worker_ids {
            tx.execute("DELETE FROM task_workers WHERE task_id = $1", &[&task.id])
                .await
                .map_err(sql("clear task workers"))?;
            insert_task_workers(&tx, &task.id, worker_ids).await?;
        }
        tx.commit().await.map_err(sql("commit update task"))
    }

    async fn delete_task(&self, dataset_id: &str, task_id: &str) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM workforce_tasks WHERE dataset_id = $1 AND id = $2",
                &[&dataset_id, &task_id],
            )
            .await
            .map_err(sql("delete task"))?;
        if n == 0 {
            return Err(task_not_found(task_id));
        }
        Ok(())
    }

    async fn task_workers(&self, task_id: &str) -> Result<Vec<WorkerRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {WORKER_COLUMNS}
                     FROM task_workers tw
                     JOIN workers w ON w.id = tw.worker_id
                     JOIN users u ON u.id = w.user_id
                     WHERE tw.task_id = $1
                     ORDER BY w.id COLLATE \"C\""
                ),
                &[&task_id],
            )
            .await
            .map_err(sql("task workers"))?;
        rows.iter().map(worker_from_row).collect()
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
        let mut params = Params::default();
        let mut filter = format!("w.user_id = {}", params.push(user_id.to_string()));
        if let Some(search) = search_content.filter(|s| !s.is_empty()) {
            filter += &format!(
                " AND t.name ILIKE {} ESCAPE '\\'",
                params.push(contains_pattern(search))
            );
        }
        let from = "task_workers tw
                    JOIN workers w ON w.id = tw.worker_id
                    JOIN users u ON u.id = w.user_id
                    JOIN workforce_tasks t ON t.id = tw.task_id";
        let direction = if ascending { "ASC" } else { "DESC" };
        let key = if sort_by_name {
            "t.name COLLATE \"C\""
        } else {
            "t.create_time"
        };
        let count_sql = format!("SELECT count(*) AS total FROM {from} WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(offset, limit);
        let page_sql = format!(
            "SELECT {TASK_COLUMNS}, {WORKER_COLUMNS} FROM {from} WHERE {filter}
             ORDER BY {key} {direction}, t.id COLLATE \"C\" {direction}, w.id COLLATE \"C\"
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list user tasks")
            .await?;
        let tasks = rows
            .iter()
            .map(|row| Ok((task_from_row(row)?, worker_from_row(row)?)))
            .collect::<Result<_>>()?;
        Ok((total, tasks))
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
        let n = labelers.len();
        if n == 0 || repetition == 0 || repetition as usize > n {
            return Err(Error::bad_request(
                codes::TASK_START_FAILED,
                "a task needs at least `repetition` labelers",
            ));
        }
        let n = i64::try_from(n).map_err(|_| Error::internal("too many labelers"))?;
        let mut params = Params::default();
        let filter = sample_filter(dataset_id, samples, &mut params);
        let task = params.push(task_id.to_string());
        let at = params.push(now);
        let lab = params.push(labelers.to_vec());
        let reps = params.push(i64::from(repetition));
        let count = params.push(n);
        // Sample i (0-based, in insertion order among those matching) goes to labelers
        // (i * repetition + k) mod n for k in 0..repetition, labelers numbered from 0 in the
        // order given: one set-based insert.
        let insert_sql = format!(
            "WITH chosen AS (
                 SELECT s.seq, ROW_NUMBER() OVER (ORDER BY s.seq) - 1 AS i
                 FROM samples s WHERE {filter}
             ),
             lab AS (
                 SELECT l.worker_id, l.ord - 1 AS j
                 FROM UNNEST({lab}::text[]) WITH ORDINALITY AS l(worker_id, ord)
             ),
             rep AS (
                 SELECT k FROM generate_series(0::int8, {reps}::int8 - 1) AS k
             )
             INSERT INTO task_copies (task_id, sample_seq, worker_id, state, version, update_time)
             SELECT {task}::text, chosen.seq, lab.worker_id, '__NONE__', 0, {at}::int8
             FROM chosen
             CROSS JOIN rep
             JOIN lab ON lab.j = (chosen.i * {reps}::int8 + rep.k) % {count}::int8
             ORDER BY chosen.seq, rep.k"
        );

        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        // Concurrent starts of one task queue up here.
        tx.query_opt("SELECT 1 FROM workforce_tasks WHERE id = $1 FOR UPDATE", &[&task_id])
            .await
            .map_err(sql("lock task"))?;
        let copies = tx
            .execute(&insert_sql, &params.refs())
            .await
            .map_err(sql("assign task samples"))?;
        tx.execute(
            "UPDATE workforce_tasks SET status = $1, update_time = $2 WHERE id = $3",
            &[&status, &now, &task_id],
        )
        .await
        .map_err(sql("set task status"))?;
        tx.commit().await.map_err(sql("commit start task"))?;
        Ok(copies / u64::from(repetition))
    }

    async fn task_copy_counts(&self, task_id: &str) -> Result<Vec<CopyCount>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT worker_id, state, count(*) AS n
                 FROM task_copies
                 WHERE task_id = $1
                 GROUP BY worker_id, state
                 ORDER BY worker_id COLLATE \"C\", state COLLATE \"C\"",
                &[&task_id],
            )
            .await
            .map_err(sql("task copy counts"))?;
        rows.iter()
            .map(|row| {
                Ok(CopyCount {
                    worker_id: col(row, "worker_id")?,
                    state: col(row, "state")?,
                    count: count(col(row, "n")?),
                })
            })
            .collect()
    }

    async fn task_sample_count(&self, task_id: &str) -> Result<u64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT count(DISTINCT sample_seq) AS n FROM task_copies WHERE task_id = $1",
                &[&task_id],
            )
            .await
            .map_err(sql("task sample count"))?;
        Ok(count(col(&row, "n")?))
    }

    async fn task_label_usage(&self, task_id: &str) -> Result<Vec<LabelUsage>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT cl.label_id, count(*) AS n, count(DISTINCT tc.sample_seq) AS samples
                 FROM task_copies tc
                 JOIN task_copy_labels cl ON cl.copy_id = tc.id
                 WHERE tc.task_id = $1
                 GROUP BY cl.label_id
                 ORDER BY cl.label_id",
                &[&task_id],
            )
            .await
            .map_err(sql("task label usage"))?;
        rows.iter().map(usage_from_row).collect()
    }

    // ---- label writes ----

    async fn load_team_samples(
        &self,
        task_id: &str,
        dataset_id: &str,
        sample_ids: &[String],
    ) -> Result<Vec<TeamSample>> {
        if sample_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let tx = read_snapshot(&mut client).await?;
        let samples = load_samples_by_id(&tx, dataset_id, sample_ids).await?;
        let seqs: Vec<i64> = samples.iter().map(|(seq, _)| *seq).collect();
        let rows = tx
            .query(
                &format!(
                    "SELECT c.sample_seq, {COPY_COLUMNS}
                     FROM task_copies c
                     WHERE c.task_id = $1 AND c.sample_seq = ANY($2)
                     ORDER BY c.sample_seq, c.worker_id COLLATE \"C\""
                ),
                &[&task_id, &seqs],
            )
            .await
            .map_err(sql("load copies"))?;
        let mut copies_of: HashMap<i64, Vec<CopyRecord>> = HashMap::new();
        for row in &rows {
            copies_of
                .entry(col(row, "sample_seq")?)
                .or_default()
                .push(copy_from_row(row)?);
        }
        let mut out: Vec<TeamSample> = samples
            .into_iter()
            .map(|(seq, sample)| TeamSample {
                sample,
                copies: copies_of.remove(&seq).unwrap_or_default(),
            })
            .collect();
        {
            let mut all: Vec<&mut CopyRecord> = out.iter_mut().flat_map(|s| s.copies.iter_mut()).collect();
            attach_copy_labels(&tx, &mut all).await?;
        }
        tx.commit().await.map_err(sql("commit load team samples"))?;
        Ok(out)
    }

    async fn find_idempotency(&self, project_id: &str, user_id: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT request_hash, status, response, create_time FROM idempotency_keys
                 WHERE project_id = $1 AND user_id = $2 AND idem_key = $3 AND create_time > $4",
                &[&project_id, &user_id, &key, &(now_ms() - IDEMPOTENCY_TTL_MS)],
            )
            .await
            .map_err(sql("find idempotency key"))?;
        Ok(match row {
            None => None,
            Some(r) => Some(IdempotencyRecord {
                project_id: project_id.to_string(),
                user_id: user_id.to_string(),
                key: key.to_string(),
                request_hash: r.try_get(0).map_err(sql("idempotency row"))?,
                status: r.try_get(1).map_err(sql("idempotency row"))?,
                response: r.try_get::<_, Json<Value>>(2).map_err(sql("idempotency row"))?.0,
                create_time: r.try_get(3).map_err(sql("idempotency row"))?,
            }),
        })
    }

    async fn write_copies_with(
        &self,
        writes: &[CopyWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        if writes.is_empty() && history.is_empty() && idempotency.is_none() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let distinct = writes.iter().map(|w| w.copy_id).collect::<HashSet<_>>().len() == writes.len();
        if !writes.is_empty() && distinct {
            // Every copy once: lock them in id order (concurrent batches over the same copies
            // then wait for each other instead of deadlocking), and update them in one statement.
            let ids: Vec<i64> = writes.iter().map(|w| w.copy_id).collect();
            tx.query(
                "SELECT id FROM task_copies WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &[&ids],
            )
            .await
            .map_err(sql("lock copies"))?;
            let expected: Vec<i64> = writes.iter().map(|w| w.expected_version).collect();
            let states: Vec<&str> = writes.iter().map(|w| w.state.as_str()).collect();
            let metadata: Vec<Option<Json<&Map<String, Value>>>> =
                writes.iter().map(|w| w.metadata.as_ref().map(Json)).collect();
            let usages: Vec<Option<&str>> = writes.iter().map(|w| w.sample_usage.as_deref()).collect();
            let times: Vec<i64> = writes.iter().map(|w| w.update_time).collect();
            let n = tx
                .execute(
                    "UPDATE task_copies t
                     SET state = u.state, version = t.version + 1, metadata = COALESCE(u.metadata, t.metadata),
                         sample_usage = COALESCE(u.usage, t.sample_usage), update_time = u.update_time
                     FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[], $6::bigint[])
                          AS u(id, expected, state, metadata, usage, update_time)
                     WHERE t.id = u.id AND t.version = u.expected",
                    &[&ids, &expected, &states, &metadata, &usages, &times],
                )
                .await
                .map_err(sql("write copies"))?;
            if n != writes.len() as u64 {
                // Dropping the transaction rolls back everything written so far.
                return Err(version_conflict());
            }
        } else if !writes.is_empty() {
            let bump = tx
                .prepare_cached(
                    "UPDATE task_copies
                     SET state = $1, version = version + 1, metadata = COALESCE($2, metadata),
                         sample_usage = COALESCE($3, sample_usage), update_time = $4
                     WHERE id = $5 AND version = $6",
                )
                .await
                .map_err(sql("prepare copy write"))?;
            // Rows are locked in id order (stable, so writes of one copy keep their order):
            // concurrent batches over the same copies wait for each other instead of deadlocking.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by_key(|&i| writes[i].copy_id);
            for w in order.iter().map(|&i| &writes[i]) {
                let n = tx
                    .execute(
                        &bump,
                        &[
                            &w.state,
                            &w.metadata.as_ref().map(Json),
                            &w.sample_usage,
                            &w.update_time,
                            &w.copy_id,
                            &w.expected_version,
                        ],
                    )
                    .await
                    .map_err(sql("write copy"))?;
                if n == 0 {
                    // Dropping the transaction rolls back the writes made so far.
                    return Err(version_conflict());
                }
            }
        }
        if !writes.is_empty() {
            let copy_ids: Vec<i64> = writes.iter().map(|w| w.copy_id).collect();
            tx.execute("DELETE FROM task_copy_labels WHERE copy_id = ANY($1)", &[&copy_ids])
                .await
                .map_err(sql("clear copy labels"))?;
            let mut labels = LabelRows::default();
            for i in last_writes(writes.iter().map(|w| w.copy_id)) {
                labels.push(writes[i].copy_id, &writes[i].labels)?;
            }
            labels.insert(&tx, "task_copy_labels", "copy_id").await?;
        }
        insert_history(&tx, history).await?;
        if let Some(record) = idempotency {
            insert_idempotency(&tx, record).await?;
        }
        tx.commit().await.map_err(sql("commit write copies"))
    }

    async fn list_team_samples(&self, task_id: &str, query: &TeamSampleQuery) -> Result<(u64, Vec<TeamSampleRow>)> {
        let mut params = Params::default();
        let mut filter = format!("c.task_id = {}", params.push(task_id.to_string()));
        if let Some(worker_id) = &query.worker_id {
            filter += &format!(" AND c.worker_id = {}", params.push(worker_id.clone()));
        }
        if let Some(sample_id) = &query.sample_id {
            filter += &format!(" AND s.id = {}", params.push(sample_id.clone()));
        }
        if let Some(states) = &query.states {
            // An empty list matches nothing.
            filter += &format!(" AND c.state = ANY({})", params.push(states.clone()));
        }
        for group in &query.label_groups {
            filter += &label_group_clause(group, "task_copy_labels", "copy_id", "c.id", &mut params);
        }
        let from = "task_copies c JOIN samples s ON s.seq = c.sample_seq";
        // Every copy has its sample (a foreign key), so the count joins samples only when it
        // filters on them: counting a task's copies alone reads one index.
        let count_from = if query.sample_id.is_some() {
            from
        } else {
            "task_copies c"
        };
        let count_sql = format!("SELECT count(*) AS total FROM {count_from} WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(query.offset, query.limit);
        let page_sql = format!(
            "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM {from} WHERE {filter}
             ORDER BY c.sample_seq, c.worker_id COLLATE \"C\"
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );

        let mut client = self.client().await?;
        let tx = read_snapshot(&mut client).await?;
        let refs = params.refs();
        let total_row = tx
            .query_one(&count_sql, &refs[..count_params])
            .await
            .map_err(sql("count team samples"))?;
        let rows = tx.query(&page_sql, &refs).await.map_err(sql("list team samples"))?;
        let mut page = rows
            .iter()
            .map(|row| {
                let (seq, sample) = sample_from_row(row)?;
                Ok((seq, sample, copy_from_row(row)?))
            })
            .collect::<Result<Vec<_>>>()?;
        {
            let mut copies: Vec<&mut CopyRecord> = page.iter_mut().map(|(_, _, copy)| copy).collect();
            attach_copy_labels(&tx, &mut copies).await?;
        }
        // Every labeler of each sample on the page, in one query.
        let mut seqs: Vec<i64> = page.iter().map(|(seq, _, _)| *seq).collect();
        seqs.dedup();
        let mut labelers_of: HashMap<i64, Vec<Labeler>> = HashMap::new();
        if !seqs.is_empty() {
            let rows = tx
                .query(
                    "SELECT tc.sample_seq, w.id AS worker_id, u.email, w.role
                     FROM task_copies tc
                     JOIN workers w ON w.id = tc.worker_id
                     JOIN users u ON u.id = w.user_id
                     WHERE tc.task_id = $1 AND tc.sample_seq = ANY($2)
                     ORDER BY tc.sample_seq, w.id COLLATE \"C\"",
                    &[&task_id, &seqs],
                )
                .await
                .map_err(sql("labelers of samples"))?;
            for row in &rows {
                labelers_of.entry(col(row, "sample_seq")?).or_default().push(Labeler {
                    worker_id: col(row, "worker_id")?,
                    email: col(row, "email")?,
                    role: role(col(row, "role")?)?,
                });
            }
        }
        tx.commit().await.map_err(sql("commit list team samples"))?;
        let out = page
            .into_iter()
            .map(|(seq, sample, copy)| TeamSampleRow {
                sample,
                copy,
                labelers: labelers_of.get(&seq).cloned().unwrap_or_default(),
            })
            .collect();
        Ok((count(col(&total_row, "total")?), out))
    }

    async fn load_samples(&self, dataset_id: &str, sample_ids: &[String]) -> Result<Vec<SampleRecord>> {
        if sample_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let tx = read_snapshot(&mut client).await?;
        let samples = load_samples_by_id(&tx, dataset_id, sample_ids).await?;
        let samples = attach_labels(&tx, samples).await?;
        tx.commit().await.map_err(sql("commit load samples"))?;
        Ok(samples)
    }

    async fn write_samples_with(
        &self,
        writes: &[SampleWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        if writes.is_empty() && history.is_empty() && idempotency.is_none() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        if !writes.is_empty() {
            let bump = tx
                .prepare_cached(
                    "UPDATE samples
                     SET status = $1, version = version + 1, metadata = $2,
                         sample_usage = COALESCE($3, sample_usage), update_time = $4
                     WHERE dataset_id = $5 AND id = $6 AND version = $7
                     RETURNING seq",
                )
                .await
                .map_err(sql("prepare sample write"))?;
            // Rows are locked in key order (stable, so writes of one sample keep their order):
            // concurrent batches over the same samples wait for each other instead of deadlocking.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by(|&i, &j| {
                (&writes[i].dataset_id, &writes[i].sample_id).cmp(&(&writes[j].dataset_id, &writes[j].sample_id))
            });
            let mut seqs = vec![0_i64; writes.len()];
            for &i in &order {
                let w = &writes[i];
                let row = tx
                    .query_opt(
                        &bump,
                        &[
                            &w.status.as_str(),
                            &Json(&w.metadata),
                            &w.sample_usage,
                            &w.update_time,
                            &w.dataset_id,
                            &w.sample_id,
                            &w.expected_version,
                        ],
                    )
                    .await
                    .map_err(sql("write sample"))?;
                let Some(row) = row else {
                    // Dropping the transaction rolls back the writes made so far.
                    return Err(version_conflict());
                };
                seqs[i] = col::<i64>(&row, "seq")?;
            }
            tx.execute("DELETE FROM sample_labels WHERE sample_seq = ANY($1)", &[&seqs])
                .await
                .map_err(sql("clear sample labels"))?;
            let mut labels = LabelRows::default();
            for i in last_writes(seqs.iter().copied()) {
                labels.push(seqs[i], &writes[i].labels)?;
            }
            labels.insert(&tx, "sample_labels", "sample_seq").await?;
        }
        insert_history(&tx, history).await?;
        if let Some(record) = idempotency {
            insert_idempotency(&tx, record).await?;
        }
        tx.commit().await.map_err(sql("commit write samples"))
    }

    async fn list_history(
        &self,
        dataset_id: &str,
        sample_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<HistoryRecord>)> {
        let mut params = Params::default();
        let filter = format!(
            "dataset_id = {} AND sample_id = {}",
            params.push(dataset_id.to_string()),
            params.push(sample_id.to_string())
        );
        let count_sql = format!("SELECT count(*) AS total FROM annotation_history WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(offset, limit);
        let page_sql = format!(
            "SELECT {HISTORY_COLUMNS} FROM annotation_history WHERE {filter}
             ORDER BY id DESC
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list history")
            .await?;
        Ok((total, rows.iter().map(history_from_row).collect::<Result<_>>()?))
    }
}
