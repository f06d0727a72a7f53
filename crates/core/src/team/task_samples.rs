//! The batch update of sample labels, the centre of teamlabel, for team tasks
//! (`PUT .../workforce-tasks/{id}/data-annotations/samples`) and for the dataset
//! (`PUT .../data-annotations/samples`), plus reading team samples back and the annotation
//! history. Every item is checked on its own (DESIGN.md, "The batch label update"); the items that
//! pass are written in one transaction with one history row each; `?atomic=true` writes nothing
//! if any item fails.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::batch::{BatchResponse, ItemResult};
use crate::clock::now_ms;
use crate::datasets::labels::LabelDef;
use crate::enums::{DatasetType, SampleStatus, SampleType, SAMPLE_USAGES};
use crate::error::{codes, Error, Result};
use crate::iam::auth::{Principal, Role};
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::ids::{is_hex32, is_plausible_id};
use crate::query::{parse_bool, parse_page};
use crate::rules::sample_labels::{
    check_metadata, check_sample_labels, check_triplet_types, meta, PlacedLabel, SampleFacts, SampleLabel,
};
use crate::samples::read::{label_name_filter, parse_search_conditions, sample_to_api};
use crate::store::{
    CopyWrite, HistoryRecord, IdempotencyRecord, SampleRecord, SampleWrite, TeamSampleQuery, TeamSampleRow,
    WorkerRecord,
};
use crate::team::tasks::{forbidden, state, status};

/// One item of a batch label update (objects.md, SampleLabels).
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

/// The answer of a batch update and whether it is a failed atomic batch (HTTP 400).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    pub response: BatchResponse,
    pub rejected: bool,
}

/// A member a team sample is assigned to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LabelerView {
    pub email: String,
    pub worker_id: String,
    pub role: i32,
}

/// A team sample: one member's copy of one sample (DescribeSampleResp, team flavour).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkforceTaskSample {
    pub sample_id: String,
    pub sample_name: String,
    pub sample_type: SampleType,
    /// The copy's state: `__NONE__`, `__UNREVIEWED__`, `__UNCHECK__`, `__ACCEPTED__`, ...
    pub sample_status: String,
    pub sample_time: i64,
    pub sample_size: i64,
    pub source: String,
    pub labels: Vec<SampleLabel>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// The member whose copy this is.
    pub worker_id: String,
    /// Every member the sample is assigned to.
    pub labelers: Vec<LabelerView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_usage: Option<String>,
    /// An addition: the copy's version, to send back for lost-update protection.
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListWorkforceTaskSamplesResponse {
    pub sample_count: u64,
    pub samples: Vec<WorkforceTaskSample>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWorkforceTaskSamplesQuery {
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// A team state (`__NONE__`, `__UNREVIEWED__`, `__UNCHECK__`, `__ACCEPTED__`, `__REJECTED__`,
    /// `__AUTO_ANNOTATION__`) or `__ALL__`; any case.
    pub sample_state: Option<String>,
    pub label_name: Option<String>,
    #[param(value_type = Option<i32>)]
    pub label_type: Option<String>,
    /// Conditions on the copies' labels (`label_list`).
    pub search_conditions: Option<String>,
    /// An addition: only this member's copies (owners, managers and reviewers).
    pub worker_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetWorkforceTaskSampleQuery {
    /// Whose copy; the first assigned member's when left out.
    pub worker_id: Option<String>,
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

/// A copy as the batch goes: version, labels, state, metadata.
type CopyNow = (i64, Vec<PlacedLabel>, String, Option<Map<String, Value>>);

/// An `X-Idempotency-Key` and what the request it came with asked for.
struct Once {
    project_id: String,
    user_id: String,
    key: String,
    hash: String,
}

impl Once {
    fn new(p: &Principal, key: &str, path: &[&str], atomic: bool, req: &UpdateSamplesRequest) -> Result<Self> {
        if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "X-Idempotency-Key must be 1 to 128 visible ASCII characters",
            ));
        }
        // The same request is the same path, query and body; maps serialize in key order.
        let doc = serde_json::json!({"path": path, "atomic": atomic, "body": req});
        Ok(Once {
            project_id: p.project_id.clone(),
            user_id: p.user_id.clone(),
            key: key.to_string(),
            hash: crate::blobs::sha256_hex(doc.to_string().as_bytes()),
        })
    }

    fn record(&self, outcome: &BatchOutcome) -> IdempotencyRecord {
        IdempotencyRecord {
            project_id: self.project_id.clone(),
            user_id: self.user_id.clone(),
            key: self.key.clone(),
            request_hash: self.hash.clone(),
            status: if outcome.rejected { 400 } else { 200 },
            response: serde_json::to_value(&outcome.response).unwrap_or(Value::Null),
            create_time: now_ms(),
        }
    }
}

