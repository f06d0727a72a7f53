//! The SQLite writes the label-write jobs share: dataset label rows serialized off the writer
//! thread, history appended a row at a time, the idempotency record (the shared statement of
//! `crate::sql::team_samples`). Must not decide versions or states.

use super::*;
use crate::sql::team_samples::{copy_of, previous_after, HISTORY_FIELDS};
use crate::sql::{render, Dialect};

/// A label row with its property map already serialized.
pub(super) struct LabelRow {
    pub(super) label_id: i64,
    pub(super) instance_id: Option<String>,
    pub(super) property: String,
    pub(super) score: Option<f64>,
    pub(super) annotated_by: Option<String>,
}

pub(super) fn label_rows(labels: &[PlacedLabel]) -> Vec<LabelRow> {
    labels
        .iter()
        .map(|l| LabelRow {
            label_id: l.label_id,
            instance_id: l.instance_id.clone(),
            property: map_text(&l.property),
            score: l.score,
            annotated_by: l.annotated_by.clone(),
        })
        .collect()
}

/// Appends history rows one at a time. Each row's copy (when the writer did not name it) and
/// the previous row of its chain are read first, so that the insert is a plain one (an insert
/// reading its own table would buffer through a temporary table); the labels before are left
/// NULL when they are that row's labels after (`crate::sql::team_samples::previous_after`).
pub(super) fn insert_history(tx: &Connection, history: &[HistoryRecord]) -> Result<()> {
    let key = ["$1", "$2", "$3", "$4"];
    let prepare = |sql: String| tx.prepare_cached(&render(&sql, Dialect::Sqlite)).map_err(db_err);
    let mut find_copy = prepare(format!("SELECT {}", copy_of(key)))?;
    let mut previous = prepare(format!("SELECT {}", previous_after("$5", key, None)))?;
    let mut insert = prepare(format!(
        "INSERT INTO annotation_history ({HISTORY_FIELDS}, copy_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))?;
    for h in history {
        let copy_id: Option<i64> = match h.copy_id {
            Some(id) => Some(id),
            None => find_copy
                .query_row(params![h.dataset_id, h.sample_id, h.task_id, h.worker_id], |r| r.get(0))
                .map_err(db_err)?,
        };
        let previous: Option<String> = previous
            .query_row(
                params![h.dataset_id, h.sample_id, h.task_id, h.worker_id, copy_id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        let before = (previous.as_deref() != Some(h.labels_before.as_str())).then_some(&h.labels_before);
        insert
            .execute(params![
                h.dataset_id,
                h.sample_id,
                h.task_id,
                h.worker_id,
                h.actor_user_id,
                h.actor_email,
                h.change_time,
                h.state_before,
                h.state_after,
                before,
                h.labels_after,
                h.version_after,
                copy_id
            ])
            .map_err(db_err)?;
    }
    Ok(())
}

/// Records an idempotency key, replacing an expired record of the same key; a live one fails
/// the transaction.
/// Runs the outbox statements of a write (`crate::sql::webhooks::outbox`), built off the writer.
pub(super) fn insert_outbox(tx: &Connection, outbox: &[crate::sql::Stmt]) -> Result<()> {
    for stmt in outbox {
        run(tx, &text(stmt), &stmt.args)?;
    }
    Ok(())
}

pub(super) fn insert_idempotency(tx: &Connection, r: &IdempotencyRecord) -> Result<()> {
    let stmt = crate::sql::team_samples::record_idempotency(r);
    if run(tx, &text(&stmt), &stmt.args)? == 0 {
        return Err(StoreError::conflict(Constraint::IdempotencyKey).into());
    }
    Ok(())
}
