//! The PostgreSQL backend. `PgStore` owns a deadpool-postgres connection pool, the migration
//! runner of the PostgreSQL dialect (`schema_migrations`, serialized across servers by an
//! advisory lock), and the `Store` impl of each domain in its own file (the SQL both dialects
//! share is in `crate::sql`; here only what differs). JSON columns are JSONB; dataset,
//! sample and label types are stored as their documented integers, sample states as their text
//! names. The semantics match `SqliteStore`: one conformance suite runs against both. Must not
//! word API errors: it reports `StoreError`s.

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
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use serde_json::{Map, Value};
use teamlabel_core::clock::now_ms;
use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::error::{Error, Result};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    AccessKeyRecord, Constraint, CopyCount, CopyWrite, DatasetChange, DatasetQuery, DatasetRecord, DeletedSample,
    Entity, HistoryRecord, IdempotencyRecord, LabelUsage, Login, LoginState, OutboxEvent, Project, SampleCounts,
    SampleQuery, SampleRecord, SampleWrite, Store, StoreError, TaskRecord, TeamSample, TeamSampleQuery, TeamSampleRow,
    TokenRecord, User, WorkerQuery, WorkerRecord, WorkforceQuery, WorkforceRecord,
};
use tokio_postgres::types::Json;
use tokio_postgres::{IsolationLevel, NoTls};

/// Key of the advisory lock that serializes migrations between servers starting at once.
const MIGRATION_LOCK: i64 = 7245110;
/// Most connections one server holds.
const MAX_CONNECTIONS: usize = 16;

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
        let started = std::time::Instant::now();
        let client = self.pool.get().await;
        crate::telemetry::pool_wait("postgres", started, client.is_ok());
        client.map_err(|e| Error::unavailable(format!("PostgreSQL connection pool: {e}")))
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

crate::sql::acceptance::acceptance_store!(PgStore);
crate::sql::webhooks::webhook_store!(PgStore);

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
