//! DOC

use super::*;

#[async_trait]
impl TaskStore for SqliteStore {
    async fn insert_task(&self, task: &TaskRecord, worker_ids: &[String]) -> Result<()> {
        let (t, workers) = (task.clone(), worker_ids.to_vec());
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO workforce_tasks ({TASK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
                params![
                    t.id,
                    t.dataset_id,
                    t.name,
                    t.description,
                    t.status,
                    t.repetition,
                    t.workforces_config.to_string(),
                    t.sample_conditions.as_ref().map(Value::to_string),
                    t.synchronize_data,
                    t.synchronize_auto_labeling_data,
                    t.auto_sync_dataset,
                    t.data_sync_type,
                    t.create_time,
                    t.update_time
                ],
            )
            .map_err(db_err)?;
            let mut stmt = tx.prepare_cached("INSERT INTO task_workers (task_id, worker_id) VALUES (?1, ?2)").map_err(db_err)?;
            for w in &workers {
                stmt.execute(params![t.id, w]).map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_task(&self, dataset_id: &str, task_id: &str) -> Result<TaskRecord> {
        let (d, id) = (dataset_id.to_string(), task_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row(
                        &format!("SELECT {TASK_COLUMNS} FROM workforce_tasks WHERE dataset_id = ?1 AND id = ?2"),
                        params![d, id],
                        task_from_row,
                    )
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| Error::from(StoreError::not_found(Entity::Task, &*id)))
    }

    async fn list_tasks(&self, dataset_id: &str, offset: u64, limit: u64) -> Result<(u64, Vec<TaskRecord>)> {
        let d = dataset_id.to_string();
        self.read(move |c| {
            let total: i64 = c.query_row("SELECT COUNT(*) FROM workforce_tasks WHERE dataset_id = ?1", [&d], |r| r.get(0))?;
            let mut stmt = c.prepare(&format!(
                "SELECT {TASK_COLUMNS} FROM workforce_tasks WHERE dataset_id = ?1 ORDER BY create_time DESC, id DESC LIMIT {limit} OFFSET {}",
                offset.saturating_mul(limit)
            ))?;
            let rows = stmt.query_map([&d], task_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn update_task(&self, task: &TaskRecord, worker_ids: Option<&[String]>) -> Result<()> {
        let (t, workers) = (task.clone(), worker_ids.map(<[String]>::to_vec));
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE workforce_tasks SET name = ?1, description = ?2, status = ?3, workforces_config = ?4, update_time = ?5
                     WHERE id = ?6 AND dataset_id = ?7",
                    params![t.name, t.description, t.status, t.workforces_config.to_string(), t.update_time, t.id, t.dataset_id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::from(StoreError::not_found(Entity::Task, &*t.id)));
            }
            if let Some(workers) = workers {
                tx.execute("DELETE FROM task_workers WHERE task_id = ?1", [&t.id]).map_err(db_err)?;
                let mut stmt = tx.prepare_cached("INSERT INTO task_workers (task_id, worker_id) VALUES (?1, ?2)").map_err(db_err)?;
                for w in &workers {
                    stmt.execute(params![t.id, w]).map_err(db_err)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn delete_task(&self, dataset_id: &str, task_id: &str) -> Result<()> {
        let (d, id) = (dataset_id.to_string(), task_id.to_string());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM workforce_tasks WHERE dataset_id = ?1 AND id = ?2",
                    params![d, id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::from(StoreError::not_found(Entity::Task, &*id)));
            }
            Ok(())
        })
        .await
    }

    async fn task_workers(&self, task_id: &str) -> Result<Vec<WorkerRecord>> {
        let t = task_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {WORKER_COLUMNS} FROM task_workers tw JOIN workers w ON w.id = tw.worker_id JOIN users u ON u.id = w.user_id
                 WHERE tw.task_id = ?1 ORDER BY w.id"
            ))?;
            let rows = stmt.query_map([t], worker_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn list_user_tasks(
        &self,
        user_id: &str,
        offset: u64,
        limit: u64,
        ascending: bool,
        sort_by_name: bool,
        search_content: Option<&str>,
    ) -> Result<(u64, Vec<(TaskRecord, WorkerRecord)>)> {
        let (u, search) = (user_id.to_string(), search_content.map(str::to_string));
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(u)];
            let mut filter = String::from("w.user_id = ?1");
            if let Some(s) = &search {
                let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                args.push(Box::new(format!("%{escaped}%")));
                filter.push_str(&format!(" AND t.name LIKE ?{} ESCAPE '\\'", args.len()));
            }
            let from = "task_workers tw JOIN workers w ON w.id = tw.worker_id JOIN users u ON u.id = w.user_id JOIN workforce_tasks t ON t.id = tw.task_id";
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {from} WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if ascending { "ASC" } else { "DESC" };
            let key = if sort_by_name { "t.name" } else { "t.create_time" };
            let task_cols = TASK_COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT {task_cols}, {WORKER_COLUMNS} FROM {from} WHERE {filter} ORDER BY {key} {dir}, t.id {dir}, w.id LIMIT {limit} OFFSET {}",
                offset.saturating_mul(limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    let task = task_from_row(r)?;
                    let worker = WorkerRecord {
                        id: r.get(14)?,
                        workforce_id: r.get(15)?,
                        user_id: r.get(16)?,
                        email: r.get(17)?,
                        role: Role::from_code(r.get(18)?).ok_or_else(|| bad_row("role"))?,
                        description: r.get(19)?,
                        create_time: r.get(20)?,
                        update_time: r.get(21)?,
                    };
                    Ok((task, worker))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

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
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(d)];
            let filter = sample_filter(&q, &mut args);
            args.push(Box::new(t.clone()));
            let task_arg = args.len();
            args.push(Box::new(now));
            let now_arg = args.len();
            // Labelers as a VALUES table (j, worker_id) and repetitions as (k); sample i (0-based,
            // in insertion order) goes to labeler (i * repetition + k) mod n.
            let mut values = Vec::new();
            for (j, w) in labelers.iter().enumerate() {
                args.push(Box::new(w.clone()));
                values.push(format!("({j}, ?{})", args.len()));
            }
            let reps = (0..repetition).map(|k| format!("({k})")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "WITH chosen AS (SELECT s.seq, ROW_NUMBER() OVER (ORDER BY s.seq) - 1 AS i FROM samples s WHERE {filter}),
                      lab(j, worker_id) AS (VALUES {}),
                      rep(k) AS (VALUES {reps})
                 INSERT INTO task_copies (task_id, sample_seq, worker_id, state, version, update_time)
                 SELECT ?{task_arg}, chosen.seq, lab.worker_id, '__NONE__', 0, ?{now_arg}
                 FROM chosen CROSS JOIN rep JOIN lab ON lab.j = (chosen.i * {repetition} + rep.k) % {n}
                 ORDER BY chosen.seq, rep.k",
                values.join(", ")
            );
            let copies = tx.execute(&sql, params_from_iter(args.iter())).map_err(db_err)?;
            tx.execute("UPDATE workforce_tasks SET status = ?1, update_time = ?2 WHERE id = ?3", params![status, now, t]).map_err(db_err)?;
            Ok(copies as u64 / repetition as u64)
        })
        .await
    }

    async fn task_copy_counts(&self, task_id: &str) -> Result<Vec<CopyCount>> {
        let t = task_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT worker_id, state, COUNT(*) FROM task_copies WHERE task_id = ?1 GROUP BY worker_id, state",
            )?;
            let rows = stmt
                .query_map([t], |r| {
                    Ok(CopyCount {
                        worker_id: r.get(0)?,
                        state: r.get(1)?,
                        count: r.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn task_sample_count(&self, task_id: &str) -> Result<u64> {
        let t = task_id.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT COUNT(DISTINCT sample_seq) FROM task_copies WHERE task_id = ?1",
                [t],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .map(|n| n as u64)
    }

    async fn task_label_usage(&self, task_id: &str) -> Result<Vec<LabelUsage>> {
        let t = task_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT cl.label_id, COUNT(*), COUNT(DISTINCT tc.sample_seq)
                 FROM task_copies tc JOIN task_copy_labels cl ON cl.copy_id = tc.id
                 WHERE tc.task_id = ?1 GROUP BY cl.label_id",
            )?;
            let rows = stmt
                .query_map([t], |r| {
                    Ok(LabelUsage {
                        label_id: r.get(0)?,
                        count: r.get::<_, i64>(1)? as u64,
                        sample_count: r.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}
