//! Review and acceptance, written once for both dialects: copy states for drawing and counting,
//! verdicts, acceptance rounds, and the closing write (copies, dataset labels, history and the
//! task status in one transaction, each guarded by the version or state it expects). Must not
//! decide states, draws or merges.

use serde_json::{json, Value};

use teamlabel_core::error::Result;
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    round_status, Constraint, CopyMove, CopyState, CopyVerdict, HistoryRecord, Judge, OutboxEvent, RoundClose,
    RoundRecord, SampleWrite,
};

use super::args;
use super::samples::PLACED_LABEL_FIELDS;
use super::webhooks::outbox;
use super::{decode, Db, Guarded, Stmt};

const ROUND_COLUMNS: &str = "id, task_id, seed, sampling_rate, sampling_num, total_count, sampled_count, status, \
     action, overwrite, checked_count, accepted_count, rejected_count, total_score, created_by, closed_by, \
     create_time, close_time";

/// Every history column, as the review and acceptance writes fill them.
pub(crate) const HISTORY_ALL_FIELDS: &str = "dataset_id, sample_id, task_id, worker_id, actor_user_id, actor_email, \
     change_time, state_before, state_after, labels_before, labels_after, version_after, event, comment, from_workers";

fn round(r: &dyn decode::Cells) -> std::result::Result<RoundRecord, teamlabel_core::store::StoreError> {
    Ok(RoundRecord {
        id: r.text(0)?,
        task_id: r.text(1)?,
        seed: r.int(2)?,
        sampling_rate: r.opt_float(3)?,
        sampling_num: r.opt_int(4)?,
        total_count: r.int(5)?,
        sampled_count: r.int(6)?,
        status: r.int(7)? as i32,
        action: r.opt_int(8)?.map(|a| a as i32),
        overwrite: r.opt_flag(9)?,
        checked_count: r.int(10)?,
        accepted_count: r.int(11)?,
        rejected_count: r.int(12)?,
        total_score: r.int(13)?,
        created_by: r.text(14)?,
        closed_by: r.opt_text(15)?,
        create_time: r.int(16)?,
        close_time: r.opt_int(17)?,
    })
}

pub async fn task_copy_states<D: Db + ?Sized>(db: &D, task_id: &str) -> Result<Vec<CopyState>> {
    let stmt = Stmt::new(
        "SELECT c.id, s.id, c.worker_id, c.state, c.version, c.round_id, c.review_accept, c.review_comment,
                c.review_score, c.check_accept, c.check_comment, c.check_score
         FROM task_copies c JOIN samples s ON s.seq = c.sample_seq
         WHERE c.task_id = $1 ORDER BY c.sample_seq, c.worker_id COLLATE \"C\"",
        args![task_id],
    );
    db.fetch_all(stmt, |r| {
        Ok(CopyState {
            id: r.int(0)?,
            sample_id: r.text(1)?,
            worker_id: r.text(2)?,
            state: r.text(3)?,
            version: r.int(4)?,
            round_id: r.opt_text(5)?,
            verdicts: decode::verdicts(r, 6)?,
        })
    })
    .await
}

pub async fn open_round_of<D: Db + ?Sized>(db: &D, task_id: &str) -> Result<Option<RoundRecord>> {
    let stmt = Stmt::new(
        format!("SELECT {ROUND_COLUMNS} FROM acceptance_rounds WHERE task_id = $1 AND status = $2"),
        args![task_id, round_status::OPEN],
    );
    db.fetch_one(stmt, round).await
}

pub async fn list_rounds<D: Db + ?Sized>(db: &D, task_id: &str) -> Result<Vec<RoundRecord>> {
    let stmt = Stmt::new(
        format!(
            "SELECT {ROUND_COLUMNS} FROM acceptance_rounds WHERE task_id = $1 ORDER BY create_time, id COLLATE \"C\""
        ),
        args![task_id],
    );
    db.fetch_all(stmt, round).await
}

fn verdict(v: &CopyVerdict) -> Guarded {
    let columns = match v.judge {
        Judge::Review => "review_accept = $2, review_comment = $3, review_score = $4",
        Judge::Check => "check_accept = $2, check_comment = $3, check_score = $4",
    };
    let stmt = Stmt::new(
        format!(
            "UPDATE task_copies SET state = $1, {columns}, version = version + 1, update_time = $5
             WHERE id = $6 AND version = $7"
        ),
        args![
            &v.state,
            Some(v.accept),
            &v.comment,
            &v.score,
            v.update_time,
            v.copy_id,
            v.expected_version
        ],
    );
    Guarded::must(stmt, Constraint::Version)
}

