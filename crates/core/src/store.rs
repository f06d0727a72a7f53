//! The storage port: the `Store` trait every backend implements (SQLite and PostgreSQL in the
//! `teamlabel-store` crate) and the records it moves. The store keeps data and enforces
//! uniqueness and references as a backstop (a unique violation comes back as the 400 error of
//! that resource: `ModelArts.4351` dataset name, `4411` label, `4422` sample name); it never decides who may do what or whether a value
//! is valid: that is done before a record reaches it.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::datasets::labels::LabelDef;
use crate::enums::{DatasetType, SampleStatus, SampleType};
use crate::error::Result;
use crate::iam::auth::Role;
use crate::rules::values::PlacedLabel;

/// A tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub create_time: i64,
}

/// A person inside a project, identified by email.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub project_id: String,
    pub email: String,
    /// Project-wide role: `Owner` for the project's owner; team roles come from team membership.
    pub role: Role,
    pub create_time: i64,
}

/// A stored API token: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub hash: String,
    pub user_id: String,
    pub project_id: String,
    pub expires_at: i64,
    pub create_time: i64,
}

/// An AK/SK pair. The secret is kept only sealed with the server's key (see
/// `credentials::Sealer`); a temporary pair also has the SHA-256 of its security token and an
/// expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessKeyRecord {
    pub access_key: String,
    pub user_id: String,
    pub project_id: String,
    pub sealed_secret: Vec<u8>,
    pub description: String,
    pub security_token_hash: Option<String>,
    /// `None` for a permanent pair.
    pub expires_at: Option<i64>,
    pub create_time: i64,
}

/// A user with what password sign-in needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    pub user: User,
    /// A PHC string (Argon2id); `None` until a password is set.
    pub password_hash: Option<String>,
    pub state: LoginState,
}

/// Consecutive wrong passwords and the end of a lock (epoch ms, 0 when not locked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginState {
    pub failed: i64,
    pub locked_until: i64,
}

/// A dataset row as stored. Counts come separately (`sample_counts`).
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub dataset_type: DatasetType,
    pub description: String,
    /// The documented `data_sources` list, kept as sent.
    pub data_sources: Value,
    pub work_path: Option<String>,
    pub work_path_type: i32,
    pub data_format: String,
    pub workspace_id: String,
    pub import_annotations: bool,
    pub label_format: Option<Value>,
    pub status: i32,
    pub create_time: i64,
    pub update_time: i64,
}

/// Sample counts of one dataset by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleCounts {
    pub total: u64,
    pub un_annotation: u64,
    pub manual_annotation: u64,
    pub auto_annotation: u64,
}

impl SampleCounts {
    pub fn annotated(&self) -> u64 {
        self.manual_annotation + self.auto_annotation
    }
}

/// How a dataset list is filtered, sorted and paged.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetQuery {
    /// Page number (0-based): rows `offset * limit ..`.
    pub offset: u64,
    pub limit: u64,
    pub sort_by_name: bool,
    pub ascending: bool,
    /// Case-insensitive substring of the name.
    pub search_content: Option<String>,
    pub dataset_type: Option<DatasetType>,
}

/// Everything one dataset update changes, applied in one transaction: deletions first (with
/// their sample policy), then label updates, then new labels, then the dataset's own fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub add_labels: Vec<LabelDef>,
    /// Labels to rewrite, matched by `LabelDef::id`.
    pub update_labels: Vec<LabelDef>,
    pub delete_labels: Vec<i64>,
    /// 0: remove the labels from samples; 1 and 2: also delete the samples whose every label
    /// is among the deleted ones.
    pub delete_policy: u8,
    pub update_time: i64,
}

/// A sample as stored, with its dataset-level labels.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRecord {
    pub id: String,
    pub dataset_id: String,
    pub name: String,
    pub sample_type: SampleType,
    /// A reference (URL or `content://` text) given by the client; `None` for stored bytes.
    pub source: Option<String>,
    /// SHA-256 of bytes kept in the blob store.
    pub blob_sha256: Option<String>,
    pub content_type: Option<String>,
    /// Bytes, or characters for text given inline.
    pub size: i64,
    /// Length in characters of a text sample, when the server knows the text.
    pub text_len: Option<i64>,
    pub metadata: Map<String, Value>,
    pub sample_usage: Option<String>,
    pub status: SampleStatus,
    pub sample_time: i64,
    pub update_time: i64,
    /// Bumped by every label write to the dataset-level labels.
    pub version: i64,
    pub labels: Vec<PlacedLabel>,
}

