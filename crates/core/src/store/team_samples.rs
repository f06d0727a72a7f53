//! Label writes in the store: the labelers' copies of a task's samples, dataset-level label
//! writes with optimistic versions, idempotency records and the label history. Owns the
//! records and the port; it must not apply review rules or decide states, and knows no SQL.

use async_trait::async_trait;
use serde_json::{Map, Value};
use teamlabel_api::enums::SampleStatus;

use crate::error::Result;
use crate::iam::auth::Role;
use crate::rules::values::PlacedLabel;
use crate::store::{LabelGroup, OutboxEvent, SampleRecord, Verdicts};

/// One labeler's copy of one sample's labels in a task; its existence is the assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyRecord {
    pub id: i64,
    pub worker_id: String,
    /// A team sample state: `__NONE__`, `__UNREVIEWED__`, `__UNCHECK__`, `__ACCEPTED__`, ...
    pub state: String,
    pub version: i64,
    pub labels: Vec<PlacedLabel>,
    pub metadata: Option<Map<String, Value>>,
    pub sample_usage: Option<String>,
    pub update_time: i64,
    /// The latest reviewer and owner verdicts.
    pub verdicts: Verdicts,
    /// The acceptance round whose scope the copy is in.
    pub round_id: Option<String>,
}

/// A sample with its copies in one task.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamSample {
    pub sample: SampleRecord,
    pub copies: Vec<CopyRecord>,
}

/// A labeler of a sample, as answered in `labelers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labeler {
    pub worker_id: String,
    pub email: String,
    pub role: Role,
}

/// One copy as listed: the sample, the copy, and every labeler the sample is assigned to.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamSampleRow {
    pub sample: SampleRecord,
    pub copy: CopyRecord,
    pub labelers: Vec<Labeler>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamSampleQuery {
    pub offset: u64,
    pub limit: u64,
    /// Only this member's copies.
    pub worker_id: Option<String>,
    pub states: Option<Vec<String>>,
    /// Only copies whose latest review verdict is this.
    pub review_accept: Option<bool>,
    /// As in `SampleQuery`, matched against the copy's labels.
    pub label_groups: Vec<LabelGroup>,
    /// Only this sample.
    pub sample_id: Option<String>,
}

/// A new label set for a copy, applied only if the copy is still at `expected_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyWrite {
    pub copy_id: i64,
    pub expected_version: i64,
    pub labels: Vec<PlacedLabel>,
    pub metadata: Option<Map<String, Value>>,
    pub sample_usage: Option<String>,
    pub state: String,
    pub update_time: i64,
}

/// A new dataset-level label set for a sample, applied only at `expected_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleWrite {
    pub dataset_id: String,
    pub sample_id: String,
    pub expected_version: i64,
    pub labels: Vec<PlacedLabel>,
    pub metadata: Map<String, Value>,
    pub sample_usage: Option<String>,
    pub status: SampleStatus,
    pub update_time: i64,
}

/// One applied label change.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// Set on reads.
    pub id: i64,
    pub dataset_id: String,
    pub sample_id: String,
    pub task_id: Option<String>,
    pub worker_id: Option<String>,
    pub actor_user_id: String,
    pub actor_email: String,
    pub change_time: i64,
    pub state_before: String,
    pub state_after: String,
    /// The labels before and after, as the JSON text of their API form (`labels_json`).
    pub labels_before: String,
    pub labels_after: String,
    pub version_after: i64,
    pub step: HistoryStep,
    /// The copy the row is about, from a writer that knows it; the store finds it by sample,
    /// task and member otherwise. Reads leave it `None`.
    pub copy_id: Option<i64>,
}

/// What kind of step a history row records, beyond its labels and states.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryStep {
    /// `label` (a label write), `review`, `draw`, `check` (an owner verdict in a round),
    /// `accept`, `reject`, `cancel` (a round closing) or `sync` (accepted labels written to the
    /// dataset).
    pub event: String,
    /// The verdict's comment, or what a closing did.
    pub comment: Option<String>,
    /// For `sync`: the members whose copies the dataset labels came from.
    pub from_workers: Vec<String>,
}

impl Default for HistoryStep {
    fn default() -> Self {
        Self {
            event: "label".into(),
            comment: None,
            from_workers: Vec::new(),
        }
    }
}

/// How long an idempotency key answers retries.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3_600_000;

/// The first answer to a request sent with `X-Idempotency-Key`, kept for its retries.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    pub project_id: String,
    pub user_id: String,
    pub key: String,
    /// SHA-256 of what the request asked for (path, query and body).
    pub request_hash: String,
    pub status: i32,
    pub response: Value,
    pub create_time: i64,
}

#[async_trait]
pub trait TeamSampleStore: Send + Sync {
    /// The samples of `sample_ids` that exist in the dataset, each with its copies in the task.
    async fn load_team_samples(
        &self,
        task_id: &str,
        dataset_id: &str,
        sample_ids: &[String],
    ) -> Result<Vec<TeamSample>>;
    /// Applies copy writes and appends history in one transaction. If any copy moved past its
    /// expected version, nothing is written and the answer is 409 `ModelArts.4690`.
    async fn write_copies(&self, writes: &[CopyWrite], history: &[HistoryRecord]) -> Result<()> {
        self.write_copies_with(writes, history, None, &[]).await
    }
    /// `write_copies` that also records an idempotency key and hands `events` to the outbox in
    /// the same transaction. A live record of the same key (younger than `IDEMPOTENCY_TTL_MS`)
    /// makes the whole transaction fail with 409 `ModelArts.4692`; an expired one is replaced.
    async fn write_copies_with(
        &self,
        writes: &[CopyWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
        events: &[OutboxEvent],
    ) -> Result<()>;
    /// The live record of an idempotency key, if any.
    async fn find_idempotency(&self, project_id: &str, user_id: &str, key: &str) -> Result<Option<IdempotencyRecord>>;
    async fn list_team_samples(&self, task_id: &str, query: &TeamSampleQuery) -> Result<(u64, Vec<TeamSampleRow>)>;
    /// Like `write_copies`, for dataset-level labels.
    async fn write_samples(&self, writes: &[SampleWrite], history: &[HistoryRecord]) -> Result<()> {
        self.write_samples_with(writes, history, None).await
    }
    /// Like `write_copies_with`, for dataset-level labels.
    async fn write_samples_with(
        &self,
        writes: &[SampleWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// Removes history rows written before `before_ms` (milliseconds), at most `limit`, oldest
    /// first in the order they were written, stopping at the first younger row. A kept row
    /// whose labels before were left to a removed row gets them written out first. Answers how
    /// many rows went.
    async fn prune_history(&self, before_ms: i64, limit: u64) -> Result<u64>;
    /// History of one sample, newest first.
    async fn list_history(
        &self,
        dataset_id: &str,
        sample_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<HistoryRecord>)>;
}
