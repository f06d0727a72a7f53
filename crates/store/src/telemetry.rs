//! What the storage backends measure, recorded through the `metrics` facade (a no-op until the
//! binary installs a recorder): waits for a pooled connection, commit time, and the SQLite
//! writer's group commits and queue. Labels are bounded: the backend and the pool's name.

use std::time::{Duration, Instant};

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};

/// Time spent waiting for a pooled connection, by `backend` (`sqlite` readers, `postgres`).
pub const POOL_WAIT_SECONDS: &str = "teamlabel_db_pool_wait_seconds";
/// Pooled connections not obtained (timeout or connection error), by `backend`.
pub const POOL_ERRORS: &str = "teamlabel_db_pool_errors_total";
/// Time of one COMMIT (where the write is made durable), by `backend`: on SQLite one group
/// commit of the writer thread, on PostgreSQL one write transaction.
pub const COMMIT_SECONDS: &str = "teamlabel_db_commit_seconds";
/// Write jobs committed together by the SQLite writer in one transaction.
pub const GROUP_COMMIT_JOBS: &str = "teamlabel_sqlite_group_commit_jobs";
/// Write jobs waiting for the SQLite writer thread.
pub const WRITER_QUEUE_DEPTH: &str = "teamlabel_sqlite_writer_queue_depth";

/// Gives the store's metrics their help text (call once the recorder is installed).
pub fn describe() {
    describe_histogram!(
        POOL_WAIT_SECONDS,
        Unit::Seconds,
        "Time waiting for a pooled database connection, by backend (sqlite: read connections)"
    );
    describe_counter!(
        POOL_ERRORS,
        "Pooled database connections not obtained (timeout or connection error), by backend"
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time of one COMMIT, by backend (sqlite: one group commit with its fsync)"
    );
    describe_histogram!(
        GROUP_COMMIT_JOBS,
        Unit::Count,
        "Write jobs committed together in one SQLite transaction"
    );
    describe_gauge!(
        WRITER_QUEUE_DEPTH,
        Unit::Count,
        "Write jobs waiting for the SQLite writer thread"
    );
}

pub(crate) fn pool_wait(backend: &'static str, started: Instant, ok: bool) {
    histogram!(POOL_WAIT_SECONDS, "backend" => backend).record(started.elapsed().as_secs_f64());
    if !ok {
        counter!(POOL_ERRORS, "backend" => backend).increment(1);
    }
}

pub(crate) fn commit(backend: &'static str, took: Duration) {
    histogram!(COMMIT_SECONDS, "backend" => backend).record(took.as_secs_f64());
}

pub(crate) fn group_commit(jobs: usize) {
    histogram!(GROUP_COMMIT_JOBS).record(jobs as f64);
}

/// `delta` jobs joined (positive) or left (negative) the writer's queue.
pub(crate) fn writer_queue(delta: f64) {
    gauge!(WRITER_QUEUE_DEPTH).increment(delta);
}
