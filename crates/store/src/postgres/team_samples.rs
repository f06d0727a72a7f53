//! Label writes on PostgreSQL: copy and sample writes with their history and idempotency
//! record, rows locked in key order and written with `UNNEST`; the reads are shared
//! (`crate::sql::team_samples`). Must not apply review rules.

use super::*;
use crate::sql::compact;
use crate::sql::decode::Cells;
use crate::sql::team_samples::{BUMP_COPY, BUMP_SAMPLE};

/// Brings `task_copy_label_ids` to the final labels of the written copies, in two statements
/// that leave rows already right untouched.
async fn put_copy_label_ids(tx: &deadpool_postgres::Transaction<'_>, writes: &[CopyWrite]) -> Result<()> {
    let (mut copies, mut labels, mut counts) = (Vec::new(), Vec::new(), Vec::new());
    for i in last_writes(writes.iter().map(|w| w.copy_id)) {
        for (label_id, n) in compact::distinct(&writes[i].labels) {
            copies.push(writes[i].copy_id);
            labels.push(label_id);
            counts.push(i32::try_from(n).map_err(|_| Error::internal("label count out of range"))?);
        }
    }
    let written: Vec<i64> = writes.iter().map(|w| w.copy_id).collect();
    let drop = tx
        .prepare_cached(
            "DELETE FROM task_copy_label_ids t WHERE t.copy_id = ANY($1)
             AND NOT EXISTS (SELECT 1 FROM UNNEST($2::int8[], $3::int8[]) AS k(copy_id, label_id)
                             WHERE k.copy_id = t.copy_id AND k.label_id = t.label_id)",
        )
        .await
        .map_err(sql("prepare copy label ids"))?;
    tx.execute(&drop, &[&written, &copies, &labels])
        .await
        .map_err(sql("drop copy label ids"))?;
    if copies.is_empty() {
        return Ok(());
    }
    let put = tx
        .prepare_cached(
            "INSERT INTO task_copy_label_ids (copy_id, label_id, n)
             SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int4[]) ORDER BY 1, 2
             ON CONFLICT (copy_id, label_id) DO UPDATE SET n = EXCLUDED.n WHERE task_copy_label_ids.n <> EXCLUDED.n",
        )
        .await
        .map_err(sql("prepare copy label ids"))?;
    tx.execute(&put, &[&copies, &labels, &counts])
        .await
        .map_err(sql("put copy label ids"))?;
    Ok(())
}

