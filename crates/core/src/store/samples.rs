//! Samples with their dataset-level labels in the store. Owns the sample records and the port;
//! it must not build URLs, read blobs or check label rules, and knows no SQL.

use std::collections::HashSet;

use async_trait::async_trait;
use serde_json::{Map, Value};
use teamlabel_api::enums::{SampleStatus, SampleType};

use crate::error::Result;
use crate::rules::values::PlacedLabel;

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
    /// The text of a text sample uploaded as bytes, kept in the store beside the blob when it is
    /// short enough to be listed (see `samples::texts`); `None` for every other sample.
    pub inline_text: Option<String>,
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

/// A sample the store deleted, with the blob it pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedSample {
    pub id: String,
    pub blob_sha256: Option<String>,
}

#[async_trait]
pub trait SampleStore: Send + Sync {
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
    /// The samples of `sample_ids` that exist in the dataset, with their labels.
    async fn load_samples(&self, dataset_id: &str, sample_ids: &[String]) -> Result<Vec<SampleRecord>>;
}
