//! The SQL both backends share, written once: statements with `$N` placeholders (rendered to
//! `?N` for SQLite by `render`), the column lists, the row decoders (`decode.rs`), the filter and
//! page builders of every list (`Query`), and the table of named unique constraints that both
//! backends use to report a clash as a `StoreError`. One file per domain, named as in
//! `sqlite/` and `postgres/`.
//!
//! Only what is the same in both dialects lives here. This module must not run anything, hold a
//! connection or know a driver's types; what truly differs (upserts, locking, `UNNEST` against
//! multi-row `VALUES`, the SQLite group commit) stays in the backend folders.

pub mod acceptance;
pub mod compact;
pub mod data_io;
pub mod datasets;
pub mod decode;
pub mod identity;
pub mod samples;
pub mod tasks;
pub mod team_samples;
pub mod teams;
pub mod webhooks;

use std::borrow::Cow;

use async_trait::async_trait;

use serde_json::Value;
use teamlabel_core::error::Result;
use teamlabel_core::store::{Constraint, StoreError};

use decode::Cells;

/// The SQL dialect a statement is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement written for PostgreSQL, as the dialect wants it. PostgreSQL takes it as is; for
/// SQLite `$N` becomes `?N` (its numbered form), `ILIKE` becomes `LIKE` (case-insensitive for
/// ASCII), ` COLLATE "C"` is dropped (SQLite's default order is already by code point), and
/// the planner hint `/*+*/` becomes a unary `+` (a comment to PostgreSQL), which keeps SQLite
/// from choosing an index by that column.
pub fn render(sql: &str, dialect: Dialect) -> Cow<'_, str> {
    if dialect == Dialect::Postgres {
        return Cow::Borrowed(sql);
    }
    let sql = sql
        .replace(" COLLATE \"C\"", "")
        .replace("ILIKE", "LIKE")
        .replace("/*+*/", "+");
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A unique constraint of the schema: its name in the PostgreSQL migrations and the columns
/// SQLite names when it is violated (`UNIQUE constraint failed: <columns>`).
pub struct UniqueKey {
    pub constraint: Constraint,
    pub postgres: &'static str,
    pub sqlite: &'static str,
}

/// Every unique constraint that is the caller's to break; any other is a fault.
pub const UNIQUE_KEYS: &[UniqueKey] = &[
    UniqueKey {
        constraint: Constraint::DatasetName,
        postgres: "datasets_project_id_name_key",
        sqlite: "datasets.project_id, datasets.name",
    },
    UniqueKey {
        constraint: Constraint::LabelName,
        postgres: "labels_dataset_id_name_type_key",
        sqlite: "labels.dataset_id, labels.name, labels.type",
    },
    UniqueKey {
        constraint: Constraint::SampleName,
        postgres: "samples_dataset_id_name_key",
        sqlite: "samples.dataset_id, samples.name",
    },
    UniqueKey {
        constraint: Constraint::WorkforceName,
        postgres: "workforces_project_id_name_key",
        sqlite: "workforces.project_id, workforces.name",
    },
    UniqueKey {
        constraint: Constraint::WorkerUser,
        postgres: "workers_workforce_id_user_id_key",
        sqlite: "workers.workforce_id, workers.user_id",
    },
    UniqueKey {
        constraint: Constraint::TaskName,
        postgres: "workforce_tasks_dataset_id_name_key",
        sqlite: "workforce_tasks.dataset_id, workforce_tasks.name",
    },
    UniqueKey {
        constraint: Constraint::RoundOpen,
        postgres: "acceptance_rounds_one_open",
        sqlite: "acceptance_rounds.task_id",
    },
    UniqueKey {
        constraint: Constraint::VersionName,
        postgres: "dataset_versions_name",
        sqlite: "dataset_versions.dataset_id, dataset_versions.name",
    },
    UniqueKey {
        constraint: Constraint::VersionNum,
        postgres: "dataset_versions_num_key",
        sqlite: "dataset_versions.dataset_id, dataset_versions.num",
    },
    UniqueKey {
        constraint: Constraint::ImportRunning,
        postgres: "data_tasks_one_import",
        sqlite: "data_tasks.dataset_id",
    },
    UniqueKey {
        constraint: Constraint::SyncRunning,
        postgres: "data_tasks_one_sync",
        sqlite: "data_tasks.dataset_id, data_tasks.kind",
    },
    UniqueKey {
        constraint: Constraint::TaskCopy,
        postgres: "task_copies_task_id_sample_seq_worker_id_key",
        sqlite: "task_copies.task_id, task_copies.sample_seq, task_copies.worker_id",
    },
];

