//! The batch label update's common ground, for the dataset update (`samples::update`) and the
//! team task update (`team::task_labels`): the outcome of a batch, idempotency keys,
//! atomic batches, and writing a planned batch with its retry on a concurrent write. What each
//! item plans is `samples::plan`; this module must not decide an item.

use serde_json::Value;
use teamlabel_api::batch::{BatchResponse, ItemResult};
use teamlabel_api::samples::{SampleLabels, UpdateSamplesRequest};

use crate::app::App;
use crate::batch;
use crate::clock::now_ms;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::rules::values::PlacedLabel;
use crate::samples::plan::Planned;
use crate::store::{HistoryRecord, HistoryStep, IdempotencyRecord};
use crate::telemetry;

/// The answer of a batch update and whether it is a failed atomic batch (HTTP 400).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    pub response: BatchResponse,
    pub rejected: bool,
}

/// An `X-Idempotency-Key` and what the request it came with asked for.
pub(crate) struct Once {
    project_id: String,
    user_id: String,
    key: String,
    hash: String,
}

impl Once {
    pub(crate) fn new(
        p: &Principal,
        key: &str,
        path: &[&str],
        atomic: bool,
        req: &UpdateSamplesRequest,
    ) -> Result<Self> {
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
pub(crate) struct Plan<W> {
    /// `dataset` or `task`: the label of the batch counters.
    scope: &'static str,
    results: Vec<ItemResult>,
    writes: Vec<W>,
    history: Vec<HistoryRecord>,
}

impl<W> Plan<W> {
    pub(crate) fn new(scope: &'static str, items: usize) -> Self {
        Plan {
            scope,
            results: Vec::with_capacity(items),
            writes: Vec::new(),
            history: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, i: usize, sample_id: Option<&str>, outcome: Result<(W, HistoryRecord)>) {
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
pub(crate) const WRITE_ATTEMPTS: usize = 4;

/// The history entry of one planned item: who changed which sample (and, in a team task, whose
/// copy, given as task, member and copy id), the state and labels before and after, and the
/// version it leaves.
pub(crate) fn history_of<K>(
    planned: &Planned<K>,
    dataset_id: &str,
    copy: Option<(&str, &str, i64)>,
    actor: &Principal,
    now: i64,
) -> HistoryRecord {
    HistoryRecord {
        id: 0,
        dataset_id: dataset_id.to_string(),
        sample_id: planned.sample_id.clone(),
        task_id: copy.map(|(task, _, _)| task.to_string()),
        worker_id: copy.map(|(_, worker, _)| worker.to_string()),
        actor_user_id: actor.user_id.clone(),
        actor_email: actor.email.clone(),
        change_time: now,
        state_before: planned.before.state.clone(),
        state_after: planned.state_after.clone(),
        labels_before: labels_json(&planned.before.labels),
        labels_after: labels_json(&planned.labels),
        version_after: planned.before.version + 1,
        step: HistoryStep::default(),
        copy_id: copy.map(|(_, _, id)| id),
    }
}

/// The JSON text of labels in their API form (`SampleLabel`), written straight from the placed
/// labels: the same text as serializing `to_api()` through a `Value` (keys in code-point order),
/// without building either.
pub(crate) fn labels_json(labels: &[PlacedLabel]) -> String {
    use serde::Serialize;
    // Fields in the order a `Value` map sorts them; absent ones skipped as `SampleLabel` does.
    #[derive(Serialize)]
    struct Api<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        annotated_by: &'a Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: &'a Option<String>,
        name: &'a str,
        property: &'a serde_json::Map<String, Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        score: Option<f64>,
        #[serde(rename = "type")]
        label_type: i64,
    }
    let api: Vec<Api<'_>> = labels
        .iter()
        .map(|l| Api {
            annotated_by: &l.annotated_by,
            id: &l.instance_id,
            name: &l.name,
            property: &l.property,
            score: l.score,
            label_type: l.label_type.code() as i64,
        })
        .collect();
    serde_json::to_string(&api).expect("labels serialize")
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
        ..batch::failed(e)
    }
}

/// Finishes a planned batch: on an atomic batch with failures, every item fails and nothing
/// is written.
fn finish(results: Vec<ItemResult>, atomic: bool) -> (BatchOutcome, bool) {
    if atomic && results.iter().any(|r| !r.success) {
        return (
            BatchOutcome {
                response: batch::none_applied(results),
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

pub(crate) fn check_batch_size(items: &[SampleLabels], max: usize) -> Result<()> {
    if items.len() > max {
        return Err(Error::invalid(format!(
            "samples: at most {max} samples per request, got {}",
            items.len()
        )));
    }
    Ok(())
}

/// The answer to a batch with no items.
pub(crate) fn empty_outcome() -> BatchOutcome {
    BatchOutcome {
        response: BatchResponse::from_results(vec![]),
        rejected: false,
    }
}

impl App {
    /// Writes a planned batch (nothing of it when an atomic batch failed) with its idempotency
    /// record. Answers the outcome, or `None` when a concurrent writer moved a copy and the
    /// batch must be planned again (unless this was the `last` attempt). An answered batch is
    /// counted item by item (`telemetry::batch_items`); a replayed answer is not.
    pub(crate) async fn commit<W, F, Fut>(
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
            scope,
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
            telemetry::batch_items(scope, &outcome.response.results);
            return Ok(Some(outcome));
        }
        match write(writes, history, record).await {
            Ok(()) => {
                telemetry::batch_items(scope, &outcome.response.results);
                Ok(Some(outcome))
            }
            Err(e) if e.code == codes::VERSION_CONFLICT && !last => Ok(None),
            Err(e) if e.code == codes::IDEMPOTENCY_TAKEN => self.replay(once).await?.ok_or(e).map(Some),
            Err(e) => Err(e),
        }
    }

    /// The first answer to an earlier request with the same idempotency key, if any; the same
    /// key with another request is 409 `ModelArts.4691`.
    pub(crate) async fn replay(&self, once: Option<&Once>) -> Result<Option<BatchOutcome>> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use teamlabel_api::enums::LabelType;

    fn placed(
        name: &str,
        instance_id: Option<&str>,
        property: Value,
        score: Option<f64>,
        by: Option<&str>,
    ) -> PlacedLabel {
        PlacedLabel {
            label_id: 1,
            name: name.into(),
            label_type: LabelType::ObjectDetection,
            instance_id: instance_id.map(str::to_string),
            property: property.as_object().cloned().unwrap_or_default(),
            score,
            annotated_by: by.map(str::to_string),
        }
    }

    #[test]
    fn labels_json_is_the_text_of_the_api_form_through_a_value() {
        let labels = vec![
            placed("cat", None, json!({}), None, None),
            placed(
                "car",
                Some("E1"),
                json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2.5], [3, 4]], "z": null}),
                Some(0.25),
                Some("human"),
            ),
            placed(
                "\"quoted\" ünïcode",
                None,
                json!({"a": {"b": [true, "x"]}}),
                Some(1.0),
                None,
            ),
        ];
        let through_value = Value::Array(
            labels
                .iter()
                .map(|l| serde_json::to_value(l.to_api()).unwrap())
                .collect(),
        );
        assert_eq!(labels_json(&labels), through_value.to_string());
        assert_eq!(labels_json(&[]), "[]");
    }
}