/// One group of label ids a sample must carry at least one of.
pub type LabelGroup = Vec<i64>;

/// How a sample list is filtered and paged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleQuery {
    pub offset: u64,
    pub limit: u64,
    pub ascending: bool,
    pub statuses: Option<Vec<SampleStatus>>,
    /// Every group must be matched (AND); within a group any label matches (OR).
    pub label_groups: Vec<LabelGroup>,
    pub sample_type: Option<SampleType>,
    pub name: Option<String>,
}

/// Per-label usage: how often a label is placed and on how many samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelUsage {
    pub label_id: i64,
    pub count: u64,
    pub sample_count: u64,
}

/// A sample the store deleted, with the blob it pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedSample {
    pub id: String,
    pub blob_sha256: Option<String>,
}

/// A labeling team.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkforceRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    /// Filled on reads.
    pub worker_count: u64,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkforceQuery {
    pub offset: u64,
    pub limit: u64,
    pub ascending: bool,
    pub sort_by_name: bool,
    pub search_content: Option<String>,
    /// Only teams with a member chosen for this task.
    pub task_id: Option<String>,
}

/// A member of a team: a user of the project with a team role.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerRecord {
    pub id: String,
    pub workforce_id: String,
    pub user_id: String,
    /// Filled on reads from the user.
    pub email: String,
    pub role: Role,
    pub description: String,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerQuery {
    pub workforce_id: Option<String>,
    pub role: Option<Role>,
    pub offset: u64,
    pub limit: u64,
    pub ascending: bool,
    pub sort_by_email: bool,
}

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
}

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
    pub labels_before: Value,
    pub labels_after: Value,
    pub version_after: i64,
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

