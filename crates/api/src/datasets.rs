//! Datasets on the wire: the create, update and list bodies, the dataset as answered, its data
//! sources and its label statistics. Shapes only: it must not decide rules (name and path checks
//! stay in `teamlabel-core`), touch storage or speak HTTP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::enums::{DatasetType, LabelType};
use crate::labels::{Label, LabelAttribute};

/// An input location of a dataset. Only `data_type` 0 (object-store path) is
/// supported; the files behind it are not imported by this server yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    /// Input directory, `/bucket/dir/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_path: Option<String>,
    /// 0: object-store path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<i32>,
    /// Table sources: the first row holds column names. Not supported: only `false` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_column_header: Option<bool>,
    /// Table sources: column mapping. Not supported: only an empty list is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub schema_maps: Option<Vec<Value>>,
    /// Database and cluster sources: connection details. Not supported: refused when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub source_info: Option<Value>,
}

impl DataSource {
    /// The documented table and database fields this source sets (`with_column_header`,
    /// `schema_maps`, `source_info`); this server has object-store paths only, so callers refuse
    /// a source that sets any of them rather than ignore what the client asked for.
    pub fn table_fields(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        if self.with_column_header == Some(true) {
            given.push("with_column_header");
        }
        if self.schema_maps.as_ref().is_some_and(|m| !m.is_empty()) {
            given.push("schema_maps");
        }
        if self.source_info.is_some() {
            given.push("source_info");
        }
        given
    }

    /// The location alone, as stored and answered.
    pub fn location(&self) -> DataSource {
        DataSource {
            data_path: self.data_path.clone(),
            data_type: self.data_type,
            ..DataSource::default()
        }
    }
}

/// How text and labels are packed in uploaded text files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelFormat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_sample_separator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_label_separator: Option<String>,
}

/// Body of `POST /v2/{project_id}/datasets`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDatasetRequest {
    /// 1 to 100 characters of `[A-Za-z0-9_-]`, unique in the project.
    pub dataset_name: Option<String>,
    pub dataset_type: Option<DatasetType>,
    /// Input location; at most one.
    #[serde(default)]
    pub data_sources: Option<Vec<DataSource>>,
    /// Output root, `/bucket/dir/`, 3 to 700 characters.
    #[serde(default)]
    pub work_path: Option<String>,
    /// 0 (the only value).
    #[serde(default)]
    pub work_path_type: Option<i32>,
    /// 0 to 256 characters, none of ``^!<>=&"'``.
    #[serde(default)]
    pub description: Option<String>,
    /// Initial label set.
    #[serde(default)]
    pub labels: Option<Vec<Label>>,
    /// Default true.
    #[serde(default)]
    pub import_annotations: Option<bool>,
    #[serde(default)]
    pub label_format: Option<LabelFormat>,
    /// `Default` (the only supported format).
    #[serde(default)]
    pub data_format: Option<String>,
    /// Default `"0"`.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Table datasets only: not supported.
    #[serde(default)]
    pub import_data: Option<bool>,
    /// Hosted datasets: not supported.
    #[serde(default)]
    pub managed: Option<bool>,
    /// Table schema: not supported.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub schema: Option<Vec<Value>>,
    /// Creating a team task together with the dataset: not supported; create the task after.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub workforce_information: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateDatasetResponse {
    pub dataset_id: String,
}

/// Body of `PUT /v2/{project_id}/datasets/{dataset_id}`; leave out what should not change.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDatasetRequest {
    #[serde(default)]
    pub dataset_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Switch the current version (no versions exist yet: any id is not found).
    #[serde(default)]
    pub current_version_id: Option<String>,
    #[serde(default)]
    pub add_labels: Option<Vec<Label>>,
    /// Each picks a label by name (+ type); its property is merged, `@modelarts:rename_to` renames.
    #[serde(default)]
    pub update_labels: Option<Vec<Label>>,
    /// Each picks a label by name (+ type) to delete; samples keep their other labels.
    #[serde(default)]
    pub delete_labels: Option<Vec<Label>>,
}

/// A dataset as answered: its identity, type, locations, sample counts and, on request, labels.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dataset {
    pub dataset_id: String,
    pub dataset_name: String,
    pub dataset_type: DatasetType,
    pub data_format: String,
    pub dataset_format: i32,
    pub status: i32,
    pub description: String,
    pub data_sources: Vec<DataSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_path: Option<String>,
    pub work_path_type: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_work_path: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
    pub total_sample_count: u64,
    pub annotated_sample_count: u64,
    pub unconfirmed_sample_count: u64,
    pub dataset_version_count: u64,
    pub next_version_num: u64,
    /// The version published last (its id and name), absent before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version_name: Option<String>,
    pub import_annotations: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_format: Option<LabelFormat>,
    pub workspace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListDatasetsResponse {
    pub total_number: u64,
    pub datasets: Vec<Dataset>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDatasetsQuery {
    /// Page number (0-based).
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// Page size, 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// `create_time` (default) or `dataset_name`.
    pub sort_by: Option<String>,
    /// `asc` or `desc` (default).
    pub order: Option<String>,
    /// Case-insensitive part of the name.
    pub search_content: Option<String>,
    #[param(value_type = Option<i32>)]
    pub dataset_type: Option<String>,
    /// Include each dataset's labels.
    #[param(value_type = Option<bool>)]
    pub with_labels: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Not supported on statistics: refused.
    pub sample_state: Option<String>,
    /// Not supported on statistics: refused.
    pub email: Option<String>,
    /// Accepted and ignored: texts are English.
    pub locale: Option<String>,
}

// The label's fields are spelled out rather than a `#[serde(flatten)]` `Label`: `Label` refuses
// unknown fields, and the OpenAPI document would describe the flattened form as an `allOf` whose
// `Label` part forbids the counters.
/// A label with its usage: the label's fields, then its counters.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LabelStats {
    /// Label name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label type, one of the documented label type values.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub label_type: Option<LabelType>,
    /// The label's display properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub property: Option<Map<String, Value>>,
    /// Extra dimensions of the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<LabelAttribute>>,
    /// How often the label is placed (each box counts).
    pub count: u64,
    /// How many samples carry it.
    pub sample_count: u64,
}

/// Answer of `GET .../data-annotations/stats`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DatasetStats {
    pub label_stats: Vec<LabelStats>,
    /// Sample counts by state: `all`, `total`, `lefted`, `un_annotation`, `manual_annotation`,
    /// `auto_annotation`, `deleted`.
    pub sample_stats: BTreeMap<String, u64>,
}

impl LabelStats {
    pub fn new(label: Label, count: u64, sample_count: u64) -> Self {
        let Label {
            name,
            label_type,
            property,
            attributes,
        } = label;
        LabelStats {
            name,
            label_type,
            property,
            attributes,
            count,
            sample_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label's usage answers the label's own fields beside the counters, in that order.
    #[test]
    fn label_stats_answer_the_label_fields_then_the_counters() {
        let label = Label {
            name: Some("Car".into()),
            label_type: Some(LabelType::ObjectDetection),
            property: Some(Map::new()),
            attributes: None,
        };
        let answered = serde_json::to_string(&LabelStats::new(label, 3, 2)).unwrap();
        assert_eq!(
            answered,
            r#"{"name":"Car","type":1,"property":{},"count":3,"sample_count":2}"#
        );
    }
}
