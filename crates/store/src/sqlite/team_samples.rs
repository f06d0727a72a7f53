//! Label writes on SQLite: copy and sample writes with their history and idempotency record,
//! each one job of the group-committing writer (a row at a time, in the order given); the reads
//! are shared (`crate::sql::team_samples`). Must not apply review rules.

use super::*;
use crate::sql::compact;
use crate::sql::samples::PLACED_LABEL_FIELDS;

/// A copy write with its values serialized for the writer: metadata, the labels' compact value,
/// and the distinct labels for `task_copy_label_ids` (their ids also as a JSON array).
struct CopyRow {
    write: CopyWrite,
    metadata: Option<String>,
    labels: String,
    distinct: Vec<(i64, i64)>,
    label_ids: String,
}

impl CopyRow {
    fn of(w: &CopyWrite) -> Self {
        let distinct = compact::distinct(&w.labels);
        let ids: Vec<i64> = distinct.iter().map(|(id, _)| *id).collect();
        CopyRow {
            metadata: w.metadata.as_ref().map(map_text),
            labels: compact::encode(&w.labels),
            label_ids: serde_json::to_string(&ids).expect("ids serialize"),
            distinct,
            write: CopyWrite {
                labels: Vec::new(),
                metadata: None,
                ..w.clone()
            },
        }
    }
}
use crate::sql::team_samples::{BUMP_COPY, BUMP_SAMPLE, PUT_COPY_LABEL_ID};
use crate::sql::{render, Dialect};

crate::sql::team_samples::team_sample_store!(SqliteStore {
    async fn write_copies_with(
        &self,
        writes: &[CopyWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
        events: &[OutboxEvent],
    ) -> Result<()> {
        // Everything is serialized here, off the writer thread, which only writes.
        let writes: Vec<CopyRow> = writes.iter().map(CopyRow::of).collect();
        let (history, idem) = (history_rows(history), idempotency.cloned());
        let outbox: Vec<_> = events.iter().map(crate::sql::webhooks::outbox).collect();
        self.write(move |tx| {
            let mut bump = tx.prepare_cached(&render(BUMP_COPY, Dialect::Sqlite)).map_err(db_err)?;
            let mut drop_ids = tx
                .prepare_cached(
                    "DELETE FROM task_copy_label_ids WHERE copy_id = ?1 AND label_id NOT IN (SELECT value FROM json_each(?2))",
                )
                .map_err(db_err)?;
            let mut put_id = tx
                .prepare_cached(&render(PUT_COPY_LABEL_ID, Dialect::Sqlite))
                .map_err(db_err)?;
            for row in &writes {
                let w = &row.write;
                let n = bump
                    .execute(params![
                        w.state,
                        row.metadata,
                        w.sample_usage,
                        w.update_time,
                        w.copy_id,
                        w.expected_version,
                        row.labels
                    ])
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                }
                drop_ids.execute(params![w.copy_id, row.label_ids]).map_err(db_err)?;
                for (label_id, count) in &row.distinct {
                    put_id.execute(params![w.copy_id, label_id, count]).map_err(db_err)?;
                }
            }
            insert_history(tx, &history)?;
            insert_outbox(tx, &outbox)?;
            match &idem {
                Some(record) => insert_idempotency(tx, record),
                None => Ok(()),
            }
        })
        .await
    }

    async fn write_samples_with(
        &self,
        writes: &[SampleWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let writes: Vec<(SampleWrite, String, Vec<LabelRow>)> = writes
            .iter()
            .map(|w| (w.clone(), map_text(&w.metadata), label_rows(&w.labels)))
            .collect();
        let (history, idem) = (history_rows(history), idempotency.cloned());
        self.write(move |tx| {
            let mut bump = tx
                .prepare_cached(&render(BUMP_SAMPLE, Dialect::Sqlite))
                .map_err(db_err)?;
            let mut clear = tx
                .prepare_cached("DELETE FROM sample_labels WHERE sample_seq = ?1")
                .map_err(db_err)?;
            let mut add = tx
                .prepare_cached(&format!(
                    "INSERT INTO sample_labels (sample_seq, {PLACED_LABEL_FIELDS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ))
                .map_err(db_err)?;
            for (w, metadata, labels) in &writes {
                let seq: Option<i64> = bump
                    .query_row(
                        params![
                            w.status.as_str(),
                            metadata,
                            w.sample_usage,
                            w.update_time,
                            w.dataset_id,
                            w.sample_id,
                            w.expected_version
                        ],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db_err)?;
                let Some(seq) = seq else {
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                };
                clear.execute([seq]).map_err(db_err)?;
                for (i, l) in labels.iter().enumerate() {
                    add.execute(params![
                        seq,
                        i as i64,
                        l.label_id,
                        l.instance_id,
                        l.property,
                        l.score,
                        l.annotated_by
                    ])
                    .map_err(db_err)?;
                }
            }
            insert_history(tx, &history)?;
            match &idem {
                Some(record) => insert_idempotency(tx, record),
                None => Ok(()),
            }
        })
        .await
    }
});
