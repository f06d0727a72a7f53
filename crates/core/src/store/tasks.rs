//! Team labeling tasks in the store: the task rows, their chosen members and the start that
//! assigns copies. Owns the records and the port; it must not decide task states or who may act
//! on a task, and knows no SQL.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::Result;
use crate::store::{LabelUsage, SampleQuery, WorkerRecord};

/// A team labeling task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    pub dataset_id: String,
    pub name: String,
    pub description: String,
    pub status: i32,
    pub repetition: i32,
    /// The `workforces_config` as resolved at creation (teams with their chosen members).
    pub workforces_config: Value,
    pub sample_conditions: Option<Value>,
    pub synchronize_data: bool,
    pub synchronize_auto_labeling_data: bool,
    pub auto_sync_dataset: bool,
    pub data_sync_type: Option<i32>,
    pub create_time: i64,
    pub update_time: i64,
    /// The IoU from which two labelers' boxes count as the same object (consensus, agreement).
    pub iou_threshold: f64,
}

/// How many copies of a task are in a state with given latest verdicts, per member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCount {
    pub worker_id: String,
    pub state: String,
    pub count: u64,
    /// The latest reviewer verdict of these copies (none: not reviewed).
    pub review_accept: Option<bool>,
    /// The latest owner verdict in an acceptance round (none: not judged).
    pub check_accept: Option<bool>,
}

#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Inserts a task with its chosen members. A taken name is `ModelArts.4620`.
    async fn insert_task(&self, task: &TaskRecord, worker_ids: &[String]) -> Result<()>;
    /// Missing (or of another dataset) is 404 `ModelArts.4619`.
    async fn get_task(&self, dataset_id: &str, task_id: &str) -> Result<TaskRecord>;
    async fn list_tasks(&self, dataset_id: &str, offset: u64, limit: u64) -> Result<(u64, Vec<TaskRecord>)>;
    /// Rewrites the task's fields, and its members when `worker_ids` is given.
    async fn update_task(&self, task: &TaskRecord, worker_ids: Option<&[String]>) -> Result<()>;
    async fn delete_task(&self, dataset_id: &str, task_id: &str) -> Result<()>;
    /// The members chosen for a task.
    async fn task_workers(&self, task_id: &str) -> Result<Vec<WorkerRecord>>;
    /// Tasks a user is a member of, with that membership, newest first (or by name).
    async fn list_user_tasks(
        &self,
        user_id: &str,
        offset: u64,
        limit: u64,
        ascending: bool,
        sort_by_name: bool,
        search_content: Option<&str>,
    ) -> Result<(u64, Vec<(TaskRecord, WorkerRecord)>)>;
    /// Starts a task in one transaction: assigns every dataset sample matching the filters of
    /// `samples` (paging ignored) to `repetition` distinct labelers, deterministically and
    /// evenly (sample `i` in insertion order goes to labelers `(i * repetition + k) mod n`),
    /// creating one empty copy each, and sets the task's status to `status`. Answers the
    /// number of samples assigned.
    #[allow(clippy::too_many_arguments)]
    async fn start_task(
        &self,
        task_id: &str,
        dataset_id: &str,
        samples: &SampleQuery,
        labelers: &[String],
        repetition: u32,
        status: i32,
        now: i64,
    ) -> Result<u64>;
    /// Copy counts per member and state.
    async fn task_copy_counts(&self, task_id: &str) -> Result<Vec<CopyCount>>;
    /// Number of distinct samples in the task.
    async fn task_sample_count(&self, task_id: &str) -> Result<u64>;
    /// Label usage over the task's copies.
    async fn task_label_usage(&self, task_id: &str) -> Result<Vec<LabelUsage>>;
}
