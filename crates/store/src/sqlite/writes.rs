//! The SQLite writes the label-write jobs share: label rows and history rows serialized off
//! the writer thread, history appended a row at a time, the idempotency record (the shared
//! statement of `crate::sql::team_samples`). Must not decide versions or states.

use super::*;
use crate::sql::team_samples::{copy_of, labels_before, HISTORY_FIELDS};
use crate::sql::{render, Dialect};

/// A history row with its JSON already serialized, so the writer thread only writes.
pub(super) struct HistoryRow {
    pub(super) record: HistoryRecord,
    pub(super) labels_before: String,
    pub(super) labels_after: String,
}

pub(super) fn history_rows(history: &[HistoryRecord]) -> Vec<HistoryRow> {
    history
        .iter()
        .map(|h| HistoryRow {
            labels_before: h.labels_before.clone(),
            labels_after: h.labels_after.clone(),
            // The labels go as text; the record keeps the rest without copying them.
            record: HistoryRecord {
                id: h.id,
                dataset_id: h.dataset_id.clone(),
                sample_id: h.sample_id.clone(),
                task_id: h.task_id.clone(),
                worker_id: h.worker_id.clone(),
                actor_user_id: h.actor_user_id.clone(),
                actor_email: h.actor_email.clone(),
                change_time: h.change_time,
                state_before: h.state_before.clone(),
                state_after: h.state_after.clone(),
                labels_before: String::new(),
                labels_after: String::new(),
                version_after: h.version_after,
                step: h.step.clone(),
                copy_id: h.copy_id,
            },
        })
        .collect()
}

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

pub(super) fn insert_history(tx: &Connection, history: &[HistoryRow]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(&render(
            &format!(
                "INSERT INTO annotation_history ({HISTORY_FIELDS}, copy_id)
                 SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, {}, $11, $12, k.copy_id
                 FROM (SELECT COALESCE($13, {}) AS copy_id) k",
                labels_before("$1", "k.copy_id", ["$2", "$3", "$4", "$5"]),
                copy_of(["$2", "$3", "$4", "$5"])
            ),
            Dialect::Sqlite,
        ))
        .map_err(db_err)?;
    for row in history {
        let h = &row.record;
        stmt.execute(params![
            row.labels_before,
            h.dataset_id,
            h.sample_id,
            h.task_id,
            h.worker_id,
            h.actor_user_id,
            h.actor_email,
            h.change_time,
            h.state_before,
            h.state_after,
            row.labels_after,
            h.version_after,
            h.copy_id
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
