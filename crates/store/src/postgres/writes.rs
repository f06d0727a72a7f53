//! The PostgreSQL writes the label writes share: label rows and history appended with one
//! `UNNEST` statement each, the last write of each target, the idempotency record (the shared
//! statement of `crate::sql::team_samples`). Must not decide versions or states.

use super::*;
use crate::sql::samples::PLACED_LABEL_FIELDS;
use crate::sql::team_samples::{copy_of, labels_before, HISTORY_FIELDS};

pub(super) async fn insert_idempotency(tx: &deadpool_postgres::Transaction<'_>, r: &IdempotencyRecord) -> Result<()> {
    let stmt = crate::sql::team_samples::record_idempotency(r);
    let n = tx
        .execute(stmt.sql.as_ref(), &pg_args(&stmt.args))
        .await
        .map_err(sql("record idempotency key"))?;
    if n == 0 {
        return Err(StoreError::conflict(Constraint::IdempotencyKey).into());
    }
    Ok(())
}

/// Hands a write's events to the outbox (`crate::sql::webhooks::outbox`) in its transaction.
pub(super) async fn insert_outbox(tx: &deadpool_postgres::Transaction<'_>, events: &[OutboxEvent]) -> Result<()> {
    for e in events {
        let stmt = crate::sql::webhooks::outbox(e);
        tx.execute(stmt.sql.as_ref(), &pg_args(&stmt.args))
            .await
            .map_err(sql("hand an event to the outbox"))?;
    }
    Ok(())
}

#[derive(Default)]
pub(super) struct LabelRows<'a> {
    pub(super) owners: Vec<i64>,
    pub(super) ordinals: Vec<i32>,
    pub(super) label_ids: Vec<i64>,
    pub(super) instance_ids: Vec<Option<&'a str>>,
    pub(super) properties: Vec<Json<&'a Map<String, Value>>>,
    pub(super) scores: Vec<Option<f64>>,
    pub(super) annotated_by: Vec<Option<&'a str>>,
}

impl<'a> LabelRows<'a> {
    pub(super) fn push(&mut self, owner: i64, labels: &'a [PlacedLabel]) -> Result<()> {
        for (ordinal, label) in labels.iter().enumerate() {
            self.owners.push(owner);
            self.ordinals
                .push(i32::try_from(ordinal).map_err(|_| Error::internal("label ordinal out of range"))?);
            self.label_ids.push(label.label_id);
            self.instance_ids.push(label.instance_id.as_deref());
            self.properties.push(Json(&label.property));
            self.scores.push(label.score);
            self.annotated_by.push(label.annotated_by.as_deref());
        }
        Ok(())
    }

    /// Inserts the rows into `table` (whose owner key column is `key`) in one statement.
    pub(super) async fn insert(&self, tx: &deadpool_postgres::Transaction<'_>, table: &str, key: &str) -> Result<()> {
        if self.owners.is_empty() {
            return Ok(());
        }
        tx.execute(
            &format!(
                "INSERT INTO {table} ({key}, {PLACED_LABEL_FIELDS})
                 SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::int8[], $4::text[], $5::jsonb[],
                                      $6::float8[], $7::text[])"
            ),
            &[
                &self.owners,
                &self.ordinals,
                &self.label_ids,
                &self.instance_ids,
                &self.properties,
                &self.scores,
                &self.annotated_by,
            ],
        )
        .await
        .map_err(|e| db_err(&format!("insert {table}"), &e))?;
        Ok(())
    }
}

/// A history row's sample, task and member, in the `UNNEST` of `insert_history`.
const KEY: [&str; 4] = ["h.dataset_id", "h.sample_id", "h.task_id", "h.worker_id"];

/// Appends history rows in one statement, in the order given (ids grow in that order).
pub(super) async fn insert_history(tx: &deadpool_postgres::Transaction<'_>, history: &[HistoryRecord]) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    let mut dataset_ids = Vec::with_capacity(history.len());
    let mut sample_ids = Vec::with_capacity(history.len());
    let mut task_ids = Vec::with_capacity(history.len());
    let mut worker_ids = Vec::with_capacity(history.len());
    let mut actor_user_ids = Vec::with_capacity(history.len());
    let mut actor_emails = Vec::with_capacity(history.len());
    let mut change_times = Vec::with_capacity(history.len());
    let mut states_before = Vec::with_capacity(history.len());
    let mut states_after = Vec::with_capacity(history.len());
    let mut befores = Vec::with_capacity(history.len());
    let mut labels_after = Vec::with_capacity(history.len());
    let mut versions_after = Vec::with_capacity(history.len());
    let mut copy_ids = Vec::with_capacity(history.len());
    for h in history {
        dataset_ids.push(h.dataset_id.as_str());
        sample_ids.push(h.sample_id.as_str());
        task_ids.push(h.task_id.as_deref());
        worker_ids.push(h.worker_id.as_deref());
        actor_user_ids.push(h.actor_user_id.as_str());
        actor_emails.push(h.actor_email.as_str());
        change_times.push(h.change_time);
        states_before.push(h.state_before.as_str());
        states_after.push(h.state_after.as_str());
        befores.push(h.labels_before.as_str());
        labels_after.push(h.labels_after.as_str());
        versions_after.push(h.version_after);
        copy_ids.push(h.copy_id);
    }
    // The labels go in as JSON text, cast to the column's JSONB. A row's labels before are NULL
    // when they are the previous row's labels after (`crate::sql::team_samples::labels_before`).
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO annotation_history ({HISTORY_FIELDS}, copy_id)
             SELECT h.dataset_id, h.sample_id, h.task_id, h.worker_id, h.actor_user_id, h.actor_email,
                    h.change_time, h.state_before, h.state_after, {}, h.labels_after::jsonb, h.version_after,
                    k.copy_id
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::int8[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int8[], $13::int8[])
                  WITH ORDINALITY AS h(dataset_id, sample_id, task_id, worker_id, actor_user_id,
                                       actor_email, change_time, state_before, state_after,
                                       labels_before, labels_after, version_after, copy_id, ord)
             CROSS JOIN LATERAL (SELECT COALESCE(h.copy_id, {}) AS copy_id) k
             ORDER BY h.ord",
            labels_before("h.labels_before::jsonb", "k.copy_id", KEY),
            copy_of(KEY)
        ))
        .await
        .map_err(sql("prepare history"))?;
    tx.execute(
        &stmt,
        &[
            &dataset_ids,
            &sample_ids,
            &task_ids,
            &worker_ids,
            &actor_user_ids,
            &actor_emails,
            &change_times,
            &states_before,
            &states_after,
            &befores,
            &labels_after,
            &versions_after,
            &copy_ids,
        ],
    )
    .await
    .map_err(sql("insert history"))?;
    Ok(())
}

/// The index of the last write of each target, in order: when a target is written more than
/// once (at successive versions), its final labels are those of its last write.
pub(super) fn last_writes<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> Vec<usize> {
    let keys: Vec<K> = keys.collect();
    let mut last: HashMap<&K, usize> = HashMap::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        last.insert(key, i);
    }
    let mut out: Vec<usize> = last.into_values().collect();
    out.sort_unstable();
    out
}
