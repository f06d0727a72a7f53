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
use teamlabel_core::app::now_ms;
use teamlabel_core::auth::Role;
use teamlabel_core::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use teamlabel_core::error::{codes, Error, Result};
use teamlabel_core::labels::{LabelAttribute, LabelDef};
use teamlabel_core::rules::PlacedLabel;
use teamlabel_core::store::{
    DatasetChange, DatasetQuery, DatasetRecord, DeletedSample, LabelUsage, Project, SampleCounts, SampleQuery,
    SampleRecord, Store, TokenRecord, User,
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
     s.sample_time, s.update_time";

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
    pub async fn durability_settings(&self) -> anyhow::Result<Vec<(String, String)>> {
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
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let seqs: Vec<i64> = samples.iter().map(|(seq, _)| *seq).collect();
    let rows = db
        .query(
            "SELECT sl.sample_seq, sl.label_id, l.name, l.type, sl.instance_id, sl.property,
                    sl.score, sl.annotated_by
             FROM sample_labels sl
             JOIN labels l ON l.id = sl.label_id
             WHERE sl.sample_seq = ANY($1)
             ORDER BY sl.sample_seq, sl.ordinal",
            &[&seqs],
        )
        .await
        .map_err(sql("load sample labels"))?;
    let mut by_seq: HashMap<i64, Vec<PlacedLabel>> = HashMap::new();
    for row in &rows {
        let label = PlacedLabel {
            label_id: col(row, "label_id")?,
            name: col(row, "name")?,
            label_type: label_type(col(row, "type")?)?,
            instance_id: col(row, "instance_id")?,
            property: json_object(col(row, "property")?, "sample label property")?,
            score: col(row, "score")?,
            annotated_by: col(row, "annotated_by")?,
        };
        by_seq.entry(col(row, "sample_seq")?).or_default().push(label);
    }
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

// ---- query building ----

/// Positional parameters of a query assembled from optional filters.
#[derive(Default)]
struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    /// Adds a value and answers its placeholder (`$n`).
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

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
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
        // Every group must match; an empty group matches nothing.
        for group in &query.label_groups {
            filter += &format!(
                " AND EXISTS (SELECT 1 FROM sample_labels sl
                              WHERE sl.sample_seq = s.seq AND sl.label_id = ANY({}))",
                params.push(group.clone())
            );
        }
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
}