/// The constraint a unique violation is about, by the dialect's name for it.
pub fn unique_key(dialect: Dialect, name: &str) -> Option<Constraint> {
    UNIQUE_KEYS
        .iter()
        .find(|k| match dialect {
            Dialect::Postgres => k.postgres == name,
            Dialect::Sqlite => k.sqlite == name,
        })
        .map(|k| k.constraint)
}

/// A value bound to a statement, in a form both drivers can bind.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    /// A PostgreSQL `INT` (4 bytes) column.
    Int4(i32),
    OptInt4(Option<i32>),
    Bool(bool),
    OptBool(Option<bool>),
    OptFloat(Option<f64>),
    Bytes(Vec<u8>),
    /// JSON: TEXT in SQLite, JSONB in PostgreSQL.
    Json(Value),
    OptJson(Option<Value>),
    /// PostgreSQL only: a list compared with `= ANY(...)`.
    Texts(Vec<String>),
    /// PostgreSQL only: a list compared with `= ANY(...)`.
    Ints(Vec<i64>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident $(. $conv:ident ())?),* $(,)?) => {
        $(impl From<$t> for Arg {
            fn from(v: $t) -> Self {
                Arg::$v(v $(. $conv ())?)
            }
        })*
    };
}

arg_from! {
    String => Text,
    &str => Text.to_string(),
    &String => Text.clone(),
    Option<String> => OptText,
    i64 => Int,
    Option<i64> => OptInt,
    i32 => Int4,
    Option<i32> => OptInt4,
    bool => Bool,
    Option<bool> => OptBool,
    f64 => OptFloat.into(),
    Option<f64> => OptFloat,
    Vec<u8> => Bytes,
    Value => Json,
    Option<Value> => OptJson,
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_string))
    }
}

impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Arg::OptText(v.clone())
    }
}

/// The values of a statement, each converted with `Arg::from`.
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        vec![$($crate::sql::Arg::from($v)),*]
    };
}
pub(crate) use args;

/// A statement with its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub sql: Cow<'static, str>,
    pub args: Vec<Arg>,
}

impl Stmt {
    pub fn new(sql: impl Into<Cow<'static, str>>, args: Vec<Arg>) -> Self {
        Self { sql: sql.into(), args }
    }

    /// The statement as the dialect wants it.
    pub fn text(&self, dialect: Dialect) -> Cow<'_, str> {
        render(&self.sql, dialect)
    }
}

/// A statement being assembled from optional filters: the values bound so far (`$1`, `$2`, ...)
/// and the dialect's spelling of what differs (lists, case-insensitive match, code-point order).
pub struct Query {
    pub dialect: Dialect,
    pub args: Vec<Arg>,
}

