//! Team tasks on PostgreSQL: the shared statements (`crate::sql::tasks`) and the task start,
//! which locks the task and assigns copies in one set-based insert over `UNNEST` and
//! `generate_series`. Must not decide task states.

use super::*;
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
        // order given: one set-based insert.
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
             ORDER BY chosen.seq, rep.k"
        );

        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        // Concurrent starts of one task queue up here.
        tx.query_opt("SELECT 1 FROM workforce_tasks WHERE id = $1 FOR UPDATE", &[&task_id])
            .await
            .map_err(sql("lock task"))?;
        let copies = tx
            .execute(&insert_sql, &pg_args(&params.args))
            .await
            .map_err(sql("assign task samples"))?;
        tx.execute(
            "UPDATE workforce_tasks SET status = $1, update_time = $2 WHERE id = $3",
            &[&status, &now, &task_id],
        )
        .await
        .map_err(sql("set task status"))?;
        commit(tx, "commit start task").await?;
        Ok(copies / u64::from(repetition))
    }
});