fn copy_move(m: &CopyMove) -> Guarded {
    let stmt = Stmt::new(
        "UPDATE task_copies SET state = $1, round_id = $2, version = version + 1, update_time = $3
         WHERE id = $4 AND version = $5",
        args![&m.state, &m.round_id, m.update_time, m.copy_id, m.expected_version],
    );
    Guarded::must(stmt, Constraint::Version)
}

fn history(h: &HistoryRecord) -> Guarded {
    Guarded::any(Stmt::new(
        format!(
            "INSERT INTO annotation_history ({HISTORY_ALL_FIELDS}, copy_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, {})",
            super::team_samples::copy_of(["$1", "$2", "$3", "$4"])
        ),
        history_args(h),
    ))
}

/// JSON text as a JSON value to bind (a JSONB column in PostgreSQL); text that is not JSON is
/// bound as a JSON string rather than lost.
fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// The values of `HISTORY_ALL_FIELDS` for a history row, in order (`$1` the dataset, `$2` the
/// sample).
pub(crate) fn history_args(h: &HistoryRecord) -> Vec<super::Arg> {
    let from_workers = (!h.step.from_workers.is_empty()).then(|| json!(h.step.from_workers));
    args![
        &h.dataset_id,
        &h.sample_id,
        &h.task_id,
        &h.worker_id,
        &h.actor_user_id,
        &h.actor_email,
        h.change_time,
        &h.state_before,
        &h.state_after,
        json_text(&h.labels_before),
        json_text(&h.labels_after),
        h.version_after,
        &h.step.event,
        &h.step.comment,
        from_workers
    ]
}

/// The dataset-level labels of one sample replaced, guarded by its version.
fn sample_write(w: &SampleWrite) -> Vec<Guarded> {
    let mut out = vec![Guarded::must(
        Stmt::new(
            "UPDATE samples SET status = $1, version = version + 1, metadata = $2,
                 sample_usage = COALESCE($3, sample_usage), update_time = $4
             WHERE dataset_id = $5 AND id = $6 AND version = $7",
            args![
                w.status.as_str(),
                Value::Object(w.metadata.clone()),
                &w.sample_usage,
                w.update_time,
                &w.dataset_id,
                &w.sample_id,
                w.expected_version
            ],
        ),
        Constraint::Version,
    )];
    out.push(Guarded::any(Stmt::new(
        "DELETE FROM sample_labels WHERE sample_seq = (SELECT seq FROM samples WHERE id = $1)",
        args![&w.sample_id],
    )));
    for (i, l) in w.labels.iter().enumerate() {
        out.push(Guarded::any(label_row(&w.sample_id, i, l)));
    }
    out
}

fn label_row(sample_id: &str, ordinal: usize, l: &PlacedLabel) -> Stmt {
    Stmt::new(
        format!(
            "INSERT INTO sample_labels (sample_seq, {PLACED_LABEL_FIELDS})
             VALUES ((SELECT seq FROM samples WHERE id = $1), $2, $3, $4, $5, $6, $7)"
        ),
        args![
            sample_id,
            ordinal as i32,
            l.label_id,
            &l.instance_id,
            Value::Object(l.property.clone()),
            l.score,
            &l.annotated_by
        ],
    )
}

pub async fn judge_copies<D: Db + ?Sized>(
    db: &D,
    verdicts: &[CopyVerdict],
    log: &[HistoryRecord],
    events: &[OutboxEvent],
) -> Result<()> {
    let mut stmts: Vec<Guarded> = verdicts.iter().map(verdict).collect();
    stmts.extend(log.iter().map(history));
    stmts.extend(events.iter().map(|e| Guarded::any(outbox(e))));
    if stmts.is_empty() {
        return Ok(());
    }
    db.execute_guarded(stmts).await
}

