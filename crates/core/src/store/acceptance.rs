//! Review and acceptance in the store: verdicts on copies, acceptance rounds, and the closing of
//! a round, which moves every copy of its scope and writes accepted labels to the dataset in one
//! transaction. Owns the records and the port; it must not decide states, draws or merges (that
//! is `team::review` and `team::acceptance`) and knows no SQL.

use async_trait::async_trait;

use crate::error::Result;
use crate::store::{HistoryRecord, OutboxEvent, SampleWrite};

/// Round status: open, closed by an action, cancelled.
pub mod round_status {
    pub const OPEN: i32 = 0;
    pub const CLOSED: i32 = 1;
    pub const CANCELLED: i32 = 2;
}

/// One acceptance round of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundRecord {
    pub id: String,
    pub task_id: String,
    /// The seed of the draw: the same seed over the same scope draws the same copies.
    pub seed: i64,
    pub sampling_rate: Option<f64>,
    pub sampling_num: Option<i64>,
    /// Copies in the round's scope.
    pub total_count: i64,
    /// Copies drawn.
    pub sampled_count: i64,
    pub status: i32,
    pub action: Option<i32>,
    pub overwrite: Option<bool>,
    /// Set when the round closes: drawn copies the owner judged, passed, rejected, and the sum
    /// of their scores.
    pub checked_count: i64,
    pub accepted_count: i64,
    pub rejected_count: i64,
    pub total_score: i64,
    pub created_by: String,
    pub closed_by: Option<String>,
    pub create_time: i64,
    pub close_time: Option<i64>,
}

/// A copy's place in the workflow, without its labels: what review, drawing and statistics read.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyState {
    pub id: i64,
    pub sample_id: String,
    pub worker_id: String,
    pub state: String,
    pub version: i64,
    pub round_id: Option<String>,
    pub verdicts: Verdicts,
}

/// The latest reviewer verdict and the latest owner verdict on a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdicts {
    pub review_accept: Option<bool>,
    pub review_comment: Option<String>,
    pub review_score: Option<String>,
    pub check_accept: Option<bool>,
    pub check_comment: Option<String>,
    pub check_score: Option<String>,
}

/// Who judges: a reviewer (`review_*`) or the owner in a round (`check_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judge {
    Review,
    Check,
}

/// A verdict on a copy, applied only if the copy is still at `expected_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyVerdict {
    pub copy_id: i64,
    pub expected_version: i64,
    pub judge: Judge,
    pub state: String,
    pub accept: bool,
    pub comment: Option<String>,
    pub score: Option<String>,
    pub update_time: i64,
}

/// A copy moved to a new state (and in or out of a round's scope), applied only at
/// `expected_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyMove {
    pub copy_id: i64,
    pub expected_version: i64,
    pub state: String,
    pub round_id: Option<String>,
    pub update_time: i64,
}

/// How a round ends: the round with its closing fields set (status, action, overwrite, counts,
/// `closed_by`, `close_time`), and the task's status afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundClose {
    pub round: RoundRecord,
    pub task_status: i32,
    /// Handed to the outbox in the closing's transaction.
    pub event: Option<OutboxEvent>,
}

#[async_trait]
pub trait AcceptanceStore: Send + Sync {
    /// Every copy of a task with its state and verdicts, ordered by sample then worker.
    async fn task_copy_states(&self, task_id: &str) -> Result<Vec<CopyState>>;
    /// Applies verdicts, appends history and hands `events` to the outbox in one transaction; a
    /// copy past its expected version fails the whole write with 409 `ModelArts.4690`.
    async fn judge_copies(
        &self,
        verdicts: &[CopyVerdict],
        history: &[HistoryRecord],
        events: &[OutboxEvent],
    ) -> Result<()>;
    /// Opens a round: inserts it, moves the task from one of `from_status` to 2 (accepting),
    /// moves the copies (drawn ones to their sampled state, the rest of the scope tagged with the
    /// round) and appends history, in one transaction. Another open round of the task fails it
    /// with `ModelArts.4623`; a task no longer in `from_status` likewise; a moved copy with 4690.
    async fn open_round(
        &self,
        round: &RoundRecord,
        from_status: &[i32],
        moves: &[CopyMove],
        history: &[HistoryRecord],
    ) -> Result<()>;
    /// Ends the open round: records how, sets the task status, moves the copies, writes the
    /// accepted labels to the dataset, appends history and hands the closing's event to the
    /// outbox, in one transaction. A round already
    /// ended fails it with `ModelArts.4623`; a moved copy or sample with 4690.
    async fn close_round(
        &self,
        close: &RoundClose,
        moves: &[CopyMove],
        samples: &[SampleWrite],
        history: &[HistoryRecord],
    ) -> Result<()>;
    /// The task's open round, if any.
    async fn open_round_of(&self, task_id: &str) -> Result<Option<RoundRecord>>;
    /// Every round of a task, oldest first.
    async fn list_rounds(&self, task_id: &str) -> Result<Vec<RoundRecord>>;
}
