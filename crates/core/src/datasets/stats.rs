//! Dataset statistics (`GET .../data-annotations/stats`): each label with its usage counters
//! and the sample counts by state. Reads only.

use std::collections::BTreeMap;
use teamlabel_api::datasets::{DatasetStats, LabelStats, StatsQuery};

use crate::app::App;
use crate::datasets::dataset::unsupported;
use crate::error::Result;
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};

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
