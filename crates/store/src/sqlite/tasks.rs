//! Team tasks on SQLite: the shared statements (`crate::sql::tasks`), the task start, which
//! builds its labeler table as multi-row `VALUES` and runs on the group-committing writer, and
//! the feed of new samples to started tasks with `synchronize_data`, run by the sample insert.
//! Must not decide task states.

use super::*;
use crate::sql::tasks::{feed_columns, FEED_ADVANCE_SQL, FEED_TASKS_SQL};
use crate::sql::{render, Arg, Dialect, Query};

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
            // in insertion order) goes to labeler (i * repetition + k) mod n. Copies are inserted
            // labeler by labeler, so one labeler's copies have neighbouring ids and a batch of
            // theirs writes a few neighbouring pages.
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
                 ORDER BY lab.j, chosen.seq, rep.k",
                values.join(", ")
            );
            let copies = tx.execute(&render(&sql, Dialect::Sqlite), params_from_iter(args.args.iter())).map_err(db_err)?;
            let (labelers, filter) = feed_columns(&labelers, &q);
            let assigned = copies as i64 / i64::from(repetition);
            tx.execute(
                "UPDATE workforce_tasks SET status = ?1, update_time = ?2, feed_labelers = ?4, feed_filter = ?5, feed_next = ?6 WHERE id = ?3",
                params![status, now, t, labelers.to_string(), filter.to_string(), assigned],
            )
            .map_err(db_err)?;
            Ok(copies as u64 / repetition as u64)
        })
        .await
    }
});

/// Hands samples just inserted (`seqs`: one dataset's, contiguous and ascending, as one
/// writer job inserts them) to the dataset's started tasks with `synchronize_data`, inside the
/// insert's transaction: each task takes those matching its start filter, assigned as at its
/// start and continuing from where it stands.
pub(super) fn feed_new_samples(c: &Connection, dataset_id: &str, seqs: &[i64], now: i64) -> Result<()> {
    let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
        return Ok(());
    };
    let feeds = rows(
        c,
        &render(FEED_TASKS_SQL, Dialect::Sqlite),
        &[Arg::Text(dataset_id.to_string())],
        crate::sql::tasks::feed,
    )?;
    for f in feeds.iter().filter(|f| f.takes_samples()) {
        let mut q = Query::new(Dialect::Sqlite);
        let filter = crate::sql::samples::sample_filter(&mut q, dataset_id, &f.filter);
        let sql = format!(
            "SELECT s.seq FROM samples s WHERE {filter} AND s.seq BETWEEN {} AND {} ORDER BY s.seq",
            q.int(first),
            q.int(last)
        );
        let chosen = rows(c, &render(&sql, Dialect::Sqlite), &q.args, |r| r.int(0))?;
        if chosen.is_empty() {
            continue;
        }
        let members: HashSet<String> = rows(
            c,
            "SELECT worker_id FROM task_workers WHERE task_id = ?1",
            &[Arg::Text(f.task_id.clone())],
            |r| r.text(0),
        )?
        .into_iter()
        .collect();
        let (copies, status, next) = f.assign(&chosen, &members);
        let mut ins = c
            .prepare_cached(
                "INSERT INTO task_copies (task_id, sample_seq, worker_id, state, version, update_time)
                 VALUES (?1, ?2, ?3, '__NONE__', 0, ?4)",
            )
            .map_err(db_err)?;
        for (seq, worker) in &copies {
            ins.execute(params![f.task_id, seq, worker, now]).map_err(db_err)?;
        }
        run(
            c,
            &render(FEED_ADVANCE_SQL, Dialect::Sqlite),
            &[
                Arg::Int(next),
                Arg::Int4(status),
                Arg::Int(now),
                Arg::Text(f.task_id.clone()),
            ],
        )?;
    }
    Ok(())
}
