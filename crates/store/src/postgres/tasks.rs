//! Team tasks on PostgreSQL: the shared statements (`crate::sql::tasks`), the task start,
//! which locks the task and assigns copies in one set-based insert over `UNNEST` and
//! `generate_series`, and the feed of new samples to started tasks with `synchronize_data`,
//! run by the sample insert. Must not decide task states.

use super::*;
use crate::sql::decode::Cells;
use crate::sql::tasks::{feed_columns, FEED_ADVANCE_SQL, FEED_TASKS_SQL};
use crate::sql::{Arg, Dialect, Query};

crate::sql::tasks::task_store!(PgStore {
    async fn start_task(
        &self,
        task_id: &str,
        dataset_id: &str,
        samples: &SampleQuery,
        labelers: &[String],
        repetition: u32,
        status: i32,
        now: i64,
    ) -> Result<u64> {
        let n = labelers.len();
        if n == 0 || repetition == 0 || repetition as usize > n {
            return Err(Error::from(StoreError::conflict(Constraint::TaskLabelers)));
        }
        let n = i64::try_from(n).map_err(|_| Error::internal("too many labelers"))?;
        let mut params = Query::new(Dialect::Postgres);
        let filter = crate::sql::samples::sample_filter(&mut params, dataset_id, samples);
        let task = params.text(task_id);
        let at = params.int(now);
        let lab = params.arg(Arg::Texts(labelers.to_vec()));
        let reps = params.int(i64::from(repetition));
        let count = params.int(n);
        // Sample i (0-based, in insertion order among those matching) goes to labelers
        // (i * repetition + k) mod n for k in 0..repetition, labelers numbered from 0 in the
        // order given: one set-based insert, labeler by labeler (so one labeler's copies have
        // neighbouring ids and start on neighbouring pages).
        let insert_sql = format!(
            "WITH chosen AS (
                 SELECT s.seq, ROW_NUMBER() OVER (ORDER BY s.seq) - 1 AS i
                 FROM samples s WHERE {filter}
             ),
             lab AS (
                 SELECT l.worker_id, l.ord - 1 AS j
                 FROM UNNEST({lab}::text[]) WITH ORDINALITY AS l(worker_id, ord)
             ),
             rep AS (
                 SELECT k FROM generate_series(0::int8, {reps}::int8 - 1) AS k
             )
             INSERT INTO task_copies (task_id, sample_seq, worker_id, state, version, update_time)
             SELECT {task}::text, chosen.seq, lab.worker_id, '__NONE__', 0, {at}::int8
             FROM chosen
             CROSS JOIN rep
             JOIN lab ON lab.j = (chosen.i * {reps}::int8 + rep.k) % {count}::int8
             ORDER BY lab.j, chosen.seq, rep.k"
        );

        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        // Concurrent starts of one task queue up here.
        tx.query_opt("SELECT 1 FROM workforce_tasks WHERE id = $1 FOR NO KEY UPDATE", &[&task_id])
            .await
            .map_err(sql("lock task"))?;
        let copies = tx
            .execute(&insert_sql, &pg_args(&params.args))
            .await
            .map_err(sql("assign task samples"))?;
        let assigned = copies / u64::from(repetition);
        let (feed_labelers, feed_filter) = feed_columns(labelers, samples);
        tx.execute(
            "UPDATE workforce_tasks SET status = $1, update_time = $2, feed_labelers = $4, feed_filter = $5,
                    feed_next = $6
             WHERE id = $3",
            &[&status, &now, &task_id, &Json(&feed_labelers), &Json(&feed_filter), &(assigned as i64)],
        )
        .await
        .map_err(sql("set task status"))?;
        commit(tx, "commit start task").await?;
        // Labeling starts now, often right after the samples were added in bulk: statistics
        // made before (or never) would plan a batch's lookup of its samples by id as a scan of
        // the whole dataset. Fresh ones cost a sampled read of the two tables.
        if let Err(e) = client.batch_execute("ANALYZE samples, task_copies").await {
            tracing::warn!(error = %e, "ANALYZE after starting a task failed");
        }
        Ok(assigned)
    }
});

/// Hands samples just inserted (`seqs`, ascending) to the dataset's started tasks with
/// `synchronize_data`, inside the insert's transaction: each task takes those matching its
/// start filter, assigned as at its start and continuing from where it stands. The tasks are
/// locked first (see `FEED_TASKS_SQL`), so concurrent inserts take positions one after another.
pub(super) async fn feed_new_samples(
    tx: &deadpool_postgres::Transaction<'_>,
    dataset_id: &str,
    seqs: &[i64],
    now: i64,
) -> Result<()> {
    if seqs.is_empty() {
        return Ok(());
    }
    let lock = format!("{FEED_TASKS_SQL} FOR NO KEY UPDATE");
    let mut feeds = Vec::new();
    for row in tx
        .query(&lock, &[&dataset_id])
        .await
        .map_err(sql("lock synchronized tasks"))?
    {
        feeds.push(crate::sql::tasks::feed(&row)?);
    }
    for f in feeds.iter().filter(|f| f.takes_samples()) {
        let mut q = Query::new(Dialect::Postgres);
        let filter = crate::sql::samples::sample_filter(&mut q, dataset_id, &f.filter);
        let chosen_sql = format!(
            "SELECT s.seq FROM samples s WHERE {filter} AND {} ORDER BY s.seq",
            q.in_ints("s.seq", seqs)
        );
        let mut chosen = Vec::new();
        for row in tx
            .query(&chosen_sql, &pg_args(&q.args))
            .await
            .map_err(sql("choose new samples"))?
        {
            chosen.push(row.int(0)?);
        }
        if chosen.is_empty() {
            continue;
        }
        let mut members = HashSet::new();
        for row in tx
            .query("SELECT worker_id FROM task_workers WHERE task_id = $1", &[&f.task_id])
            .await
            .map_err(sql("read task members"))?
        {
            members.insert(row.text(0)?);
        }
        let (copies, status, next) = f.assign(&chosen, &members);
        let (copy_seqs, workers): (Vec<i64>, Vec<String>) = copies.into_iter().unzip();
        tx.execute(
            "INSERT INTO task_copies (task_id, sample_seq, worker_id, state, version, update_time)
             SELECT $1::text, c.seq, c.worker_id, '__NONE__', 0, $4::int8
             FROM UNNEST($2::int8[], $3::text[]) AS c(seq, worker_id)",
            &[&f.task_id, &copy_seqs, &workers, &now],
        )
        .await
        .map_err(sql("assign new samples"))?;
        tx.execute(FEED_ADVANCE_SQL, &[&next, &status, &now, &f.task_id])
            .await
            .map_err(sql("advance synchronized task"))?;
    }
    Ok(())
}
