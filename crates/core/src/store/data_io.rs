//! Dataset versions and the import and export tasks in the store, with the two sample reads
//! and writes they need at scale: a keyset scan (pages by `seq`, never by offset) and an
//! insert that skips names already taken. Owns the records and the port; knows no SQL and
//! decides nothing about formats or paths.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::Result;
use crate::store::{HistoryRecord, OutboxEvent, SampleQuery, SampleRecord};

/// Version status values (the API's version `status`).
pub mod version_status {
    pub const CREATING: i32 = 0;
    pub const NORMAL: i32 = 1;
    pub const DELETED: i32 = 3;
    pub const ERROR: i32 = 4;
}

/// A dataset version as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    pub id: String,
    pub dataset_id: String,
    /// The number it was created as (1, 2, ...); never reused within a dataset.
    pub num: i64,
    pub name: String,
    pub previous_id: Option<String>,
    pub status: i32,
    pub is_current: bool,
    pub format: String,
    pub description: String,
    /// The train share as given, e.g. `"0.8"`.
    pub train_ratio: String,
    /// The publishing options as given (`clear_hard_property`, `remove_sample_usage`,
    /// `export_images`), echoed in the version.
    pub options: Value,
    pub manifest_path: String,
    pub data_path: String,
    pub total_sample_count: i64,
    pub annotated_sample_count: i64,
    /// What publishing counted: `{"labels": [LabelStats], "multi": bool}` (whether some
    /// sample carries several labels).
    pub label_stats: Value,
    pub message: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
}

/// The end of a version's publishing: counts and stats, and whether it becomes current.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionDone {
    pub dataset_id: String,
    pub id: String,
    /// `NORMAL` (it becomes the current version) or `ERROR`.
    pub status: i32,
    pub total_sample_count: i64,
    pub annotated_sample_count: i64,
    pub label_stats: Value,
    pub message: Option<String>,
    pub update_time: i64,
}

/// How the version list is filtered and paged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionQuery {
    pub status: Option<i32>,
    pub format: Option<String>,
    /// Page number (0-based): rows `offset * limit ..`.
    pub offset: u64,
    pub limit: u64,
}

/// The versions of a dataset at a glance, for the dataset view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionSummary {
    pub current_id: Option<String>,
    pub current_name: Option<String>,
    /// Versions that are not deleted.
    pub count: u64,
    /// The number the next version gets.
    pub next_num: i64,
}

/// An import, an export, or a sync of a dataset with its data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Import,
    Export,
    Sync,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Import => "import",
            TaskKind::Export => "export",
            TaskKind::Sync => "sync",
        }
    }
}

/// An import or export task as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DataTaskRecord {
    pub id: String,
    pub dataset_id: String,
    pub kind: TaskKind,
    /// `import_type` (0 dir, 1 manifest) or `export_type` (0–3).
    pub subtype: i32,
    pub status: String,
    /// The request as accepted.
    pub request: Value,
    /// The counters the API shows, and the report of skipped or dropped items.
    pub progress: Value,
    /// Where a resumed run starts again.
    pub cursor: Option<String>,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
}

/// A change of a running task: its status, counters and cursor, written only while the task
/// is in one of `from` (else `Constraint::Version`: someone else moved it on).
#[derive(Debug, Clone, PartialEq)]
pub struct DataTaskUpdate {
    pub id: String,
    pub from: Vec<String>,
    pub status: String,
    pub progress: Value,
    pub cursor: Option<String>,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub update_time: i64,
    /// Handed to the outbox in the update's transaction (the end of a task).
    pub event: Option<OutboxEvent>,
}

