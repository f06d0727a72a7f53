//! Webhooks: the owner's endpoints (`endpoints.rs`), the events the use cases hand to the
//! outbox in the transaction of the change they tell of (`event`, below), the rules of where a
//! delivery may go (`guard.rs`), and the dispatcher that claims due deliveries, signs and sends
//! them and retries with a capped exponential backoff (`dispatch.rs`). Delivery is at least
//! once: an event is in the database as soon as its change is, and a delivery is marked done
//! only after its endpoint answered 2xx, so a receiver de-duplicates by the delivery id.

pub mod dispatch;
pub mod endpoints;
pub mod guard;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::ids::new_hex32;
use crate::store::{CopyVerdict, DataTaskRecord, DataTaskUpdate, HistoryRecord, OutboxEvent, RoundRecord, TaskKind};
use guard::AddressPolicy;

/// How deliveries are made; `teamlabel serve` fills it from its config (`[webhooks]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Addresses deliveries may reach although they are not public.
    pub policy: AddressPolicy,
    /// Attempts before a delivery is marked `FAILED`.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; each further failure doubles it, up to `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Time for one attempt, redirects included.
    pub timeout: Duration,
    /// How often the outbox is read when nothing woke the dispatcher (events written by another
    /// server on the same PostgreSQL, retries coming due).
    pub poll: Duration,
    /// Delivered and failed deliveries are kept this long in the log.
    pub retention: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            policy: AddressPolicy::default(),
            max_attempts: 16,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 86_400),
        }
    }
}

/// The settings and the dispatcher's doorbell, shared by every clone of the `App`.
#[derive(Debug, Default)]
pub struct Webhooks {
    pub settings: WebhookSettings,
    wake: Notify,
}

impl Webhooks {
    pub fn new(settings: WebhookSettings) -> Self {
        Self {
            settings,
            wake: Notify::new(),
        }
    }

    /// Tells the dispatcher that new deliveries may be due (after a write that handed events to
    /// the outbox commits).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await
    }
}

/// An event of a dataset with its body: `event_id`, `event`, `create_time` (milliseconds since
/// the epoch), `dataset_id`, and what happened in `data`.
pub(crate) fn event(dataset_id: &str, name: &str, data: Value, now: i64) -> OutboxEvent {
    let id = new_hex32();
    let body = json!({
        "event_id": id,
        "event": name,
        "create_time": now,
        "dataset_id": dataset_id,
        "data": data,
    });
    OutboxEvent {
        id,
        dataset_id: dataset_id.to_string(),
        event: name.to_string(),
        payload: body.to_string(),
        create_time: now,
    }
}

/// `copy.labeled`: copies of a task written by one batch update, each with its new state and
/// version.
pub(crate) fn copies_labeled(dataset_id: &str, task_id: &str, actor: &str, history: &[HistoryRecord]) -> OutboxEvent {
    let now = history.first().map_or_else(crate::clock::now_ms, |h| h.change_time);
    let copies: Vec<Value> = history
        .iter()
        .map(|h| {
            json!({
                "sample_id": h.sample_id,
                "worker_id": h.worker_id,
                "state": h.state_after,
                "version": h.version_after,
            })
        })
        .collect();
    let data = json!({"task_id": task_id, "actor": actor, "copies": copies});
    event(dataset_id, "copy.labeled", data, now)
}

/// `copy.reviewed`: verdicts on copies (`by` is `reviewer`, or `owner` in an acceptance round).
pub(crate) fn copies_reviewed(
    dataset_id: &str,
    task_id: &str,
    by: &str,
    verdicts: &[CopyVerdict],
    history: &[HistoryRecord],
) -> OutboxEvent {
    let now = history.first().map_or_else(crate::clock::now_ms, |h| h.change_time);
    let copies: Vec<Value> = verdicts
        .iter()
        .zip(history)
        .map(|(v, h)| {
            json!({
                "sample_id": h.sample_id,
                "worker_id": h.worker_id,
                "accept": v.accept,
                "score": v.score,
                "comment": v.comment,
                "state": v.state,
            })
        })
        .collect();
    let data = json!({"task_id": task_id, "by": by, "actor": history.first().map(|h| h.actor_email.as_str()), "copies": copies});
    event(dataset_id, "copy.reviewed", data, now)
}

/// `acceptance.closed`: how a round ended and what it counted.
pub(crate) fn round_closed(
    dataset_id: &str,
    round: &RoundRecord,
    task_status: i32,
    synced: Option<u64>,
) -> OutboxEvent {
    let now = round.close_time.unwrap_or_else(crate::clock::now_ms);
    let data = json!({
        "task_id": round.task_id,
        "round_id": round.id,
        "action": round.action,
        "round_status": round.status,
        "task_status": task_status,
        "sampled_count": round.sampled_count,
        "checked_count": round.checked_count,
        "accepted_count": round.accepted_count,
        "rejected_count": round.rejected_count,
        "synced_sample_count": synced,
    });
    event(dataset_id, "acceptance.closed", data, now)
}

/// `import.finished`, `export.finished` or `sync.finished`: the task's end, its counters (the
/// numbers of its progress) and its error, if it failed.
pub(crate) fn data_task_finished(task: &DataTaskRecord, u: &DataTaskUpdate) -> OutboxEvent {
    let name = match task.kind {
        TaskKind::Import => "import.finished",
        TaskKind::Export => "export.finished",
        TaskKind::Sync => "sync.finished",
    };
    let counters: serde_json::Map<String, Value> = u
        .progress
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.is_number())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let data = json!({
        "task_id": task.id,
        "status": u.status,
        "error_code": u.error_code,
        "error_msg": u.error_msg,
        "counts": counters,
    });
    event(&task.dataset_id, name, data, u.update_time)
}