/// How many copies of a task are in a state, per member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCount {
    pub worker_id: String,
    pub state: String,
    pub count: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Answers Ok when the database can be reached.
    async fn ping(&self) -> Result<()>;

    /// The effective durability settings, as (name, value): SQLite `journal_mode` and
    /// `synchronous`; PostgreSQL `fsync`, `synchronous_commit` and `full_page_writes`.
    async fn durability_settings(&self) -> Result<Vec<(String, String)>>;

    async fn insert_project(&self, project: &Project, owner: &User) -> Result<()>;
    async fn get_project(&self, id: &str) -> Result<Project>;
    /// The oldest project, if the store has any (first start creates one).
    async fn find_first_project(&self) -> Result<Option<Project>>;

    async fn insert_user(&self, user: &User) -> Result<()>;
    async fn find_user_by_email(&self, project_id: &str, email: &str) -> Result<Option<User>>;

    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;
    async fn find_token(&self, hash: &str) -> Result<Option<(TokenRecord, User)>>;
    async fn list_projects_by_name(&self, name: &str) -> Result<Vec<Project>>;
    /// A user of the project by id or by (lower-case) email, with the sign-in state.
    async fn find_login(&self, project_id: &str, id_or_email: &str) -> Result<Option<Login>>;
    /// Sets (or clears) a password; also clears wrong attempts and any lock.
    async fn set_password(&self, user_id: &str, password_hash: Option<&str>) -> Result<()>;
    /// Moves the sign-in state from `expected` to `new`; answers false (writing nothing) when
    /// another request changed it first.
    async fn update_login_state(&self, user_id: &str, expected: LoginState, new: LoginState) -> Result<bool>;

    /// A taken access key is a conflict (never expected: keys are random).
    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()>;
    async fn find_access_key(&self, access_key: &str) -> Result<Option<(AccessKeyRecord, User)>>;
    /// Pairs of a project (of one user if given) with their users, newest first, temporary
    /// ones only while they are valid at `now`.
    async fn list_access_keys(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        now: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<(AccessKeyRecord, User)>)>;
    /// Deletes a pair of the project; answers whether it existed.
    async fn delete_access_key(&self, project_id: &str, access_key: &str) -> Result<bool>;
    /// Deletes temporary pairs that expired before `now`.
    async fn purge_expired_access_keys(&self, now: i64) -> Result<u64>;

    /// Stores `value` under `name` unless a value is there; answers the stored value.
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String>;

    /// Inserts a dataset with its labels. A taken name is `ModelArts.4351`.
    async fn insert_dataset(&self, dataset: &DatasetRecord, labels: &[LabelDef]) -> Result<()>;
    /// Missing (or of another project) is `NotFound`.
    async fn get_dataset(&self, project_id: &str, dataset_id: &str) -> Result<DatasetRecord>;
    async fn list_datasets(&self, project_id: &str, query: &DatasetQuery) -> Result<(u64, Vec<DatasetRecord>)>;
    async fn sample_counts(&self, dataset_ids: &[String]) -> Result<HashMap<String, SampleCounts>>;
    /// Applies a change in one transaction and answers the samples it deleted. A taken dataset
    /// or label name is `ModelArts.4351` / `4411`.
    async fn update_dataset(&self, dataset_id: &str, change: &DatasetChange) -> Result<Vec<DeletedSample>>;
    async fn delete_dataset(&self, project_id: &str, dataset_id: &str) -> Result<()>;

    async fn list_labels(&self, dataset_id: &str) -> Result<Vec<LabelDef>>;
    async fn label_usage(&self, dataset_id: &str) -> Result<Vec<LabelUsage>>;

    /// Which of `names` are already sample names in the dataset.
    async fn find_sample_names(&self, dataset_id: &str, names: &[String]) -> Result<HashSet<String>>;
    /// Inserts samples with their labels in one transaction; a taken name is `ModelArts.4422`.
    async fn insert_samples(&self, samples: &[SampleRecord]) -> Result<()>;
    async fn list_samples(&self, dataset_id: &str, query: &SampleQuery) -> Result<(u64, Vec<SampleRecord>)>;
    async fn get_sample(&self, dataset_id: &str, sample_id: &str) -> Result<SampleRecord>;
    /// Deletes those of `ids` that exist in the dataset, in one transaction.
    async fn delete_samples(&self, dataset_id: &str, ids: &[String]) -> Result<Vec<DeletedSample>>;
    /// Whether any sample still points at the blob.
    async fn blob_in_use(&self, sha256: &str) -> Result<bool>;

    // Teams and members.

    /// A taken name is `ModelArts.4602`.
    async fn insert_workforce(&self, workforce: &WorkforceRecord) -> Result<()>;
    /// Missing (or of another project) is 404 `ModelArts.4601`.
    async fn get_workforce(&self, project_id: &str, workforce_id: &str) -> Result<WorkforceRecord>;
    async fn list_workforces(&self, project_id: &str, query: &WorkforceQuery) -> Result<(u64, Vec<WorkforceRecord>)>;
    async fn update_workforce(&self, workforce: &WorkforceRecord) -> Result<()>;
    /// Deletes the team with its members (and their task memberships and copies).
    async fn delete_workforce(&self, project_id: &str, workforce_id: &str) -> Result<()>;
    /// A user already in the team is `ModelArts.4605`.
    async fn insert_worker(&self, worker: &WorkerRecord) -> Result<()>;
    /// Missing (or of another team) is 404 `ModelArts.4604`.
    async fn get_worker(&self, workforce_id: &str, worker_id: &str) -> Result<WorkerRecord>;
    /// Members of the project's teams (of one team when the query names it).
    async fn list_workers(&self, project_id: &str, query: &WorkerQuery) -> Result<(u64, Vec<WorkerRecord>)>;
    async fn update_worker(&self, worker: &WorkerRecord) -> Result<()>;
    /// Deletes those of `ids` that are members of the team; answers the deleted ids.
    async fn delete_workers(&self, workforce_id: &str, ids: &[String]) -> Result<Vec<String>>;
    /// Every team membership of a user.
    async fn workers_of_user(&self, user_id: &str) -> Result<Vec<WorkerRecord>>;
    /// Whether a member has copies not yet accepted in a task that is not finished.
    async fn worker_has_open_work(&self, worker_id: &str) -> Result<bool>;

    // Team tasks.

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

    // Label writes.

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
        self.write_copies_with(writes, history, None).await
    }
    /// `write_copies` that also records an idempotency key in the same transaction. A live
    /// record of the same key (younger than `IDEMPOTENCY_TTL_MS`) makes the whole transaction
    /// fail with 409 `ModelArts.4692`; an expired one is replaced.
    async fn write_copies_with(
        &self,
        writes: &[CopyWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// The live record of an idempotency key, if any.
    async fn find_idempotency(&self, project_id: &str, user_id: &str, key: &str) -> Result<Option<IdempotencyRecord>>;
    async fn list_team_samples(&self, task_id: &str, query: &TeamSampleQuery) -> Result<(u64, Vec<TeamSampleRow>)>;
    /// The samples of `sample_ids` that exist in the dataset, with their labels.
    async fn load_samples(&self, dataset_id: &str, sample_ids: &[String]) -> Result<Vec<SampleRecord>>;
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
    /// History of one sample, newest first.
    async fn list_history(
        &self,
        dataset_id: &str,
        sample_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<HistoryRecord>)>;
}
