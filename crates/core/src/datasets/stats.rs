//! Dataset statistics (`GET .../data-annotations/stats`): each label with its usage counters
//! and the sample counts by state. Reads only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::datasets::dataset::unsupported;
use crate::datasets::labels::{Label, LabelAttribute};
use crate::enums::LabelType;
use crate::error::Result;
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};

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
    /// Label type (objects.md §1.2).
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

/// Answer of `GET .../data-annotations/stats`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DatasetStats {
    pub label_stats: Vec<LabelStats>,
    /// Sample counts by state: `all`, `total`, `lefted`, `un_annotation`, `manual_annotation`,
    /// `auto_annotation`, `deleted`.
    pub sample_stats: BTreeMap<String, u64>,
}

impl App {
    pub async fn dataset_stats(&self, p: &Principal, dataset_id: &str, q: &StatsQuery) -> Result<DatasetStats> {
        policy::authorize(p, Op::GetDatasetStats, &Standing::project(p))?;
        for (name, v) in [("sample_state", &q.sample_state), ("email", &q.email)] {
            if v.as_deref().is_some_and(|v| !v.is_empty()) {
                return Err(unsupported(format!("{name} is not supported on dataset statistics")));
            }
        }
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        let labels = self.store.list_labels(dataset_id).await?;
        let usage = self.store.label_usage(dataset_id).await?;
        let counts = self
            .store
            .sample_counts(&[dataset_id.to_string()])
            .await?
            .get(dataset_id)
            .copied()
            .unwrap_or_default();
        let label_stats = labels
            .iter()
            .map(|l| {
                let u = usage.iter().find(|u| u.label_id == l.id);
                LabelStats::new(l.to_api(), u.map_or(0, |u| u.count), u.map_or(0, |u| u.sample_count))
            })
            .collect();
        let sample_stats = BTreeMap::from([
            ("all".to_string(), counts.total),
            ("total".to_string(), counts.total),
            ("lefted".to_string(), counts.total),
            ("deleted".to_string(), 0),
            ("un_annotation".to_string(), counts.un_annotation),
            ("manual_annotation".to_string(), counts.manual_annotation),
            ("auto_annotation".to_string(), counts.auto_annotation),
        ]);
        Ok(DatasetStats {
            label_stats,
            sample_stats,
        })
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
