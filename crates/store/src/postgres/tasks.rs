//! DOC

use super::*;

#[async_trait]
impl TaskStore for PgStore {
    async fn insert_task(&self, task: &TaskRecord, worker_ids: &[String]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        tx.execute(
            "INSERT INTO workforce_tasks (id, dataset_id, name, description, status, repetition,
                                          workforces_config, sample_conditions, synchronize_data,
                                          synchronize_auto_labeling_data, auto_sync_dataset,
                                          data_sync_type, create_time, update_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &task.id,
                &task.dataset_id,
                &task.name,
                &task.description,
                &task.status,
                &task.repetition,
                &task.workforces_config,
                &task.sample_conditions,
                &task.synchronize_data,
                &task.synchronize_auto_labeling_data,
                &task.auto_sync_dataset,
                &task.data_sync_type,
                &task.create_time,
                &task.update_time,
            ],
        )
        .await
        .map_err(sql("insert task"))?;
        insert_task_workers(&tx, &task.id, worker_ids).await?;
        tx.commit().await.map_err(sql("commit insert task"))
    }

    async fn get_task(&self, dataset_id: &str, task_id: &str) -> Result<TaskRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {TASK_COLUMNS} FROM workforce_tasks t WHERE t.dataset_id = $1 AND t.id = $2"),
                &[&dataset_id, &task_id],
            )
            .await
            .map_err(sql("get task"))?
            .ok_or_else(|| Error::from(StoreError::not_found(Entity::Task, &*task_id)))?;
        task_from_row(&row)
    }

    async fn list_tasks(&self, dataset_id: &str, offset: u64, limit: u64) -> Result<(u64, Vec<TaskRecord>)> {
        let mut params = Params::default();
        let filter = format!("t.dataset_id = {}", params.push(dataset_id.to_string()));
        let count_sql = format!("SELECT count(*) AS total FROM workforce_tasks t WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(offset, limit);
        let page_sql = format!(
            "SELECT {TASK_COLUMNS} FROM workforce_tasks t WHERE {filter}
             ORDER BY t.create_time DESC, t.id COLLATE \"C\" DESC
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list tasks")
            .await?;
        Ok((total, rows.iter().map(task_from_row).collect::<Result<_>>()?))
    }

    async fn update_task(&self, task: &TaskRecord, worker_ids: Option<&[String]>) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let n = tx
            .execute(
                "UPDATE workforce_tasks
                 SET name = $1, description = $2, status = $3, workforces_config = $4, update_time = $5
                 WHERE id = $6 AND dataset_id = $7",
                &[
                    &task.name,
                    &task.description,
                    &task.status,
                    &task.workforces_config,
                    &task.update_time,
                    &task.id,
                    &task.dataset_id,
                ],
            )
            .await
            .map_err(sql("update task"))?;
        if n == 0 {
            return Err(Error::from(StoreError::not_found(Entity::Task, &*task.id)));
        }
        if let Some(worker_ids) = worker_ids {
            tx.execute("DELETE FROM task_workers WHERE task_id = $1", &[&task.id])
                .await
                .map_err(sql("clear task workers"))?;
            insert_task_workers(&tx, &task.id, worker_ids).await?;
        }
        tx.commit().await.map_err(sql("commit update task"))
    }

    async fn delete_task(&self, dataset_id: &str, task_id: &str) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM workforce_tasks WHERE dataset_id = $1 AND id = $2",
                &[&dataset_id, &task_id],
            )
            .await
            .map_err(sql("delete task"))?;
        if n == 0 {
            return Err(Error::from(StoreError::not_found(Entity::Task, &*task_id)));
        }
        Ok(())
    }

    async fn task_workers(&self, task_id: &str) -> Result<Vec<WorkerRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {WORKER_COLUMNS}
                     FROM task_workers tw
                     JOIN workers w ON w.id = tw.worker_id
                     JOIN users u ON u.id = w.user_id
                     WHERE tw.task_id = $1
                     ORDER BY w.id COLLATE \"C\""
                ),
                &[&task_id],
            )
            .await
            .map_err(sql("task workers"))?;
        rows.iter().map(worker_from_row).collect()
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
        let mut params = Params::default();
        let mut filter = format!("w.user_id = {}", params.push(user_id.to_string()));
        if let Some(search) = search_content.filter(|s| !s.is_empty()) {
            filter += &format!(
                " AND t.name ILIKE {} ESCAPE '\\'",
                params.push(contains_pattern(search))
            );
        }
        let from = "task_workers tw
                    JOIN workers w ON w.id = tw.worker_id
                    JOIN users u ON u.id = w.user_id
                    JOIN workforce_tasks t ON t.id = tw.task_id";
        let direction = if ascending { "ASC" } else { "DESC" };
        let key = if sort_by_name {
            "t.name COLLATE \"C\""
        } else {
            "t.create_time"
        };
        let count_sql = format!("SELECT count(*) AS total FROM {from} WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(offset, limit);
        let page_sql = format!(
            "SELECT {TASK_COLUMNS}, {WORKER_COLUMNS} FROM {from} WHERE {filter}
             ORDER BY {key} {direction}, t.id COLLATE \"C\" {direction}, w.id COLLATE \"C\"
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list user tasks")
            .await?;
        let tasks = rows
            .iter()
            .map(|row| Ok((task_from_row(row)?, worker_from_row(row)?)))
            .collect::<Result<_>>()?;
        Ok((total, tasks))
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
        let n = labelers.len();
        if n == 0 || repetition == 0 || repetition as usize > n {
            return Err(Error::from(StoreError::conflict(Constraint::TaskLabelers)));
        }
        let n = i64::try_from(n).map_err(|_| Error::internal("too many labelers"))?;
        let mut params = Params::default();
        let filter = sample_filter(dataset_id, samples, &mut params);
        let task = params.push(task_id.to_string());
        let at = params.push(now);
        let lab = params.push(labelers.to_vec());
        let reps = params.push(i64::from(repetition));
        let count = params.push(n);
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
            .execute(&insert_sql, &params.refs())
            .await
            .map_err(sql("assign task samples"))?;
        tx.execute(
            "UPDATE workforce_tasks SET status = $1, update_time = $2 WHERE id = $3",
            &[&status, &now, &task_id],
        )
        .await
        .map_err(sql("set task status"))?;
        tx.commit().await.map_err(sql("commit start task"))?;
        Ok(copies / u64::from(repetition))
    }

    async fn task_copy_counts(&self, task_id: &str) -> Result<Vec<CopyCount>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT worker_id, state, count(*) AS n
                 FROM task_copies
                 WHERE task_id = $1
                 GROUP BY worker_id, state
                 ORDER BY worker_id COLLATE \"C\", state COLLATE \"C\"",
                &[&task_id],
            )
            .await
            .map_err(sql("task copy counts"))?;
        rows.iter()
            .map(|row| {
                Ok(CopyCount {
                    worker_id: col(row, "worker_id")?,
                    state: col(row, "state")?,
                    count: count(col(row, "n")?),
                })
            })
            .collect()
    }

    async fn task_sample_count(&self, task_id: &str) -> Result<u64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT count(DISTINCT sample_seq) AS n FROM task_copies WHERE task_id = $1",
                &[&task_id],
            )
            .await
            .map_err(sql("task sample count"))?;
        Ok(count(col(&row, "n")?))
    }

    async fn task_label_usage(&self, task_id: &str) -> Result<Vec<LabelUsage>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT cl.label_id, count(*) AS n, count(DISTINCT tc.sample_seq) AS samples
                 FROM task_copies tc
                 JOIN task_copy_labels cl ON cl.copy_id = tc.id
                 WHERE tc.task_id = $1
                 GROUP BY cl.label_id
                 ORDER BY cl.label_id",
                &[&task_id],
            )
            .await
            .map_err(sql("task label usage"))?;
        rows.iter().map(usage_from_row).collect()
    }
}
