//! The dataset-level batch label update (`PUT .../data-annotations/samples`): writes the
//! dataset's own labels of each sample. Each item is planned by `samples::plan`; the items that
//! pass are written in one transaction with one history row each, and `?atomic=true` writes
//! nothing if any item fails.

use std::collections::HashMap;
use teamlabel_api::enums::SampleStatus;
use teamlabel_api::samples::{SampleLabels, UpdateSamplesQuery, UpdateSamplesRequest};

use crate::app::App;
use crate::error::{Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::is_hex32;
use crate::query::parse_bool;
use crate::samples::batch::{check_batch_size, empty_outcome, history_of, BatchOutcome, Once, Plan, WRITE_ATTEMPTS};
use crate::samples::plan::{plan_items, Current, Facts, Target};
use crate::samples::source::SourceUrls;
use crate::store::{SampleRecord, SampleWrite};

/// Dataset items land on the samples themselves.
struct DatasetSamples<'s> {
    loaded: &'s HashMap<String, SampleRecord>,
}

impl<'s> Target<'s> for DatasetSamples<'s> {
    type Key = String;

    fn locate(&self, item: &SampleLabels, sample_id: &str) -> Result<(String, &'s SampleRecord)> {
        if item.worker_id.is_some() {
            return Err(Error::invalid("worker_id applies to team task samples: use .../workforce-tasks/{workforce_task_id}/data-annotations/samples"));
        }
        let sample = self
            .loaded
            .get(sample_id)
            .ok_or_else(|| Error::sample_not_found(sample_id))?;
        Ok((sample_id.to_string(), sample))
    }

    fn state_after(&self, labeled: bool) -> String {
        status_after(labeled).as_str().to_string()
    }
}

fn status_after(labeled: bool) -> SampleStatus {
    if labeled {
        SampleStatus::ManualAnnotation
    } else {
        SampleStatus::UnAnnotation
    }
}

impl App {
    /// The dataset-level batch label update.
    pub async fn update_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &UpdateSamplesQuery,
        req: &UpdateSamplesRequest,
        urls: &dyn SourceUrls,
        idempotency_key: Option<&str>,
    ) -> Result<BatchOutcome> {
        policy::authorize(p, Op::UpdateSamples, &Standing::project(p))?;
        let atomic = parse_bool("atomic", q.atomic.as_deref(), false)?;
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        if req.email.is_some() {
            return Err(Error::invalid("email applies to team task samples: use .../workforce-tasks/{workforce_task_id}/data-annotations/samples"));
        }
        let items = req.samples.as_deref().unwrap_or(&[]);
        check_batch_size(items, self.limits.max_batch)?;
        let once = match idempotency_key {
            Some(key) => Some(Once::new(p, key, &["dataset", dataset_id], atomic, req)?),
            None => None,
        };
        if let Some(answer) = self.replay(once.as_ref()).await? {
            return Ok(answer);
        }
        if items.is_empty() {
            return Ok(empty_outcome());
        }
        let labels = self.store.list_labels(dataset_id).await?;
        let facts = Facts {
            dataset_type: dataset.dataset_type,
            labels: &labels,
            urls,
        };
        let ids: Vec<String> = items
            .iter()
            .filter_map(|i| i.sample_id.clone())
            .filter(|id| is_hex32(id))
            .collect();
        for attempt in 1..=WRITE_ATTEMPTS {
            let loaded: HashMap<String, SampleRecord> = self
                .store
                .load_samples(dataset_id, &ids)
                .await?
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect();
            let mut current: HashMap<String, Current> = loaded
                .values()
                .map(|s| {
                    let now = Current {
                        version: s.version,
                        labels: s.labels.clone(),
                        state: s.status.as_str().to_string(),
                        metadata: Some(s.metadata.clone()),
                    };
                    (s.id.clone(), now)
                })
                .collect();
            let target = DatasetSamples { loaded: &loaded };
            let now = crate::clock::now_ms();
            let mut plan = Plan::new("dataset", items.len());
            for (i, (item, planned)) in items
                .iter()
                .zip(plan_items(items, &facts, &target, &mut current))
                .enumerate()
            {
                let outcome = planned.map(|planned| {
                    let status = status_after(!planned.labels.is_empty());
                    let write = SampleWrite {
                        dataset_id: dataset_id.to_string(),
                        sample_id: planned.sample_id.clone(),
                        expected_version: planned.before.version,
                        labels: planned.labels.clone(),
                        metadata: planned.metadata_after().unwrap_or_default(),
                        sample_usage: planned.usage.clone(),
                        status,
                        update_time: now,
                    };
                    let record = history_of(&planned, dataset_id, None, p, now);
                    (write, record)
                });
                plan.push(i, item.sample_id.as_deref(), outcome);
            }
            let last = attempt == WRITE_ATTEMPTS;
            let step = self
                .commit(plan, atomic, once.as_ref(), last, |w, h, r| async move {
                    self.store.write_samples_with(&w, &h, r.as_ref()).await
                })
                .await?;
            if let Some(outcome) = step {
                return Ok(outcome);
            }
        }
        unreachable!("the last attempt returns")
    }
}
