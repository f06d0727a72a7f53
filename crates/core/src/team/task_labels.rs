//! The team batch label update (`PUT .../workforce-tasks/{id}/data-annotations/samples`): each
//! item writes one member's copy of a sample. Who may write whose copy is decided here; the item
//! itself is planned by `samples::plan`. The items that pass are written in one transaction with
//! one history row each, and `?atomic=true` writes nothing if any item fails.

use std::collections::HashMap;
use teamlabel_api::samples::{SampleLabels, UpdateSamplesQuery, UpdateSamplesRequest};

use crate::app::App;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{Principal, Role};
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::ids::is_hex32;
use crate::query::parse_bool;
use crate::samples::batch::{check_batch_size, empty_outcome, history_of, BatchOutcome, Once, Plan, WRITE_ATTEMPTS};
use crate::samples::plan::{plan_items, size_of, Current, Facts, Target};
use crate::samples::source::SourceUrls;
use crate::store::{CopyWrite, SampleRecord, TeamSample, WorkerRecord};
use crate::team::task_states::{forbidden, state, status};
use crate::webhooks::copies_labeled;

/// Team items land on a member's copy of a sample.
struct TaskCopies<'s> {
    role: &'s TaskRole,
    labelers: &'s [&'s WorkerRecord],
    email: Option<&'s str>,
    by_id: HashMap<&'s str, &'s TeamSample>,
    next_state: &'static str,
}

impl<'s> Target<'s> for TaskCopies<'s> {
    type Key = i64;

    fn locate(&self, item: &SampleLabels, sample_id: &str) -> Result<(i64, &'s SampleRecord)> {
        let target = target_member(self.role, self.labelers, item, self.email)?;
        let team_sample = *self
            .by_id
            .get(sample_id)
            .ok_or_else(|| Error::sample_not_found(sample_id))?;
        if team_sample.copies.is_empty() {
            return Err(Error::bad_request(
                codes::SAMPLE_NOT_FOUND,
                format!("Sample not found in this task: {sample_id}"),
            ));
        }
        let copy = team_sample
            .copies
            .iter()
            .find(|c| c.worker_id == target.id)
            .ok_or_else(|| {
                forbidden(format!(
                    "The worker action is forbidden: sample {sample_id} is not assigned to {}",
                    target.email
                ))
            })?;
        Ok((copy.id, &team_sample.sample))
    }

    fn check_current(&self, sample_id: &str, current: &Current) -> Result<()> {
        if state::is_sampled(&current.state) {
            return Err(Error::bad_request(
                codes::TASK_CHECKING,
                format!("The sample {sample_id} is drawn into the open acceptance round; its labels cannot change until the round closes"),
            ));
        }
        if current.state == state::ACCEPTED {
            return Err(Error::bad_request(
                codes::SAMPLE_ACCEPTED,
                format!("The sample {sample_id} has been accepted; its labels can no longer change"),
            ));
        }
        Ok(())
    }

    fn base_size(&self, sample: &SampleRecord) -> Option<(f64, f64)> {
        size_of(Some(&sample.metadata))
    }

    fn state_after(&self, labeled: bool) -> String {
        if labeled { self.next_state } else { state::NONE }.to_string()
    }
}

