//! Samples on the wire: adding, listing, reading and deleting samples, the batch label update
//! and a sample's annotation history. Shapes only: it must not decide the label rules, touch
//! storage or speak HTTP (the server fills in the URLs it answers).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::datasets::DataSource;
use crate::enums::{SampleStatus, SampleType};
use crate::labels::SampleLabel;

/// One sample to add to a dataset. Exactly one of `data`,
/// `data_source` and `source` gives the content.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSample {
    /// File name, up to 1024 characters, none of ``!<>=&"'``; unique in the dataset.
    #[serde(default)]
    pub name: Option<String>,
    /// Sample type (0 image, 1 text, 2 audio, 4 table, 6 video, 9 free format); defaults from the
    /// dataset type.
    #[serde(default)]
    pub sample_type: Option<i64>,
    /// File bytes, base64.
    #[serde(default)]
    pub data: Option<String>,
    /// A reference to a stored file (`data_path` is a URL); kept, never fetched.
    #[serde(default)]
    pub data_source: Option<DataSource>,
    /// A URL of the content, or `content://<text>` for a text sample; kept, never fetched.
    #[serde(default)]
    pub source: Option<String>,
    /// Text encoding of `data`: `UTF-8` (default; the only one supported).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Initial labels, checked against the dataset's labels.
    #[serde(default)]
    pub labels: Option<Vec<SampleLabel>>,
    /// Initial metadata; `@modelarts:size` is read from image bytes when left out.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

/// Body of `POST .../data-annotations/samples`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSamplesRequest {
    #[serde(default)]
    pub samples: Option<Vec<NewSample>>,
    /// Default true; false files labeled samples as auto-labeled, to be confirmed (image
    /// classification and object detection only).
    #[serde(default)]
    pub final_annotation: Option<bool>,
    /// Not supported: send labels in `samples[].labels`.
    #[serde(default)]
    pub label_format: Option<crate::datasets::LabelFormat>,
}

/// Body of `POST .../data-annotations/samples/delete`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteSamplesRequest {
    /// Sample ids.
    #[serde(default)]
    pub samples: Option<Vec<String>>,
    /// Also delete stored bytes no other sample uses.
    #[serde(default)]
    pub delete_source: Option<bool>,
}

/// A sample as answered (`DescribeSampleResp`): its file, type, state, metadata and labels, and
/// the text itself for a text of at most 64 KiB.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Sample {
    pub sample_id: String,
    pub sample_name: String,
    pub sample_type: SampleType,
    pub sample_status: SampleStatus,
    pub sample_time: i64,
    pub sample_size: i64,
    /// Where the content is: this server's URL for stored bytes, or the reference given.
    pub source: String,
    pub labels: Vec<SampleLabel>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// The text of a text sample (`sample_type` 1), as one element, when this server holds the
    /// text (uploaded as `data` or given as `content://`) and it is at most 65,536 bytes of
    /// UTF-8; absent for a longer text (read it at `source`), a text given by URL, and every
    /// sample that is not text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_data: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListSamplesResponse {
    /// Number of samples matching the filters (all pages).
    pub sample_count: u64,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListSamplesQuery {
    /// Page number (0-based).
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// Page size, 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// `asc` or `desc` (default) by time added.
    pub order: Option<String>,
    /// `__ALL__` (labeled), `__NONE__` (unlabeled) or `__AUTO_ANNOTATION__`.
    pub sample_state: Option<String>,
    /// Only samples carrying this label.
    pub label_name: Option<String>,
    /// Type of `label_name`.
    #[param(value_type = Option<i32>)]
    pub label_type: Option<String>,
    /// Only samples of this type.
    #[param(value_type = Option<i32>)]
    pub sample_type: Option<String>,
    /// URL-encoded JSON list of conditions (AND-ed); each may give `label_list` and `sample_name`.
    pub search_conditions: Option<String>,
    /// Samples of a version (no versions exist yet: any id is not found).
    pub version_id: Option<String>,
    /// Team filter: not supported on the dataset list.
    pub email: Option<String>,
}

/// One item of a batch label update: a sample and the labels it gets.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleLabels {
    /// The sample to label.
    #[serde(default)]
    pub sample_id: Option<String>,
    /// Team tasks: the member whose copy is written (owners and managers may name anyone of
    /// the task; a labeler only themselves).
    #[serde(default)]
    pub worker_id: Option<String>,
    /// The complete new label set; absent, null or empty deletes the labels.
    #[serde(default)]
    pub labels: Option<Vec<SampleLabel>>,
    /// Replacement metadata; kept as it is when left out.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// Must be the stored sample type when given.
    #[serde(default)]
    pub sample_type: Option<i64>,
    /// `TRAIN`, `EVAL`, `TEST` or `INFERENCE` (any case).
    #[serde(default)]
    pub sample_usage: Option<String>,
    /// Must be the sample's `source` as listed, when given.
    #[serde(default)]
    pub source: Option<String>,
    /// An addition: the version read with the labels; when it is no longer the stored one the
    /// item fails with `ModelArts.4690` and nothing of it is written.
    #[serde(default)]
    pub version: Option<i64>,
}

/// Body of both batch label updates.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSamplesRequest {
    /// Team tasks: the member the batch is written for, when items give no `worker_id`.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub samples: Option<Vec<SampleLabels>>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpdateSamplesQuery {
    /// An addition: `true` writes nothing if any item fails (answered with 400).
    #[param(value_type = Option<bool>)]
    pub atomic: Option<String>,
}

/// One applied change, newest first in the history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    pub change_time: i64,
    pub actor_email: String,
    pub actor_user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    pub state_before: String,
    pub state_after: String,
    #[schema(value_type = Vec<Object>)]
    pub labels_before: Value,
    #[schema(value_type = Vec<Object>)]
    pub labels_after: Value,
    pub version: i64,
    /// `label` (a label write), `review`, `draw` (drawn into an acceptance round), `check` (an
    /// owner verdict in a round), `accept`, `reject`, `cancel` (a round closing), `sync`
    /// (accepted labels written to the dataset).
    pub event: String,
    /// The verdict's comment, or what the step did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// For `sync`: the members whose copies the dataset's labels came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_workers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListHistoryResponse {
    pub total_number: u64,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListHistoryQuery {
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}
