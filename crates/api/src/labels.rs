//! Labels on the wire: a dataset's label definition (with its attributes), a label placed on a
//! sample, and the bodies and queries of the label endpoints. Shapes only: it must not decide
//! the label rules (they stay in `teamlabel-core`), touch storage or speak HTTP.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::enums::LabelType;

/// A label of a dataset. In requests, `name` picks or names the label and `type`
/// may be left out where the dataset type implies it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Label name, 1 to 1024 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label type, one of the documented label type values.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub label_type: Option<LabelType>,
    /// Open map of display properties; the `@modelarts:` keys have defined meanings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub property: Option<Map<String, Value>>,
    /// Extra dimensions of the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<LabelAttribute>>,
}

/// An extra dimension of a label: a free text or a choice among values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelAttribute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `text` or `select`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub attribute_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<LabelAttributeValue>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelAttributeValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A label placed on a sample: which dataset label, where (in `property`), how sure and by whom.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleLabel {
    /// Per-sample instance id, e.g. `E1` for a triplet entity, `R1` for a relationship.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name of a label of the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label type, one of the documented label type values; optional where the name is
    /// unambiguous.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub label_type: Option<i64>,
    /// Geometry, offsets, times and hard-example values (`@modelarts:` keys); other keys are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub property: Option<Map<String, Value>>,
    /// Confidence in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// `human`, `auto`, or a `modelarts/...` producer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotated_by: Option<String>,
}

/// Body of the label batch endpoints (create, update, delete).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelsRequest {
    /// The labels to create, change or delete.
    #[serde(default)]
    pub labels: Option<Vec<Label>>,
}

/// Answer of the label list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListLabelsResponse {
    pub total_number: u64,
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListLabelsQuery {
    /// Labels as of a dataset version (no versions exist yet, so any id is not found).
    pub version_id: Option<String>,
    /// Page number (0-based).
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// Page size, 1 to 100000 (default 100000).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteLabelsQuery {
    /// 0: delete the labels only; 1: also delete samples whose only labels were these; 2: as 1
    /// and delete their stored files.
    #[param(value_type = Option<i32>)]
    pub delete_policy: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LabelByNameQuery {
    /// Picks between labels that share a name.
    #[param(value_type = Option<i32>)]
    pub label_type: Option<String>,
    /// On delete: also delete the stored files of deleted samples.
    #[param(value_type = Option<bool>)]
    pub delete_source: Option<String>,
}