impl Query {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            args: Vec::new(),
        }
    }

    /// Binds a value and answers its placeholder.
    pub fn arg(&mut self, value: Arg) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.arg(Arg::Text(value.into()))
    }

    pub fn int(&mut self, value: i64) -> String {
        self.arg(Arg::Int(value))
    }

    pub fn int4(&mut self, value: i32) -> String {
        self.arg(Arg::Int4(value))
    }

    /// `expr` is one of `values` (none matches nothing).
    pub fn in_texts(&mut self, expr: &str, values: &[String]) -> String {
        if values.is_empty() {
            return "1 = 0".into();
        }
        match self.dialect {
            Dialect::Postgres => format!("{expr} = ANY({})", self.arg(Arg::Texts(values.to_vec()))),
            Dialect::Sqlite => {
                let marks: Vec<String> = values.iter().map(|v| self.text(v.clone())).collect();
                format!("{expr} IN ({})", marks.join(", "))
            }
        }
    }

    /// `expr` is one of `values` (none matches nothing).
    pub fn in_ints(&mut self, expr: &str, values: &[i64]) -> String {
        if values.is_empty() {
            return "1 = 0".into();
        }
        match self.dialect {
            Dialect::Postgres => format!("{expr} = ANY({})", self.arg(Arg::Ints(values.to_vec()))),
            Dialect::Sqlite => {
                let marks: Vec<String> = values.iter().map(|v| self.int(*v)).collect();
                format!("{expr} IN ({})", marks.join(", "))
            }
        }
    }

    /// ` AND column` contains `text`, ignoring case (ASCII in SQLite, as its `LIKE`).
    pub fn contains(&mut self, column: &str, text: &str) -> String {
        format!(" AND {column} ILIKE {} ESCAPE '\\'", self.text(contains_pattern(text)))
    }

    /// `LIMIT` and `OFFSET` of page `offset` (pages count from 0) of `limit` rows.
    pub fn page(&mut self, offset: u64, limit: u64) -> String {
        let rows = i64::try_from(limit).unwrap_or(i64::MAX);
        let skip = i64::try_from(offset.saturating_mul(limit)).unwrap_or(i64::MAX);
        format!("LIMIT {} OFFSET {}", self.int(rows), self.int(skip))
    }
}

/// Reads a record from a row.
pub type Decode<T> = fn(&dyn Cells) -> Result<T, StoreError>;

/// What the shared store logic asks of a backend: run a statement and decode its rows. Both
/// backends implement it; the statements come from this module's domain files.
#[async_trait]
pub trait Db: Send + Sync {
    /// What a read made of several queries runs against, so that it sees one state of the data:
    /// a read-only snapshot where the backend has one per request (PostgreSQL), the store
    /// itself otherwise.
    type Reader<'a>: Db
    where
        Self: 'a;

    fn dialect(&self) -> Dialect;

    async fn reader(&self) -> Result<Self::Reader<'_>>;

    async fn fetch_all<T: Send + 'static>(&self, stmt: Stmt, decode: Decode<T>) -> Result<Vec<T>>;

    async fn fetch_one<T: Send + 'static>(&self, stmt: Stmt, decode: Decode<T>) -> Result<Option<T>> {
        Ok(self.fetch_all(stmt, decode).await?.into_iter().next())
    }

    /// The total of a listing and its page, over one snapshot.
    async fn fetch_list<T: Send + 'static>(&self, list: Listing, decode: Decode<T>) -> Result<(u64, Vec<T>)>;

    /// Runs write statements in one transaction (all or none), answering the rows each changed.
    async fn execute(&self, stmts: Vec<Stmt>) -> Result<Vec<u64>>;

    /// Runs write statements that answer rows (`RETURNING`) in one transaction, answering the
    /// rows of all of them in order.
    async fn write_rows<T: Send + 'static>(&self, stmts: Vec<Stmt>, decode: Decode<T>) -> Result<Vec<T>>;

    /// Runs write statements in one transaction; a guarded statement that changes no row rolls
    /// the whole transaction back with the conflict it names.
    async fn execute_guarded(&self, stmts: Vec<Guarded>) -> Result<()>;

    /// A new query builder of this dialect.
    fn query(&self) -> Query {
        Query::new(self.dialect())
    }
}

#[async_trait]
impl<T: Db> Db for &T {
    type Reader<'a>
        = T::Reader<'a>
    where
        Self: 'a;