impl App {
    /// The team batch label update.
    #[allow(clippy::too_many_arguments)] // the path, the query, the body and two headers
    pub async fn update_workforce_task_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        q: &UpdateSamplesQuery,
        req: &UpdateSamplesRequest,
        urls: &dyn SourceUrls,
        idempotency_key: Option<&str>,
    ) -> Result<BatchOutcome> {
        let atomic = parse_bool("atomic", q.atomic.as_deref(), false)?;
        let (dataset, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        let role = TaskRole::of(p, &members);
        policy::authorize(p, Op::UpdateWorkforceTaskSamples, &Standing::task(&role))?;
        if matches!(task.status, status::CREATED | status::STARTING) {
            return Err(forbidden(format!(
                "The worker action is forbidden: labels can be written once the task has started; it is in status {}",
                task.status
            )));
        }
        let items = req.samples.as_deref().unwrap_or(&[]);
        check_batch_size(items, self.limits.max_batch)?;
        let once = match idempotency_key {
            Some(key) => Some(Once::new(p, key, &["team", dataset_id, task_id], atomic, req)?),
            None => None,
        };
        if let Some(answer) = self.replay(once.as_ref()).await? {
            return Ok(answer);
        }
        if items.is_empty() {
            return Ok(empty_outcome());
        }
        if let Some(e) = &req.email {
            crate::text::check_email("email", e)?;
        }
        let labels = self.store.list_labels(dataset_id).await?;
        let facts = Facts {
            dataset_type: dataset.dataset_type,
            labels: &labels,
            urls,
        };
        let labelers: Vec<&WorkerRecord> = members.iter().filter(|m| m.role == Role::Labeler).collect();
        let next_state = if members.iter().any(|m| m.role == Role::Reviewer) {
            state::UNREVIEWED
        } else {
            state::UNCHECK
        };
        let ids: Vec<String> = items
            .iter()
            .filter_map(|i| i.sample_id.clone())
            .filter(|id| is_hex32(id))
            .collect();

        for attempt in 1..=WRITE_ATTEMPTS {
            let mut loaded = self.store.load_team_samples(&task.id, dataset_id, &ids).await?;
            // The copies' labels move into `current`: planning reads them from there only.
            let mut current: HashMap<i64, Current> = loaded
                .iter_mut()
                .flat_map(|t| t.copies.iter_mut())
                .map(|c| {
                    let now = Current {
                        version: c.version,
                        labels: std::mem::take(&mut c.labels),
                        state: c.state.clone(),
                        metadata: c.metadata.clone(),
                    };
                    (c.id, now)
                })
                .collect();
            let workers: HashMap<i64, &str> = loaded
                .iter()
                .flat_map(|t| t.copies.iter())
                .map(|c| (c.id, c.worker_id.as_str()))
                .collect();
            let target = TaskCopies {
                role: &role,
                labelers: &labelers,
                email: req.email.as_deref(),
                by_id: loaded.iter().map(|t| (t.sample.id.as_str(), t)).collect(),
                next_state,
            };
            let now = crate::clock::now_ms();
            let mut plan = Plan::new("task", items.len());
            for (i, (item, planned)) in items
                .iter()
                .zip(plan_items(items, &facts, &target, &mut current))
                .enumerate()
            {
                let outcome = planned.map(|planned| {
                    let record = history_of(
                        &planned,
                        dataset_id,
                        Some((&task.id, workers[&planned.key], planned.key)),
                        p,
                        now,
                    );
                    let write = CopyWrite {
                        copy_id: planned.key,
                        expected_version: planned.before.version,
                        labels: planned.labels,
                        metadata: planned.metadata,
                        sample_usage: planned.usage,
                        state: planned.state_after,
                        update_time: now,
                    };
                    (write, record)
                });
                plan.push(i, item.sample_id.as_deref(), outcome);
            }
            let last = attempt == WRITE_ATTEMPTS;
            let task_id = task.id.as_str();
            let step = self
                .commit(plan, atomic, once.as_ref(), last, |w, h, r| async move {
                    let events: Vec<_> = (!h.is_empty())
                        .then(|| copies_labeled(dataset_id, task_id, &p.email, &h))
                        .into_iter()
                        .collect();
                    self.store.write_copies_with(&w, &h, r.as_ref(), &events).await?;
                    if !events.is_empty() {
                        self.webhooks.wake();
                    }
                    Ok(())
                })
                .await?;
            if let Some(outcome) = step {
                return Ok(outcome);
            }
        }
        unreachable!("the last attempt returns")
    }
}

/// Whose copy an item writes.
fn target_member<'a>(
    role: &'a TaskRole,
    labelers: &[&'a WorkerRecord],
    item: &SampleLabels,
    email: Option<&str>,
) -> Result<&'a WorkerRecord> {
    if !role.manages() {
        let me = role
            .labeler
            .as_ref()
            .ok_or_else(|| forbidden("The worker action is forbidden: you are not a labeler of this task"))?;
        if item.worker_id.as_deref().is_some_and(|w| w != me.id) {
            return Err(forbidden("The worker action is forbidden: worker_id names another member; a labeler writes only their own labels"));
        }
        if email.is_some_and(|e| !e.eq_ignore_ascii_case(&me.email)) {
            return Err(forbidden(
                "The worker action is forbidden: email names another member; a labeler writes only their own labels",
            ));
        }
        return Ok(me);
    }
    let found = match (item.worker_id.as_deref(), email) {
        (Some(w), _) => labelers.iter().find(|l| l.id == w).copied().ok_or_else(|| {
            forbidden(format!(
                "The worker action is forbidden: worker {w} is not a labeler of this task"
            ))
        }),
        (None, Some(e)) => labelers
            .iter()
            .find(|l| l.email.eq_ignore_ascii_case(e))
            .copied()
            .ok_or_else(|| {
                forbidden(format!(
                    "The worker action is forbidden: {e} is not a labeler of this task"
                ))
            }),
        (None, None) => role.labeler.as_ref().ok_or_else(|| {
            Error::invalid(
                "worker_id is required: name the member whose labels these are (or give email for the batch)",
            )
        }),
    };
    found
}
