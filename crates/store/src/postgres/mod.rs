//! The PostgreSQL backend. `PgStore` owns a deadpool-postgres connection pool, the migration
//! runner of the PostgreSQL dialect (`schema_migrations`, serialized across servers by an
//! advisory lock) and the SQL behind every `Store` method. JSON columns are JSONB; dataset,
//! sample and label types are stored as their documented integers, sample states as their text
//! names. The semantics match `SqliteStore`: one conformance suite runs against both.

mod datasets;
mod exec;
mod identity;
mod rows;
mod samples;
mod tasks;
mod team_samples;
mod teams;
mod writes;

use exec::*;
use rows::*;
use writes::*;

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
    AccessKeyRecord, Constraint, CopyCount, CopyRecord, CopyWrite, DatasetChange, DatasetQuery, DatasetRecord,
    DatasetStore, DeletedSample, Entity, HistoryRecord, IdempotencyRecord, IdentityStore, LabelUsage, Labeler, Login,
    LoginState, Project, SampleCounts, SampleQuery, SampleRecord, SampleStore, SampleWrite, Store, StoreError,
    TaskRecord, TaskStore, TeamSample, TeamSampleQuery, TeamSampleRow, TeamSampleStore, TeamStore, TokenRecord, User,
    WorkerQuery, WorkerRecord, WorkforceQuery, WorkforceRecord, IDEMPOTENCY_TTL_MS,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Json, ToSql};
use tokio_postgres::{IsolationLevel, NoTls, Row};

/// Key of the advisory lock that serializes migrations between servers starting at once.
const MIGRATION_LOCK: i64 = 7245110;
/// Most connections one server holds.
const MAX_CONNECTIONS: usize = 16;

const LABELS_NAME_KEY: &str = "labels_dataset_id_name_type_key";

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

// ---- query building ----

/// Positional parameters of a query assembled from optional filters.
#[derive(Default)]
struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    /// Adds a value and answers its parameter reference (`$n`).
    pub(super) fn push(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    pub(super) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
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
}
