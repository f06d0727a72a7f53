//! The storage port: the `Store` trait every backend implements (SQLite and PostgreSQL in the
//! `teamlabel-store` crate) and the records it moves. The store keeps data and enforces
//! uniqueness and references as a backstop (a unique violation comes back as the 400 error of
//! that resource: `ModelArts.4351` dataset name, `4411` label, `4422` sample name); it never decides who may do what or whether a value
//! is valid: that is done before a record reaches it.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::auth::Role;
use crate::enums::{DatasetType, SampleStatus, SampleType};
use crate::error::Result;
use crate::labels::LabelDef;
use crate::rules::PlacedLabel;

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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Answers Ok when the database can be reached.
    async fn ping(&self) -> Result<()>;

    async fn insert_project(&self, project: &Project, owner: &User) -> Result<()>;
    async fn get_project(&self, id: &str) -> Result<Project>;
    /// The oldest project, if the store has any (first start creates one).
    async fn find_first_project(&self) -> Result<Option<Project>>;

    async fn insert_user(&self, user: &User) -> Result<()>;
    async fn find_user_by_email(&self, project_id: &str, email: &str) -> Result<Option<User>>;

    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;
    async fn find_token(&self, hash: &str) -> Result<Option<(TokenRecord, User)>>;

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
}
