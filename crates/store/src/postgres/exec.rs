//! How the PostgreSQL backend runs the shared SQL of `crate::sql`: values bound from `Arg`,
//! cells read through `Cells`, errors classified into `StoreError` by SQLSTATE and the
//! violated constraint's name (never by message text), and `Db` over the pool. Must not hold
//! domain logic.

use serde_json::Value;
use teamlabel_core::error::{Error, Result};
use teamlabel_core::store::StoreError;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use deadpool_postgres::Object;

use super::PgStore;
use crate::sql::decode::Cells;
use crate::sql::{self as shared, Arg, Db, Decode, Dialect, Guarded, Listing, Stmt};

/// Classifies a database error: a unique violation of a known constraint is that conflict, a
/// lost or refused connection is `Unavailable`, anything else `Internal` (logged, never shown).
pub(super) fn store_err(context: &str, e: &tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => {
            if *db.code() == SqlState::UNIQUE_VIOLATION {
                if let Some(constraint) = db.constraint().and_then(|n| shared::unique_key(Dialect::Postgres, n)) {
                    return StoreError::conflict(constraint);
                }
            }
            let code = db.code().code();
            let message = format!("{context}: {db}");
            // 08: connection exception; 57P: operator intervention; 53300: too many connections.
            if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                StoreError::Unavailable(message)
            } else {
                StoreError::Internal(message)
            }
        }
        None => {
            let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
            if e.is_closed() || io {
                StoreError::Unavailable(format!("{context}: {e}"))
            } else {
                StoreError::Internal(format!("{context}: {e}"))
            }
        }
    }
}

/// `store_err` as the API error.
pub(super) fn db_err(context: &str, e: &tokio_postgres::Error) -> Error {
    store_err(context, e).into()
}

/// `map_err` adapter for `db_err`.
pub(super) fn sql(context: &'static str) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| db_err(context, &e)
}

/// Commits a write transaction, timing the COMMIT (`telemetry::COMMIT_SECONDS`).
pub(super) async fn commit(tx: deadpool_postgres::Transaction<'_>, context: &'static str) -> Result<()> {
    let started = std::time::Instant::now();
    let out = tx.commit().await.map_err(sql(context));
    crate::telemetry::commit("postgres", started.elapsed());
    out
}

/// The values of a statement as the driver binds them.
pub(super) fn pg_args(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| -> &(dyn ToSql + Sync) {
            match a {
                Arg::Text(v) => v,
                Arg::OptText(v) => v,
                Arg::Int(v) => v,
                Arg::OptInt(v) => v,
                Arg::Int4(v) => v,
                Arg::OptInt4(v) => v,
                Arg::Bool(v) => v,
                Arg::OptBool(v) => v,
                Arg::OptFloat(v) => v,
                Arg::Bytes(v) => v,
                Arg::Json(v) => v,
                Arg::OptJson(v) => v,
                Arg::Texts(v) => v,
                Arg::Ints(v) => v,
            }
        })
        .collect()
}

fn cell<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i)
        .map_err(|e| StoreError::Internal(format!("reading column {i}: {e}")))
}

impl Cells for Row {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        cell(self, i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        cell(self, i)
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| self.bad("an integer column is NULL"))
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match *self.columns()[i].type_() {
            Type::INT2 => Ok(cell::<Option<i16>>(self, i)?.map(i64::from)),
            Type::INT4 => Ok(cell::<Option<i32>>(self, i)?.map(i64::from)),
            _ => cell(self, i),
        }
    }
    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        cell(self, i)
    }
    fn opt_flag(&self, i: usize) -> Result<Option<bool>, StoreError> {
        cell(self, i)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        cell(self, i)
    }
    fn opt_float(&self, i: usize) -> Result<Option<f64>, StoreError> {
        cell(self, i)
    }
    fn opt_json(&self, i: usize) -> Result<Option<Value>, StoreError> {
        match *self.columns()[i].type_() {
            Type::JSON | Type::JSONB => cell(self, i),
            _ => cell::<Option<String>>(self, i)?
                .map(|t| serde_json::from_str(&t).map_err(|_| self.bad("JSON text")))
                .transpose(),
        }
    }
}

#[async_trait::async_trait]
impl Db for PgStore {
    type Reader<'a> = PgSnapshot;

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn reader(&self) -> Result<PgSnapshot> {
        let client = self.client().await?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(sql("begin"))?;
        Ok(PgSnapshot { client: Some(client) })
    }