/// A planned batch: each item's result, and the writes and history rows of those that passed.
struct Plan<W> {
    results: Vec<ItemResult>,
    writes: Vec<W>,
    history: Vec<HistoryRecord>,
}

impl<W> Plan<W> {
    fn new(items: usize) -> Self {
        Plan {
            results: Vec::with_capacity(items),
            writes: Vec::new(),
            history: Vec::new(),
        }
    }

    fn push(&mut self, i: usize, sample_id: Option<&str>, outcome: Result<(W, HistoryRecord)>) {
        match outcome {
            Ok((w, h)) => {
                self.results.push(ItemResult {
                    sample_id: sample_id.map(str::to_string),
                    ..ItemResult::ok()
                });
                self.writes.push(w);
                self.history.push(h);
            }
            Err(e) => self.results.push(item_failed(sample_id, &with_item(i, e))),
        }
    }
}

/// How often a batch is re-read and re-planned when a concurrent writer moved a copy between
/// the read and the write.
const WRITE_ATTEMPTS: usize = 4;

fn labels_value(labels: &[PlacedLabel]) -> Value {
    Value::Array(
        labels
            .iter()
            .map(|l| serde_json::to_value(l.to_api()).unwrap_or(Value::Null))
            .collect(),
    )
}

/// The checks every item of both updates shares: type, usage, source, metadata, labels.
/// Answers the labels to store, the metadata to store (when given) and the usage.
struct Checked {
    labels: Vec<PlacedLabel>,
    metadata: Option<Map<String, Value>>,
    usage: Option<String>,
}

fn check_item(
    item: &SampleLabels,
    sample: &SampleRecord,
    dataset_type: DatasetType,
    labels: &[LabelDef],
    stored_size: Option<(f64, f64)>,
    source_as_listed: &str,
) -> Result<Checked> {
    if let Some(t) = item.sample_type {
        let t = SampleType::parse("sample_type", t).map_err(Error::invalid)?;
        if t != sample.sample_type {
            return Err(Error::invalid(format!(
                "sample_type {} does not match the sample's type {}",
                t.code(),
                sample.sample_type.code()
            )));
        }
    }
    let usage = match item.sample_usage.as_deref() {
        None => None,
        Some(u) => {
            let upper = u.to_ascii_uppercase();
            if !SAMPLE_USAGES.contains(&upper.as_str()) {
                return Err(Error::invalid(format!(
                    "sample_usage must be one of {}, got {u:?}",
                    SAMPLE_USAGES.join(", ")
                )));
            }
            Some(upper)
        }
    };
    if let Some(src) = item.source.as_deref() {
        let file_suffix = format!("/data-annotations/samples/{}/file", sample.id);
        let same = src == source_as_listed || (sample.blob_sha256.is_some() && src.ends_with(&file_suffix));
        if !same {
            return Err(Error::invalid(format!(
                "source does not match the sample's source {source_as_listed:?}"
            )));
        }
    }
    let request_size = match &item.metadata {
        Some(m) => check_metadata(m)?,
        None => None,
    };
    let facts = SampleFacts {
        dataset_type,
        labels,
        text_len: sample.text_len.map(|n| n as usize),
        size: request_size.or(stored_size),
    };
    let placed = check_sample_labels(&facts, item.labels.as_deref().unwrap_or(&[]))?;
    check_triplet_types(&placed, labels)?;
    Ok(Checked {
        labels: placed,
        metadata: item.metadata.clone(),
        usage,
    })
}

fn size_of(metadata: Option<&Map<String, Value>>) -> Option<(f64, f64)> {
    metadata.and_then(|m| check_metadata(m).ok().flatten())
}

fn with_item(i: usize, e: Error) -> Error {
    Error {
        message: format!("samples[{i}]: {}", e.message),
        ..e
    }
}

fn item_failed(sample_id: Option<&str>, e: &Error) -> ItemResult {
    ItemResult {
        sample_id: sample_id.map(str::to_string),
        ..ItemResult::failed(e)
    }
}

