//! How the SQLite backend runs the shared SQL of `crate::sql`: values bound from `Arg`, cells
//! read through `Cells`, errors classified into `StoreError` by extended result code and the
//! columns SQLite names for a unique constraint (never by other message text), and `Db` over
//! the reader pool and the group-committing writer. Must not hold domain logic.

use std::borrow::Cow;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, Row, ToSql};
use serde_json::Value;
use teamlabel_core::error::{Error, Result};
use teamlabel_core::store::StoreError;

use super::SqliteStore;
use crate::sql::decode::Cells;
use crate::sql::{self, Arg, Db, Decode, Dialect, Guarded, Listing, Stmt};

/// Classifies a SQLite error. SQLite names a violated unique constraint only by its columns
/// (`UNIQUE constraint failed: t.a, t.b`); that list, matched whole against `sql::UNIQUE_KEYS`,
/// says which one.
pub(super) fn store_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        let unique = [
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
            rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
        ];
        if unique.contains(&f.extended_code) {
            let columns = msg.strip_prefix("UNIQUE constraint failed: ").unwrap_or_default();
            if let Some(constraint) = sql::unique_key(Dialect::Sqlite, columns) {
                return StoreError::conflict(constraint);
            }
        }
    }
    StoreError::Internal(format!("sqlite: {e}"))
}

/// `store_err` as the API error.
pub(super) fn db_err(e: rusqlite::Error) -> Error {
    store_err(e).into()
}

/// An error a read or write closure may answer.
pub(super) trait Fault {
    fn fault(self) -> Error;
}

impl Fault for rusqlite::Error {
    fn fault(self) -> Error {
        db_err(self)
    }
}

impl Fault for StoreError {
    fn fault(self) -> Error {
        self.into()
    }
}

impl Fault for Error {
    fn fault(self) -> Error {
        self
    }
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let int = |i: Option<i64>| ToSqlOutput::Owned(i.map_or(SqlValue::Null, SqlValue::Integer));
        Ok(match self {
            Arg::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Arg::OptText(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Arg::OptText(None) => ToSqlOutput::Owned(SqlValue::Null),
            Arg::Int(i) => int(Some(*i)),
            Arg::OptInt(i) => int(*i),
            Arg::Int4(i) => int(Some(i64::from(*i))),
            Arg::OptInt4(i) => int(i.map(i64::from)),
            Arg::Bool(b) => int(Some(i64::from(*b))),
            Arg::OptBool(b) => int(b.map(i64::from)),
            Arg::OptFloat(f) => ToSqlOutput::Owned(f.map_or(SqlValue::Null, SqlValue::Real)),
            Arg::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Arg::Json(v) => ToSqlOutput::Owned(SqlValue::Text(v.to_string())),
            Arg::OptJson(v) => ToSqlOutput::Owned(v.as_ref().map_or(SqlValue::Null, |v| SqlValue::Text(v.to_string()))),
            Arg::Texts(_) | Arg::Ints(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "SQLite binds list items one by one".into(),
                ))
            }
        })
    }
}

/// A SQLite row read by position.
pub(super) struct Cols<'a, 'b>(pub &'a Row<'b>);

impl Cols<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T, StoreError> {
        self.0.get(i).map_err(store_err)
    }
}

impl Cells for Cols<'_, '_> {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.get(i)
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.get(i)
    }
    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        self.get(i)
    }
    fn opt_flag(&self, i: usize) -> Result<Option<bool>, StoreError> {
        self.get(i)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.get(i)
    }
    fn opt_float(&self, i: usize) -> Result<Option<f64>, StoreError> {
        self.get(i)
    }
    fn opt_json(&self, i: usize) -> Result<Option<Value>, StoreError> {
        let text: Option<String> = self.get(i)?;
        text.map(|t| serde_json::from_str(&t).map_err(|_| self.bad("JSON text")))
            .transpose()
    }
}

/// Runs a write statement, answering the rows it changed.
pub(super) fn run(c: &Connection, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(store_err)?;
    Ok(stmt.execute(params_from_iter(args.iter())).map_err(store_err)? as u64)
}

/// Runs a query and decodes its rows.
pub(super) fn rows<T>(c: &Connection, sql: &str, args: &[Arg], decode: Decode<T>) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(store_err)?;
    let mut rows = stmt.query(params_from_iter(args.iter())).map_err(store_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(store_err)? {
        out.push(decode(&Cols(r))?);
    }
    Ok(out)
}

/// A statement rendered for SQLite.
pub(super) fn text(stmt: &Stmt) -> Cow<'_, str> {
    stmt.text(Dialect::Sqlite)
}

#[async_trait::async_trait]
impl Db for SqliteStore {
    type Reader<'a> = &'a SqliteStore;

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn reader(&self) -> Result<&SqliteStore> {
        Ok(self)
    }

    async fn fetch_all<T: Send + 'static>(&self, stmt: Stmt, decode: Decode<T>) -> Result<Vec<T>> {
        self.read_with(move |c| rows(c, &text(&stmt), &stmt.args, decode)).await
    }

    async fn fetch_list<T: Send + 'static>(&self, list: Listing, decode: Decode<T>) -> Result<(u64, Vec<T>)> {
        self.read_with(move |c| {
            let total = rows(c, &list.count, &list.args[..list.count_args], |r| r.count(0))?;
            let page = rows(c, &list.page, &list.args, decode)?;
            Ok::<_, StoreError>((total.first().copied().unwrap_or(0), page))
        })
        .await
    }

    async fn execute(&self, stmts: Vec<Stmt>) -> Result<Vec<u64>> {
        self.write(move |tx| {
            stmts
                .iter()
                .map(|s| run(tx, &text(s), &s.args).map_err(Error::from))
                .collect()
        })
        .await
    }

    async fn execute_guarded(&self, stmts: Vec<Guarded>) -> Result<()> {
        self.write(move |tx| {
            for g in &stmts {
                let n = run(tx, &text(&g.stmt), &g.stmt.args)?;
                g.check(n)?;
            }
            Ok(())
        })
        .await
    }

    async fn write_rows<T: Send + 'static>(&self, stmts: Vec<Stmt>, decode: Decode<T>) -> Result<Vec<T>> {
        self.write(move |tx| {
            let mut out = Vec::new();
            for s in &stmts {
                out.extend(rows(tx, &text(s), &s.args, decode)?);
            }
            Ok(out)
        })
        .await
    }
}
