//! The SQLite writes the label-write jobs share: label rows and history rows serialized off
//! the writer thread, history appended a row at a time, the idempotency record (the shared
//! statement of `crate::sql::team_samples`). Must not decide versions or states.

use super::*;
use crate::sql::team_samples::HISTORY_FIELDS;

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
            labels_before: h.labels_before.to_string(),
            labels_after: h.labels_after.to_string(),
            record: h.clone(),
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
        .prepare_cached(
            &format!("INSERT INTO annotation_history ({HISTORY_FIELDS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        )
        .map_err(db_err)?;
    for row in history {
        let h = &row.record;
        stmt.execute(params![
            h.dataset_id,
            h.sample_id,
            h.task_id,
            h.worker_id,
            h.actor_user_id,
            h.actor_email,
            h.change_time,
            h.state_before,
            h.state_after,
            row.labels_before,
            row.labels_after,
            h.version_after
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
