//! Datasets and their label definitions in the store. Owns the dataset records and the port;
//! it must not validate names or label rules (core does that first) and knows no SQL.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;
use teamlabel_api::enums::DatasetType;

use crate::datasets::labels::LabelDef;
use crate::error::Result;
use crate::store::DeletedSample;

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

/// Per-label usage: how often a label is placed and on how many samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelUsage {
    pub label_id: i64,
    pub count: u64,
    pub sample_count: u64,
}

#[async_trait]
pub trait DatasetStore: Send + Sync {
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
}
