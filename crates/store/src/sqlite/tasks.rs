//! Team tasks on SQLite: the shared statements (`crate::sql::tasks`) and the task start, which
//! builds its labeler table as multi-row `VALUES` and runs on the group-committing writer.
//! Must not decide task states.

use super::*;
use crate::sql::{render, Dialect, Query};

crate::sql::tasks::task_store!(SqliteStore {
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
        let (t, d, q, labelers) = (
            task_id.to_string(),
            dataset_id.to_string(),
            samples.clone(),
            labelers.to_vec(),
        );
        self.write(move |tx| {
            let n = labelers.len() as i64;
            if n == 0 || repetition == 0 || repetition as i64 > n {
                return Err(Error::from(StoreError::conflict(Constraint::TaskLabelers)));
            }
            let mut args = Query::new(Dialect::Sqlite);
            let filter = crate::sql::samples::sample_filter(&mut args, &d, &q);
            let task = args.text(&t);
            let at = args.int(now);
            // Labelers as a VALUES table (j, worker_id) and repetitions as (k); sample i (0-based,
            // in insertion order) goes to labeler (i * repetition + k) mod n.
            let mut values = Vec::new();
            for (j, w) in labelers.iter().enumerate() {
                values.push(format!("({j}, {})", args.text(w)));
            }
            let reps = (0..repetition).map(|k| format!("({k})")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "WITH chosen AS (SELECT s.seq, ROW_NUMBER() OVER (ORDER BY s.seq) - 1 AS i FROM samples s WHERE {filter}),
                      lab(j, worker_id) AS (VALUES {}),
                      rep(k) AS (VALUES {reps})
                 INSERT INTO task_copies (task_id, sample_seq, worker_id, state, version, update_time)
                 SELECT {task}, chosen.seq, lab.worker_id, '__NONE__', 0, {at}
                 FROM chosen CROSS JOIN rep JOIN lab ON lab.j = (chosen.i * {repetition} + rep.k) % {n}
                 ORDER BY chosen.seq, rep.k",
                values.join(", ")
            );
            let copies = tx.execute(&render(&sql, Dialect::Sqlite), params_from_iter(args.args.iter())).map_err(db_err)?;
            tx.execute("UPDATE workforce_tasks SET status = ?1, update_time = ?2 WHERE id = ?3", params![status, now, t]).map_err(db_err)?;
            Ok(copies as u64 / repetition as u64)
        })
        .await
    }
});
