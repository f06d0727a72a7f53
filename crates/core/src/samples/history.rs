//! The annotation history of a sample: every applied label change, newest first. Reads only;
//! the rows are written by the batch label updates.

use teamlabel_api::samples::{HistoryEntry, ListHistoryQuery, ListHistoryResponse};

use crate::app::App;
use crate::error::{Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::is_hex32;
use crate::query::parse_page;

/// History rows one pruning step removes at most.
const PRUNE_BATCH: u64 = 10_000;

impl App {
    /// Removes the label history written before `before_ms`, oldest first, a batch at a time
    /// (`TeamSampleStore::prune_history`); answers how many rows went. Rows that stay read
    /// back whole.
    pub async fn prune_history(&self, before_ms: i64) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = self.store.prune_history(before_ms, PRUNE_BATCH).await?;
            total += n;
            if n < PRUNE_BATCH {
                return Ok(total);
            }
        }
    }

    pub async fn list_sample_history(
        &self,
        p: &Principal,
        dataset_id: &str,
        sample_id: &str,
        q: &ListHistoryQuery,
    ) -> Result<ListHistoryResponse> {
        policy::authorize(p, Op::ListSampleHistory, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        if !is_hex32(sample_id) {
            return Err(Error::sample_not_found(sample_id));
        }
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let (total, rows) = self
            .store
            .list_history(dataset_id, sample_id, page.offset, page.limit)
            .await?;
        if total == 0
            && self
                .store
                .load_samples(dataset_id, &[sample_id.to_string()])
                .await?
                .is_empty()
        {
            return Err(Error::sample_not_found(sample_id));
        }
        Ok(ListHistoryResponse {
            total_number: total,
            history: rows
                .into_iter()
                .map(|h| {
                    Ok(HistoryEntry {
                        id: h.id,
                        change_time: h.change_time,
                        actor_email: h.actor_email,
                        actor_user_id: h.actor_user_id,
                        task_id: h.task_id,
                        worker_id: h.worker_id,
                        state_before: h.state_before,
                        state_after: h.state_after,
                        labels_before: json_of(&h.labels_before)?,
                        labels_after: json_of(&h.labels_after)?,
                        version: h.version_after,
                        event: h.step.event,
                        comment: h.step.comment,
                        from_workers: h.step.from_workers,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}

/// Stored labels (JSON text) as a JSON value.
fn json_of(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("stored history labels: {e}")))
}