pub async fn open_round<D: Db + ?Sized>(
    db: &D,
    r: &RoundRecord,
    from_status: &[i32],
    moves: &[CopyMove],
    log: &[HistoryRecord],
) -> Result<()> {
    if from_status.is_empty() {
        return Err(teamlabel_core::store::StoreError::conflict(Constraint::RoundOpen).into());
    }
    // Statuses are small integers of the code's own, written into the statement.
    let from: Vec<String> = from_status.iter().map(i32::to_string).collect();
    let sql = format!(
        "UPDATE workforce_tasks SET status = $1, update_time = $2 WHERE id = $3 AND status IN ({})",
        from.join(", ")
    );
    let args = args![
        teamlabel_core::team::task_states::status::ACCEPTING,
        r.create_time,
        &r.task_id
    ];
    let mut stmts = vec![Guarded::must(Stmt::new(sql, args), Constraint::RoundOpen)];
    stmts.push(Guarded::any(Stmt::new(
        format!(
            "INSERT INTO acceptance_rounds ({ROUND_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        ),
        args![
            &r.id,
            &r.task_id,
            r.seed,
            r.sampling_rate,
            r.sampling_num,
            r.total_count,
            r.sampled_count,
            r.status,
            r.action,
            r.overwrite,
            r.checked_count,
            r.accepted_count,
            r.rejected_count,
            r.total_score,
            &r.created_by,
            &r.closed_by,
            r.create_time,
            r.close_time
        ],
    )));
    stmts.extend(moves.iter().map(copy_move));
    stmts.extend(log.iter().map(history));
    db.execute_guarded(stmts).await
}

pub async fn close_round<D: Db + ?Sized>(
    db: &D,
    c: &RoundClose,
    moves: &[CopyMove],
    samples: &[SampleWrite],
    log: &[HistoryRecord],
) -> Result<()> {
    let mut stmts = vec![Guarded::must(
        Stmt::new(
            "UPDATE acceptance_rounds SET status = $1, action = $2, overwrite = $3, checked_count = $4,
                 accepted_count = $5, rejected_count = $6, total_score = $7, closed_by = $8, close_time = $9
             WHERE id = $10 AND task_id = $11 AND status = $12",
            args![
                c.round.status,
                c.round.action,
                c.round.overwrite,
                c.round.checked_count,
                c.round.accepted_count,
                c.round.rejected_count,
                c.round.total_score,
                &c.round.closed_by,
                c.round.close_time,
                &c.round.id,
                &c.round.task_id,
                round_status::OPEN
            ],
        ),
        Constraint::RoundOpen,
    )];
    stmts.push(Guarded::must(
        Stmt::new(
            "UPDATE workforce_tasks SET status = $1, update_time = $2 WHERE id = $3 AND status = $4",
            args![
                c.task_status,
                c.round.close_time,
                &c.round.task_id,
                teamlabel_core::team::task_states::status::ACCEPTING
            ],
        ),
        Constraint::RoundOpen,
    ));
    stmts.extend(moves.iter().map(copy_move));
    for w in samples {
        stmts.extend(sample_write(w));
    }
    stmts.extend(log.iter().map(history));
    stmts.extend(c.event.iter().map(|e| Guarded::any(outbox(e))));
    db.execute_guarded(stmts).await
}

/// Implements `AcceptanceStore` for a backend, entirely with this module's statements.
#[macro_export]
macro_rules! acceptance_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::AcceptanceStore for $store {
            async fn task_copy_states(&self, task_id: &str) -> Result<Vec<teamlabel_core::store::CopyState>> {
                $crate::sql::acceptance::task_copy_states(self, task_id).await
            }
            async fn judge_copies(
                &self,
                verdicts: &[teamlabel_core::store::CopyVerdict],
                history: &[HistoryRecord],
                events: &[teamlabel_core::store::OutboxEvent],
            ) -> Result<()> {
                $crate::sql::acceptance::judge_copies(self, verdicts, history, events).await
            }
            async fn open_round(
                &self,
                round: &teamlabel_core::store::RoundRecord,
                from_status: &[i32],
                moves: &[teamlabel_core::store::CopyMove],
                history: &[HistoryRecord],
            ) -> Result<()> {
                $crate::sql::acceptance::open_round(self, round, from_status, moves, history).await
            }
            async fn close_round(
                &self,
                close: &teamlabel_core::store::RoundClose,
                moves: &[teamlabel_core::store::CopyMove],
                samples: &[SampleWrite],
                history: &[HistoryRecord],
            ) -> Result<()> {
                $crate::sql::acceptance::close_round(self, close, moves, samples, history).await
            }
            async fn open_round_of(&self, task_id: &str) -> Result<Option<teamlabel_core::store::RoundRecord>> {
                $crate::sql::acceptance::open_round_of(self, task_id).await
            }
            async fn list_rounds(&self, task_id: &str) -> Result<Vec<teamlabel_core::store::RoundRecord>> {
                $crate::sql::acceptance::list_rounds(self, task_id).await
            }
        }
    };
}
pub(crate) use acceptance_store;