/// Finishes a planned batch: on an atomic batch with failures, every item fails and nothing
/// is written.
fn finish(results: Vec<ItemResult>, atomic: bool) -> (BatchOutcome, bool) {
    if atomic && results.iter().any(|r| !r.success) {
        return (
            BatchOutcome {
                response: BatchResponse::none_applied(results),
                rejected: true,
            },
            false,
        );
    }
    (
        BatchOutcome {
            response: BatchResponse::from_results(results),
            rejected: false,
        },
        true,
    )
}

fn check_batch_size(items: &[SampleLabels], max: usize) -> Result<()> {
    if items.len() > max {
        return Err(Error::invalid(format!(
            "samples: at most {max} samples per request, got {}",
            items.len()
        )));
    }
    Ok(())
}

/// Parses a team `sample_state` filter (any case); `None` means every state.
pub fn parse_team_state(value: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let upper = v.to_ascii_uppercase();
    if upper == "__ALL__" {
        return Ok(None);
    }
    if let Some(s) = state::ALL.iter().find(|s| **s == upper) {
        return Ok(Some(vec![s.to_string()]));
    }
    Err(Error::invalid(format!(
        "sample_state {v:?} is not a state of team samples; use __ALL__, {}",
        state::ALL.join(", ")
    )))
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
        base_url: &str,
        idempotency_key: Option<&str>,
    ) -> Result<BatchOutcome> {
        let atomic = parse_bool("atomic", q.atomic.as_deref(), false)?;
        let (dataset, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        let role = TaskRole::of(p, &members);
        policy::authorize(p, Op::UpdateWorkforceTaskSamples, &Standing::task(&role))?;
        if !matches!(task.status, status::RUNNING | status::REJECTED) {
            return Err(forbidden(format!(
                "The worker action is forbidden: labels can be written while the task runs (status 1) or after it was rejected (4); it is in status {}",
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
            return Ok(BatchOutcome {
                response: BatchResponse::from_results(vec![]),
                rejected: false,
            });
        }
        if let Some(e) = &req.email {
            crate::text::check_email("email", e)?;
        }
        let labels = self.store.list_labels(dataset_id).await?;
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
            let loaded = self.store.load_team_samples(&task.id, dataset_id, &ids).await?;
            let by_id: HashMap<&str, &crate::store::TeamSample> =
                loaded.iter().map(|t| (t.sample.id.as_str(), t)).collect();
            // The state of each copy as the batch goes, so a copy named twice sees its first write.
            let mut current: HashMap<i64, CopyNow> = loaded
                .iter()
                .flat_map(|t| t.copies.iter())
                .map(|c| (c.id, (c.version, c.labels.clone(), c.state.clone(), c.metadata.clone())))
                .collect();
            let now = now_ms();
            let mut plan = Plan::new(items.len());
            for (i, item) in items.iter().enumerate() {
                let outcome = (|| -> Result<(CopyWrite, HistoryRecord)> {
                    let sample_id = item
                        .sample_id
                        .as_deref()
                        .ok_or_else(|| Error::invalid("sample_id is required"))?;
                    let target = self.target_member(&role, &labelers, item, req.email.as_deref())?;
                    let team_sample = by_id.get(sample_id).ok_or_else(|| Error::sample_not_found(sample_id))?;
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
                    let (version, before, state_before, copy_meta) = current[&copy.id].clone();
                    if state_before == state::ACCEPTED {
                        return Err(Error::bad_request(
                            codes::SAMPLE_ACCEPTED,
                            format!("The sample {sample_id} has been accepted; its labels can no longer change"),
                        ));
                    }
                    if let Some(v) = item.version {
                        if v != version {
                            return Err(Error::conflict(codes::VERSION_CONFLICT, format!("version {v} is not the stored version {version}: the labels changed since they were read")));
                        }
                    }
                    let sample = &team_sample.sample;
                    let listed = sample_to_api(sample, &p.project_id, base_url).source;
                    let stored_size = size_of(copy_meta.as_ref()).or_else(|| size_of(Some(&sample.metadata)));
                    let checked = check_item(item, sample, dataset.dataset_type, &labels, stored_size, &listed)?;
                    let state_after = if checked.labels.is_empty() {
                        state::NONE
                    } else {
                        next_state
                    };
                    let write = CopyWrite {
                        copy_id: copy.id,
                        expected_version: version,
                        labels: checked.labels.clone(),
                        metadata: checked.metadata.clone(),
                        sample_usage: checked.usage,
                        state: state_after.to_string(),
                        update_time: now,
                    };
                    let record = HistoryRecord {
                        id: 0,
                        dataset_id: dataset_id.to_string(),
                        sample_id: sample_id.to_string(),
                        task_id: Some(task.id.clone()),
                        worker_id: Some(target.id.clone()),
                        actor_user_id: p.user_id.clone(),
                        actor_email: p.email.clone(),
                        change_time: now,
                        state_before: state_before.clone(),
                        state_after: state_after.to_string(),
                        labels_before: labels_value(&before),
                        labels_after: labels_value(&checked.labels),
                        version_after: version + 1,
                    };
                    let meta_after = checked.metadata.or(copy_meta);
                    current.insert(
                        copy.id,
                        (version + 1, checked.labels, state_after.to_string(), meta_after),
                    );
                    Ok((write, record))
                })();
                plan.push(i, item.sample_id.as_deref(), outcome);
            }
            let last = attempt == WRITE_ATTEMPTS;
            let step = self
                .commit(plan, atomic, once.as_ref(), last, |w, h, r| async move {
                    self.store.write_copies_with(&w, &h, r.as_ref()).await
                })
                .await?;
            if let Some(outcome) = step {
                return Ok(outcome);
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Writes a planned batch (nothing of it when an atomic batch failed) with its idempotency
    /// record. Answers the outcome, or `None` when a concurrent writer moved a copy and the
    /// batch must be planned again (unless this was the `last` attempt).
    async fn commit<W, F, Fut>(
        &self,
        plan: Plan<W>,
        atomic: bool,
        once: Option<&Once>,
        last: bool,
        write: F,
    ) -> Result<Option<BatchOutcome>>
    where
        F: FnOnce(Vec<W>, Vec<HistoryRecord>, Option<IdempotencyRecord>) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let Plan {
            results,
            mut writes,
            mut history,
        } = plan;
        let (outcome, apply) = finish(results, atomic);
        let record = once.map(|o| o.record(&outcome));
        if !apply {
            (writes, history) = (Vec::new(), Vec::new());
        }
        if writes.is_empty() && record.is_none() {
            return Ok(Some(outcome));
        }
        match write(writes, history, record).await {
            Ok(()) => Ok(Some(outcome)),
            Err(e) if e.code == codes::VERSION_CONFLICT && !last => Ok(None),
            Err(e) if e.code == codes::IDEMPOTENCY_TAKEN => self.replay(once).await?.ok_or(e).map(Some),
            Err(e) => Err(e),
        }
    }

    /// The first answer to an earlier request with the same idempotency key, if any; the same
    /// key with another request is 409 `ModelArts.4691`.
    async fn replay(&self, once: Option<&Once>) -> Result<Option<BatchOutcome>> {
        let Some(once) = once else { return Ok(None) };
        match self
            .store
            .find_idempotency(&once.project_id, &once.user_id, &once.key)
            .await?
        {
            None => Ok(None),
            Some(r) if r.request_hash == once.hash => Ok(Some(BatchOutcome {
                response: serde_json::from_value(r.response)
                    .map_err(|e| Error::internal(format!("stored idempotent answer: {e}")))?,
                rejected: r.status == 400,
            })),
            Some(_) => Err(Error::conflict(
                codes::IDEMPOTENCY_MISMATCH,
                "X-Idempotency-Key was used with a different request in the last 24 hours",
            )),
        }
    }

    /// Whose copy an item writes (DESIGN.md §5).
    fn target_member<'a>(
        &self,
        role: &'a TaskRole,
        labelers: &[&'a WorkerRecord],
        item: &SampleLabels,
        email: Option<&str>,
    ) -> Result<&'a WorkerRecord>
    where
        Self: 'a,
    {
        if !role.manages() {
            let me = role
                .labeler
                .as_ref()
                .ok_or_else(|| forbidden("The worker action is forbidden: you are not a labeler of this task"))?;
            if item.worker_id.as_deref().is_some_and(|w| w != me.id) {
                return Err(forbidden("The worker action is forbidden: worker_id names another member; a labeler writes only their own labels"));
            }
            if email.is_some_and(|e| !e.eq_ignore_ascii_case(&me.email)) {
                return Err(forbidden("The worker action is forbidden: email names another member; a labeler writes only their own labels"));
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

    /// The dataset-level batch label update (`PUT .../data-annotations/samples`).
    pub async fn update_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &UpdateSamplesQuery,
        req: &UpdateSamplesRequest,
        base_url: &str,
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
            return Ok(BatchOutcome {
                response: BatchResponse::from_results(vec![]),
                rejected: false,
            });
        }
        let labels = self.store.list_labels(dataset_id).await?;
        let ids: Vec<String> = items
            .iter()
            .filter_map(|i| i.sample_id.clone())
            .filter(|id| is_hex32(id))
            .collect();
        for attempt in 1..=WRITE_ATTEMPTS {
            let loaded = self.store.load_samples(dataset_id, &ids).await?;
            let mut current: HashMap<String, SampleRecord> = loaded.into_iter().map(|s| (s.id.clone(), s)).collect();
            let now = now_ms();
            let mut plan = Plan::new(items.len());
            for (i, item) in items.iter().enumerate() {
                let outcome = (|| -> Result<(SampleWrite, HistoryRecord)> {
                    let sample_id = item
                        .sample_id
                        .as_deref()
                        .ok_or_else(|| Error::invalid("sample_id is required"))?;
                    if item.worker_id.is_some() {
                        return Err(Error::invalid("worker_id applies to team task samples: use .../workforce-tasks/{workforce_task_id}/data-annotations/samples"));
                    }
                    let sample = current
                        .get(sample_id)
                        .ok_or_else(|| Error::sample_not_found(sample_id))?;
                    if let Some(v) = item.version {
                        if v != sample.version {
                            return Err(Error::conflict(
                                codes::VERSION_CONFLICT,
                                format!(
                                    "version {v} is not the stored version {}: the labels changed since they were read",
                                    sample.version
                                ),
                            ));
                        }
                    }
                    let listed = sample_to_api(sample, &p.project_id, base_url).source;
                    let checked = check_item(
                        item,
                        sample,
                        dataset.dataset_type,
                        &labels,
                        size_of(Some(&sample.metadata)),
                        &listed,
                    )?;
                    let status_after = if checked.labels.is_empty() {
                        SampleStatus::UnAnnotation
                    } else {
                        SampleStatus::ManualAnnotation
                    };
                    let metadata = checked.metadata.clone().unwrap_or_else(|| sample.metadata.clone());
                    let write = SampleWrite {
                        dataset_id: dataset_id.to_string(),
                        sample_id: sample_id.to_string(),
                        expected_version: sample.version,
                        labels: checked.labels.clone(),
                        metadata: metadata.clone(),
                        sample_usage: checked.usage.clone(),
                        status: status_after,
                        update_time: now,
                    };
                    let record = HistoryRecord {
                        id: 0,
                        dataset_id: dataset_id.to_string(),
                        sample_id: sample_id.to_string(),
                        task_id: None,
                        worker_id: None,
                        actor_user_id: p.user_id.clone(),
                        actor_email: p.email.clone(),
                        change_time: now,
                        state_before: sample.status.as_str().to_string(),
                        state_after: status_after.as_str().to_string(),
                        labels_before: labels_value(&sample.labels),
                        labels_after: labels_value(&checked.labels),
                        version_after: sample.version + 1,
                    };
                    let next = SampleRecord {
                        version: sample.version + 1,
                        labels: checked.labels,
                        metadata,
                        status: status_after,
                        sample_usage: checked.usage.or(sample.sample_usage.clone()),
                        ..sample.clone()
                    };
                    current.insert(sample_id.to_string(), next);
                    Ok((write, record))
                })();
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

    /// Lists the copies of a task's samples the caller may see: a labeler their own, owners,
    /// managers and reviewers every member's.
    pub async fn list_workforce_task_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        q: &ListWorkforceTaskSamplesQuery,
        base_url: &str,
    ) -> Result<ListWorkforceTaskSamplesResponse> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        let worker = self.visible_worker(p, Op::ListWorkforceTaskSamples, &members, &task, q.worker_id.as_deref())?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let labels = self.store.list_labels(dataset_id).await?;
        let mut query = TeamSampleQuery {
            offset: page.offset,
            limit: page.limit,
            worker_id: worker,
            states: parse_team_state(q.sample_state.as_deref())?,
            ..TeamSampleQuery::default()
        };
        if let Some(group) = label_name_filter(&labels, q.label_name.as_deref(), q.label_type.as_deref())? {
            query.label_groups.push(group);
        }
        if let Some(raw) = q.search_conditions.as_deref().filter(|s| !s.is_empty()) {
            let found = parse_search_conditions(raw, &labels)?;
            if found.name.is_some() {
                return Err(Error::invalid(
                    "search_conditions: sample_name is not supported on team samples; use label_list",
                ));
            }
            query.label_groups.extend(found.label_groups);
        }
        let (count, rows) = self.store.list_team_samples(&task.id, &query).await?;
        Ok(ListWorkforceTaskSamplesResponse {
            sample_count: count,
            samples: rows
                .iter()
                .map(|r| team_sample_to_api(r, &p.project_id, base_url))
                .collect(),
        })
    }

    pub async fn get_workforce_task_sample(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        sample_id: &str,
        q: &GetWorkforceTaskSampleQuery,
        base_url: &str,
    ) -> Result<WorkforceTaskSample> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        let worker = self.visible_worker(p, Op::GetWorkforceTaskSample, &members, &task, q.worker_id.as_deref())?;
        if !is_hex32(sample_id) {
            return Err(Error::sample_not_found(sample_id));
        }
        let query = TeamSampleQuery {
            limit: 1,
            worker_id: worker,
            sample_id: Some(sample_id.to_string()),
            ..TeamSampleQuery::default()
        };
        let (_, rows) = self.store.list_team_samples(&task.id, &query).await?;
        let row = rows.first().ok_or_else(|| Error::sample_not_found(sample_id))?;
        Ok(team_sample_to_api(row, &p.project_id, base_url))
    }

    /// Which member's copies the caller may read: a labeler only their own.
    fn visible_worker(
        &self,
        p: &Principal,
        op: Op,
        members: &[WorkerRecord],
        task: &crate::store::TaskRecord,
        asked: Option<&str>,
    ) -> Result<Option<String>> {
        let role = TaskRole::of(p, members);
        policy::authorize(p, op, &Standing::task(&role))?;
        if let Some(w) = asked.filter(|w| !w.is_empty()) {
            if !is_plausible_id(w) {
                return Err(Error::invalid(format!("worker_id {w:?} is not a worker id")));
            }
        }
        let asked = asked.filter(|w| !w.is_empty()).map(str::to_string);
        if role.manages() || role.reviewer {
            if task.status == status::CREATED && !role.manages() {
                return Err(forbidden("The worker action is forbidden: the task has not started"));
            }
            return Ok(asked);
        }
        let me = role
            .labeler
            .as_ref()
            .ok_or_else(|| forbidden("The worker action is forbidden: you are not a member of this task"))?;
        if task.status == status::CREATED {
            return Err(forbidden("The worker action is forbidden: the task has not started"));
        }
        if asked.as_deref().is_some_and(|w| w != me.id) {
            return Err(forbidden(
                "The worker action is forbidden: a labeler reads only their own samples",
            ));
        }
        Ok(Some(me.id.clone()))
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
                .map(|h| HistoryEntry {
                    id: h.id,
                    change_time: h.change_time,
                    actor_email: h.actor_email,
                    actor_user_id: h.actor_user_id,
                    task_id: h.task_id,
                    worker_id: h.worker_id,
                    state_before: h.state_before,
                    state_after: h.state_after,
                    labels_before: h.labels_before,
                    labels_after: h.labels_after,
                    version: h.version_after,
                })
                .collect(),
        })
    }
}

fn team_sample_to_api(r: &TeamSampleRow, project_id: &str, base_url: &str) -> WorkforceTaskSample {
    let base = sample_to_api(&r.sample, project_id, base_url);
    let mut metadata = r.sample.metadata.clone();
    if let Some(m) = &r.copy.metadata {
        metadata = m.clone();
    }
    if !metadata.contains_key(meta::SIZE) {
        if let Some(size) = r.sample.metadata.get(meta::SIZE) {
            metadata.insert(meta::SIZE.to_string(), size.clone());
        }
    }
    WorkforceTaskSample {
        sample_id: base.sample_id,
        sample_name: base.sample_name,
        sample_type: base.sample_type,
        sample_status: r.copy.state.clone(),
        sample_time: base.sample_time,
        sample_size: base.sample_size,
        source: base.source,
        labels: r.copy.labels.iter().map(PlacedLabel::to_api).collect(),
        metadata,
        worker_id: r.copy.worker_id.clone(),
        labelers: r
            .labelers
            .iter()
            .map(|l| LabelerView {
                email: l.email.clone(),
                worker_id: l.worker_id.clone(),
                role: l.role.code(),
            })
            .collect(),
        sample_usage: r.copy.sample_usage.clone(),
        version: r.copy.version,
    }
}
