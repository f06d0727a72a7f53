//! What the use cases measure, recorded through the `metrics` facade: the metric names, their
//! help text, and the few helpers that record them. The facade is only an interface: with no
//! recorder installed (unit tests, `teamlabel init`) every record is a no-op; the binary
//! installs the Prometheus recorder when `/metrics` is on. Must not name an exporter, HTTP or a
//! route; labels are bounded sets (scopes, error codes, operations), never ids.

use std::time::Instant;

use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};
use teamlabel_api::batch::ItemResult;

use crate::blobs::BlobStore;
use crate::error::Result;

/// Items of batch label updates written, by `scope` (`dataset` or `task`).
pub const BATCH_ITEMS_APPLIED: &str = "teamlabel_batch_items_applied_total";
/// Items of batch label updates answered with a failure, by `scope` and error `code`.
pub const BATCH_ITEMS_FAILED: &str = "teamlabel_batch_items_failed_total";
/// Time of one blob store operation, by `op` (`put`, `get`, `remove`) and `outcome`.
pub const BLOB_SECONDS: &str = "teamlabel_blob_operation_seconds";
/// Password sign-ins, by `result` (`ok`, `wrong`, `locked`).
pub const SIGN_INS: &str = "teamlabel_sign_ins_total";
/// Users locked out by wrong passwords in a row (each lock counted once, when it starts).
pub const LOCKOUTS: &str = "teamlabel_sign_in_lockouts_total";

/// Webhook delivery attempts, by `outcome` (`delivered`, `retry`, `failed`).
pub const WEBHOOK_ATTEMPTS: &str = "teamlabel_webhook_attempts_total";
/// Time of one webhook delivery attempt, answered or not.
pub const WEBHOOK_SECONDS: &str = "teamlabel_webhook_attempt_seconds";

/// Gives the core's metrics their help text (call once the recorder is installed).
pub fn describe() {
    describe_counter!(
        BATCH_ITEMS_APPLIED,
        "Items of batch label updates written, by scope (dataset or task)"
    );
    describe_counter!(
        BATCH_ITEMS_FAILED,
        "Items of batch label updates that failed, by scope and ModelArts error code"
    );
    describe_histogram!(
        BLOB_SECONDS,
        Unit::Seconds,
        "Time of one blob store operation, by op (put, get, remove) and outcome"
    );
    describe_counter!(SIGN_INS, "Password sign-ins, by result (ok, wrong, locked)");
    describe_counter!(
        LOCKOUTS,
        "Users locked out after too many wrong passwords in a row (once per lock)"
    );
    describe_counter!(
        WEBHOOK_ATTEMPTS,
        "Webhook delivery attempts, by outcome (delivered, retry, failed)"
    );
    describe_histogram!(
        WEBHOOK_SECONDS,
        Unit::Seconds,
        "Time of one webhook delivery attempt, answered or not"
    );
}

/// One delivery attempt and how it ended.
pub(crate) fn webhook_attempt(outcome: &'static str, seconds: f64) {
    counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).increment(1);
    histogram!(WEBHOOK_SECONDS).record(seconds);
}

/// Counts the items of one answered batch: those applied, and those failed by error code.
pub fn batch_items(scope: &'static str, results: &[ItemResult]) {
    let applied = results.iter().filter(|r| r.success).count();
    if applied > 0 {
        counter!(BATCH_ITEMS_APPLIED, "scope" => scope).increment(applied as u64);
    }
    for r in results.iter().filter(|r| !r.success) {
        let code = r.error_code.clone().unwrap_or_else(|| "unknown".into());
        counter!(BATCH_ITEMS_FAILED, "scope" => scope, "code" => code).increment(1);
    }
}

/// The outcome of one password check, as the sign-in counters see it.
pub(crate) fn sign_in(result: &'static str) {
    counter!(SIGN_INS, "result" => result).increment(1);
}

pub(crate) fn lockout() {
    counter!(LOCKOUTS).increment(1);
}

/// A blob store that times every operation of the store it wraps; `App::new` puts it around
/// whatever store it is given, so every implementation is measured the same way.
pub(crate) struct TimedBlobs(pub(crate) std::sync::Arc<dyn BlobStore>);

async fn timed<T>(op: &'static str, f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let start = Instant::now();
    let out = f.await;
    let outcome = if out.is_ok() { "ok" } else { "error" };
    histogram!(BLOB_SECONDS, "op" => op, "outcome" => outcome).record(start.elapsed().as_secs_f64());
    out
}

#[async_trait::async_trait]
impl BlobStore for TimedBlobs {
    async fn put(&self, bytes: &[u8]) -> Result<String> {
        timed("put", self.0.put(bytes)).await
    }

    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        timed("get", self.0.get(sha256)).await
    }

    async fn remove(&self, sha256: &str) -> Result<()> {
        timed("remove", self.0.remove(sha256)).await
    }
}
