//! Label writes on SQLite: copy and sample writes with their history and idempotency record,
//! each one job of the group-committing writer (a row at a time, in the order given); the reads
//! are shared (`crate::sql::team_samples`). Must not apply review rules.

use super::*;
use crate::sql::samples::PLACED_LABEL_FIELDS;
use crate::sql::team_samples::{BUMP_COPY, BUMP_SAMPLE};
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
        let writes: Vec<(CopyWrite, Option<String>, Vec<LabelRow>)> = writes
            .iter()
            .map(|w| (w.clone(), w.metadata.as_ref().map(map_text), label_rows(&w.labels)))
            .collect();
        let (history, idem) = (history_rows(history), idempotency.cloned());
        let outbox: Vec<_> = events.iter().map(crate::sql::webhooks::outbox).collect();
        self.write(move |tx| {
            let mut bump = tx.prepare_cached(&render(BUMP_COPY, Dialect::Sqlite)).map_err(db_err)?;
            let mut clear = tx
                .prepare_cached("DELETE FROM task_copy_labels WHERE copy_id = ?1")
                .map_err(db_err)?;
            let mut add = tx
                .prepare_cached(&format!(
                    "INSERT INTO task_copy_labels (copy_id, {PLACED_LABEL_FIELDS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ))
                .map_err(db_err)?;
            for (w, metadata, labels) in &writes {
                let n = bump
                    .execute(params![
                        w.state,
                        metadata,
                        w.sample_usage,
                        w.update_time,
                        w.copy_id,
                        w.expected_version
                    ])
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                }
                clear.execute([w.copy_id]).map_err(db_err)?;
                for (i, l) in labels.iter().enumerate() {
                    add.execute(params![
                        w.copy_id,
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