#[async_trait]
pub trait DataIoStore: Send + Sync {
    /// Inserts a version (status `CREATING`); a name taken by a version that is not deleted is
    /// `Constraint::VersionName`, a number taken is `Constraint::VersionNum`.
    async fn insert_version(&self, version: &VersionRecord) -> Result<()>;
    /// A version of the dataset, deleted ones included.
    async fn get_version(&self, dataset_id: &str, version_id: &str) -> Result<Option<VersionRecord>>;
    /// The versions that are not deleted, newest first.
    async fn list_versions(&self, dataset_id: &str, query: &VersionQuery) -> Result<(u64, Vec<VersionRecord>)>;
    async fn version_summary(&self, dataset_id: &str) -> Result<VersionSummary>;
    /// Ends a version's publishing; a `NORMAL` version becomes the dataset's current one (the
    /// previous current one stops being current) in the same transaction. Only a version in
    /// `CREATING` can be finished (else `Constraint::Version`).
    async fn finish_version(&self, done: &VersionDone) -> Result<()>;
    /// Marks a version still being published as alive (`update_time`), so the restart rule
    /// does not take a long publishing for a dead one; answers false when it is no longer
    /// `CREATING`.
    async fn touch_version(&self, dataset_id: &str, version_id: &str, now: i64) -> Result<bool>;
    /// Marks a version deleted; it stops being current. Answers false when there was none
    /// (or it was deleted already).
    async fn delete_version(&self, dataset_id: &str, version_id: &str, now: i64) -> Result<bool>;
    /// Versions left in `CREATING` (by a server that stopped), to be failed at start.
    async fn unfinished_versions(&self) -> Result<Vec<VersionRecord>>;

    /// Inserts a task; a second running import of a dataset is `Constraint::ImportRunning`.
    async fn insert_data_task(&self, task: &DataTaskRecord) -> Result<()>;
    async fn get_data_task(&self, dataset_id: &str, kind: TaskKind, id: &str) -> Result<Option<DataTaskRecord>>;
    /// The tasks of a dataset, newest first, optionally of one subtype; `offset` counts rows.
    async fn list_data_tasks(
        &self,
        dataset_id: &str,
        kind: TaskKind,
        subtype: Option<i32>,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<DataTaskRecord>)>;
    async fn update_data_task(&self, update: &DataTaskUpdate) -> Result<()>;
    /// Tasks in `QUEUING`, `INIT` or `RUNNING`, oldest first.
    async fn unfinished_data_tasks(&self) -> Result<Vec<DataTaskRecord>>;

    /// Samples of a dataset after `after_seq` in `seq` order, with their labels and `seq`,
    /// filtered like a sample list (`offset`, `limit` and `ascending` of the query are not
    /// used); at most `limit` of them.
    async fn scan_samples(
        &self,
        dataset_id: &str,
        query: &SampleQuery,
        after_seq: i64,
        limit: u64,
    ) -> Result<Vec<(i64, SampleRecord)>>;
    /// Inserts those samples whose name is not taken in their dataset, with their labels, in
    /// one transaction, and hands them to the dataset's started tasks with `synchronize_data`
    /// in that same transaction (as `SampleStore::insert_samples` does); answers the names
    /// inserted.
    async fn insert_new_samples(&self, samples: &[SampleRecord]) -> Result<Vec<String>>;
    /// The samples of a dataset whose bytes are the object named `source_prefix` followed by
    /// their name (those a directory import of that folder made), after `after_name` in the
    /// byte order of names, at most `limit` of them: `(id, name)`.
    async fn source_samples(
        &self,
        dataset_id: &str,
        source_prefix: &str,
        after_name: &str,
        limit: u64,
    ) -> Result<Vec<(String, String)>>;
    /// Removes samples of a dataset in one transaction, each after writing the history row
    /// given for it (`sample_id`); a sample already gone gets no row. Answers how many were
    /// removed.
    async fn remove_samples(&self, dataset_id: &str, removals: &[HistoryRecord]) -> Result<u64>;
    /// Brings the planner's statistics up to date after many samples came in at once, where
    /// the backend plans by them (PostgreSQL, whose autovacuum may be late or off: without it
    /// a scan after a large import plans as for an empty table, each page reading them all).
    async fn refresh_statistics(&self) -> Result<()> {
        Ok(())
    }
}
