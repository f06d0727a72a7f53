//! Label writes on SQLite: copy and sample writes with their history and idempotency record,
//! each one job of the group-committing writer (a row at a time, in the order given); the reads
//! are shared (`crate::sql::team_samples`). Must not apply review rules.

use super::*;
use crate::sql::compact;
use crate::sql::samples::PLACED_LABEL_FIELDS;
use crate::sql::team_samples::{BUMP_COPY, BUMP_SAMPLE};

/// What the writer needs of a copy write, with its values serialized off the writer thread:
/// metadata, the labels' compact value, and the distinct labels for `task_copy_label_ids`.
struct CopyRow {
    copy_id: i64,
    expected_version: i64,
    state: String,
    sample_usage: Option<String>,
    update_time: i64,
    metadata: Option<String>,
    labels: String,
    distinct: Vec<(i64, i64)>,
}

impl CopyRow {
    fn of(w: &CopyWrite) -> Self {
        CopyRow {
            copy_id: w.copy_id,
            expected_version: w.expected_version,
            state: w.state.clone(),
            sample_usage: w.sample_usage.clone(),
            update_time: w.update_time,
            metadata: w.metadata.as_ref().map(map_text),
            labels: compact::encode(&w.labels),
            distinct: compact::distinct(&w.labels),
        }
    }
}

/// The statements that bring a copy's rows of `task_copy_label_ids` to its new labels, writing
/// only the rows that change (none when the copy places the same labels as many times).
struct LabelIds<'c> {
    read: rusqlite::CachedStatement<'c>,
    add: rusqlite::CachedStatement<'c>,
    count: rusqlite::CachedStatement<'c>,
    drop: rusqlite::CachedStatement<'c>,
}

impl<'c> LabelIds<'c> {
    fn prepare(tx: &'c Connection) -> Result<Self> {
        let p = |sql: &str| tx.prepare_cached(sql).map_err(db_err);
        Ok(LabelIds {
            read: p("SELECT label_id, n FROM task_copy_label_ids WHERE copy_id = ?1 ORDER BY label_id")?,
            add: p("INSERT OR FAIL INTO task_copy_label_ids (copy_id, label_id, n) VALUES (?1, ?2, ?3)")?,
            count: p("UPDATE OR FAIL task_copy_label_ids SET n = ?3 WHERE copy_id = ?1 AND label_id = ?2")?,
            drop: p("DELETE FROM task_copy_label_ids WHERE copy_id = ?1 AND label_id = ?2")?,
        })
    }

    /// `distinct`: the new labels of the copy with their counts, by label id.
    fn put(&mut self, copy_id: i64, distinct: &[(i64, i64)]) -> Result<()> {
        let old: Vec<(i64, i64)> = self
            .read
            .query_map([copy_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        let new: std::collections::HashMap<i64, i64> = distinct.iter().copied().collect();
        for (label_id, n) in &old {
            match new.get(label_id) {
                None => self.drop.execute(params![copy_id, label_id]).map(drop),
                Some(m) if m != n => self.count.execute(params![copy_id, label_id, m]).map(drop),
                Some(_) => Ok(()),
            }
            .map_err(db_err)?;
        }
        for (label_id, n) in distinct {
            if !old.iter().any(|(id, _)| id == label_id) {
                self.add.execute(params![copy_id, label_id, n]).map_err(db_err)?;
            }
        }
        Ok(())
    }
}
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
        let (history, idem) = (history.to_vec(), idempotency.cloned());
        let outbox: Vec<_> = events.iter().map(crate::sql::webhooks::outbox).collect();
        self.write(move |tx| {
            // OR FAIL: the row is one, so there is nothing of the statement to undo on a
            // failure (the job's savepoint undoes the job), and SQLite then keeps no statement
            // journal for it and its count triggers.
            let bump_sql = render(BUMP_COPY, Dialect::Sqlite).replacen("UPDATE task_copies", "UPDATE OR FAIL task_copies", 1);
            let mut bump = tx.prepare_cached(&bump_sql).map_err(db_err)?;
            let mut ids = LabelIds::prepare(tx)?;
            for w in &writes {
                let n = bump
                    .execute(params![
                        w.state,
                        w.metadata,
                        w.sample_usage,
                        w.update_time,
                        w.copy_id,
                        w.expected_version,
                        w.labels
                    ])
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                }
                ids.put(w.copy_id, &w.distinct)?;
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
        let (history, idem) = (history.to_vec(), idempotency.cloned());
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