crate::sql::team_samples::team_sample_store!(PgStore {
    async fn write_copies_with(
        &self,
        writes: &[CopyWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
        events: &[OutboxEvent],
    ) -> Result<()> {
        if writes.is_empty() && history.is_empty() && idempotency.is_none() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let distinct = writes.iter().map(|w| w.copy_id).collect::<HashSet<_>>().len() == writes.len();
        if !writes.is_empty() && distinct {
            // Every copy once: lock them in id order (concurrent batches over the same copies
            // then wait for each other instead of deadlocking), and update them in one statement.
            let ids: Vec<i64> = writes.iter().map(|w| w.copy_id).collect();
            tx.query(
                "SELECT id FROM task_copies WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &[&ids],
            )
            .await
            .map_err(sql("lock copies"))?;
            let expected: Vec<i64> = writes.iter().map(|w| w.expected_version).collect();
            let states: Vec<&str> = writes.iter().map(|w| w.state.as_str()).collect();
            let metadata: Vec<Option<Json<&Map<String, Value>>>> =
                writes.iter().map(|w| w.metadata.as_ref().map(Json)).collect();
            let usages: Vec<Option<&str>> = writes.iter().map(|w| w.sample_usage.as_deref()).collect();
            let times: Vec<i64> = writes.iter().map(|w| w.update_time).collect();
            let labels: Vec<String> = writes.iter().map(|w| compact::encode(&w.labels)).collect();
            let update = tx
                .prepare_cached(
                    "UPDATE task_copies t
                     SET state = u.state, version = t.version + 1, metadata = COALESCE(u.metadata, t.metadata),
                         sample_usage = COALESCE(u.usage, t.sample_usage), update_time = u.update_time,
                         round_id = NULL, labels = u.labels
                     FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[], $6::bigint[], $7::text[])
                          AS u(id, expected, state, metadata, usage, update_time, labels)
                     WHERE t.id = u.id AND t.version = u.expected",
                )
                .await
                .map_err(sql("prepare copy writes"))?;
            let n = tx
                .execute(&update, &[&ids, &expected, &states, &metadata, &usages, &times, &labels])
                .await
                .map_err(sql("write copies"))?;
            if n != writes.len() as u64 {
                // Dropping the transaction rolls back everything written so far.
                return Err(Error::from(StoreError::conflict(Constraint::Version)));
            }
        } else if !writes.is_empty() {
            let bump = tx.prepare_cached(BUMP_COPY).await.map_err(sql("prepare copy write"))?;
            // Rows are locked in id order (stable, so writes of one copy keep their order):
            // concurrent batches over the same copies wait for each other instead of deadlocking.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by_key(|&i| writes[i].copy_id);
            for w in order.iter().map(|&i| &writes[i]) {
                let n = tx
                    .execute(
                        &bump,
                        &[
                            &w.state,
                            &w.metadata.as_ref().map(Json),
                            &w.sample_usage,
                            &w.update_time,
                            &w.copy_id,
                            &w.expected_version,
                            &compact::encode(&w.labels),
                        ],
                    )
                    .await
                    .map_err(sql("write copy"))?;
                if n == 0 {
                    // Dropping the transaction rolls back the writes made so far.
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                }
            }
        }
        if !writes.is_empty() {
            put_copy_label_ids(&tx, writes).await?;
        }
        insert_history(&tx, history).await?;
        insert_outbox(&tx, events).await?;
        if let Some(record) = idempotency {
            insert_idempotency(&tx, record).await?;
        }
        commit(tx, "commit write copies").await
    }

    async fn write_samples_with(
        &self,
        writes: &[SampleWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        if writes.is_empty() && history.is_empty() && idempotency.is_none() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        if !writes.is_empty() {
            let bump = tx
                .prepare_cached(BUMP_SAMPLE)
                .await
                .map_err(sql("prepare sample write"))?;
            // Rows are locked in key order (stable, so writes of one sample keep their order):
            // concurrent batches over the same samples wait for each other instead of deadlocking.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by(|&i, &j| {
                (&writes[i].dataset_id, &writes[i].sample_id).cmp(&(&writes[j].dataset_id, &writes[j].sample_id))
            });
            let mut seqs = vec![0_i64; writes.len()];
            for &i in &order {
                let w = &writes[i];
                let row = tx
                    .query_opt(
                        &bump,
                        &[
                            &w.status.as_str(),
                            &Json(&w.metadata),
                            &w.sample_usage,
                            &w.update_time,
                            &w.dataset_id,
                            &w.sample_id,
                            &w.expected_version,
                        ],
                    )
                    .await
                    .map_err(sql("write sample"))?;
                let Some(row) = row else {
                    // Dropping the transaction rolls back the writes made so far.
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                };
                seqs[i] = row.int(0)?;
            }
            tx.execute("DELETE FROM sample_labels WHERE sample_seq = ANY($1)", &[&seqs])
                .await
                .map_err(sql("clear sample labels"))?;
            let mut labels = LabelRows::default();
            for i in last_writes(seqs.iter().copied()) {
                labels.push(seqs[i], &writes[i].labels)?;
            }
            labels.insert(&tx, "sample_labels", "sample_seq").await?;
        }
        insert_history(&tx, history).await?;
        if let Some(record) = idempotency {
            insert_idempotency(&tx, record).await?;
        }
        commit(tx, "commit write samples").await
    }
});