    async fn fetch_all<T: Send + 'static>(&self, stmt: Stmt, decode: Decode<T>) -> Result<Vec<T>> {
        let client = self.client().await?;
        let rows = client
            .query(stmt.sql.as_ref(), &pg_args(&stmt.args))
            .await
            .map_err(sql("query"))?;
        Ok(rows.iter().map(|r| decode(r)).collect::<Result<Vec<_>, _>>()?)
    }

    async fn fetch_list<T: Send + 'static>(&self, list: Listing, decode: Decode<T>) -> Result<(u64, Vec<T>)> {
        let mut client = self.client().await?;
        let tx = super::read_snapshot(&mut client).await?;
        let args = pg_args(&list.args);
        let total = tx
            .query_one(&list.count, &args[..list.count_args])
            .await
            .map_err(sql("count"))?;
        let rows = tx.query(&list.page, &args).await.map_err(sql("list"))?;
        tx.commit().await.map_err(sql("commit list"))?;
        let page = rows.iter().map(|r| decode(r)).collect::<Result<Vec<_>, _>>()?;
        Ok((total.count(0)?, page))
    }

    async fn execute(&self, stmts: Vec<Stmt>) -> Result<Vec<u64>> {
        let mut client = self.client().await?;
        if let [one] = stmts.as_slice() {
            // A single statement is a transaction of its own.
            let n = client
                .execute(one.sql.as_ref(), &pg_args(&one.args))
                .await
                .map_err(sql("write"))?;
            return Ok(vec![n]);
        }
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let mut changed = Vec::with_capacity(stmts.len());
        for s in &stmts {
            changed.push(
                tx.execute(s.sql.as_ref(), &pg_args(&s.args))
                    .await
                    .map_err(sql("write"))?,
            );
        }
        commit(tx, "commit").await?;
        Ok(changed)
    }

    async fn execute_guarded(&self, stmts: Vec<Guarded>) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        for g in &stmts {
            let n = tx
                .execute(g.stmt.sql.as_ref(), &pg_args(&g.stmt.args))
                .await
                .map_err(sql("write"))?;
            g.check(n)?;
        }
        commit(tx, "commit").await?;
        Ok(())
    }

    async fn write_rows<T: Send + 'static>(&self, stmts: Vec<Stmt>, decode: Decode<T>) -> Result<Vec<T>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let mut out = Vec::new();
        for s in &stmts {
            let rows = tx
                .query(s.sql.as_ref(), &pg_args(&s.args))
                .await
                .map_err(sql("write"))?;
            for r in &rows {
                out.push(decode(r)?);
            }
        }
        commit(tx, "commit").await?;
        Ok(out)
    }
}

/// One connection in a read-only transaction at REPEATABLE READ: the queries of one answer see
/// one state of the data. Dropping it ends the transaction (the connection goes back to the
/// pool once it has; a connection that cannot end it is closed).
pub struct PgSnapshot {
    client: Option<Object>,
}

impl PgSnapshot {
    fn client(&self) -> &Object {
        self.client
            .as_ref()
            .expect("a snapshot has its connection until dropped")
    }
}

impl Drop for PgSnapshot {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            tokio::spawn(async move {
                if client.batch_execute("COMMIT").await.is_err() {
                    drop(Object::take(client));
                }
            });
        }
    }
}

#[async_trait::async_trait]
impl Db for PgSnapshot {
    type Reader<'a> = &'a PgSnapshot;

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn reader(&self) -> Result<&PgSnapshot> {
        Ok(self)
    }

    async fn fetch_all<T: Send + 'static>(&self, stmt: Stmt, decode: Decode<T>) -> Result<Vec<T>> {
        let rows = self
            .client()
            .query(stmt.sql.as_ref(), &pg_args(&stmt.args))
            .await
            .map_err(sql("query"))?;
        Ok(rows.iter().map(|r| decode(r)).collect::<Result<Vec<_>, _>>()?)
    }

    async fn fetch_list<T: Send + 'static>(&self, list: Listing, decode: Decode<T>) -> Result<(u64, Vec<T>)> {
        let args = pg_args(&list.args);
        let total = self
            .client()
            .query_one(&list.count, &args[..list.count_args])
            .await
            .map_err(sql("count"))?;
        let rows = self.client().query(&list.page, &args).await.map_err(sql("list"))?;
        let page = rows.iter().map(|r| decode(r)).collect::<Result<Vec<_>, _>>()?;
        Ok((total.count(0)?, page))
    }

    async fn execute(&self, _: Vec<Stmt>) -> Result<Vec<u64>> {
        Err(StoreError::Internal("a read snapshot does not write".into()).into())
    }

    async fn execute_guarded(&self, _: Vec<Guarded>) -> Result<()> {
        Err(StoreError::Internal("a read snapshot does not write".into()).into())
    }

    async fn write_rows<T: Send + 'static>(&self, _: Vec<Stmt>, _: Decode<T>) -> Result<Vec<T>> {
        Err(StoreError::Internal("a read snapshot does not write".into()).into())
    }
}