    fn dialect(&self) -> Dialect {
        (**self).dialect()
    }

    async fn reader(&self) -> Result<Self::Reader<'_>> {
        (**self).reader().await
    }

    async fn fetch_all<U: Send + 'static>(&self, stmt: Stmt, decode: Decode<U>) -> Result<Vec<U>> {
        (**self).fetch_all(stmt, decode).await
    }

    async fn fetch_list<U: Send + 'static>(&self, list: Listing, decode: Decode<U>) -> Result<(u64, Vec<U>)> {
        (**self).fetch_list(list, decode).await
    }

    async fn execute(&self, stmts: Vec<Stmt>) -> Result<Vec<u64>> {
        (**self).execute(stmts).await
    }

    async fn write_rows<U: Send + 'static>(&self, stmts: Vec<Stmt>, decode: Decode<U>) -> Result<Vec<U>> {
        (**self).write_rows(stmts, decode).await
    }

    async fn execute_guarded(&self, stmts: Vec<Guarded>) -> Result<()> {
        (**self).execute_guarded(stmts).await
    }
}

/// A write statement and, when it must change a row, the conflict to fail with if it does not
/// (a version or state the write expected has moved on).
#[derive(Debug, Clone, PartialEq)]
pub struct Guarded {
    pub stmt: Stmt,
    pub must_change: Option<Constraint>,
}

impl Guarded {
    /// A statement that may change any number of rows.
    pub fn any(stmt: Stmt) -> Self {
        Self {
            stmt,
            must_change: None,
        }
    }

    /// A statement that must change a row, or the transaction fails with `constraint`.
    pub fn must(stmt: Stmt, constraint: Constraint) -> Self {
        Self {
            stmt,
            must_change: Some(constraint),
        }
    }

    /// The error when it changed `n` rows.
    pub fn check(&self, n: u64) -> std::result::Result<(), StoreError> {
        match self.must_change {
            Some(c) if n == 0 => Err(StoreError::conflict(c)),
            _ => Ok(()),
        }
    }
}

/// A list query: a count over the filter (bound to the first `count_args` values) and a page.
pub struct Listing {
    pub count: String,
    pub count_args: usize,
    pub page: String,
    pub args: Vec<Arg>,
}

impl Listing {
    /// Builds the count from `count_sql` before the page is added to `q`, then the page.
    pub fn new(mut q: Query, count_sql: String, page: impl FnOnce(&mut Query) -> String) -> Self {
        let count_args = q.args.len();
        let page_sql = page(&mut q);
        Self {
            count: render(&count_sql, q.dialect).into_owned(),
            count_args,
            page: render(&page_sql, q.dialect).into_owned(),
            args: q.args,
        }
    }
}

/// A case-insensitive substring pattern for `LIKE ... ESCAPE '\'`.
pub fn contains_pattern(text: &str) -> String {
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

/// `ASC` or `DESC`.
pub fn direction(ascending: bool) -> &'static str {
    if ascending {
        "ASC"
    } else {
        "DESC"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_takes_numbered_question_marks() {
        assert_eq!(
            render(
                "SELECT $1, '$x', $12 FROM t WHERE /*+*/a ILIKE $3 ORDER BY b COLLATE \"C\"",
                Dialect::Sqlite
            ),
            "SELECT ?1, '$x', ?12 FROM t WHERE +a LIKE ?3 ORDER BY b"
        );
        assert_eq!(render("SELECT $1", Dialect::Postgres), "SELECT $1");
    }

    #[test]
    fn lists_are_bound_per_dialect() {
        let mut q = Query::new(Dialect::Sqlite);
        assert_eq!(q.in_ints("x", &[1, 2]), "x IN ($1, $2)");
        let mut q = Query::new(Dialect::Postgres);
        assert_eq!(q.in_ints("x", &[1, 2]), "x = ANY($1)");
        assert_eq!(q.in_texts("x", &[]), "1 = 0");
    }
}
