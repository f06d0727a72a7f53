//! DOC

use super::*;

#[async_trait]
impl TeamStore for PgStore {
    async fn insert_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO workforces (id, project_id, name, description, create_time, update_time)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &workforce.id,
                    &workforce.project_id,
                    &workforce.name,
                    &workforce.description,
                    &workforce.create_time,
                    &workforce.update_time,
                ],
            )
            .await
            .map_err(sql("insert workforce"))?;
        Ok(())
    }

    async fn get_workforce(&self, project_id: &str, workforce_id: &str) -> Result<WorkforceRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {WORKFORCE_COLUMNS} FROM workforces f WHERE f.project_id = $1 AND f.id = $2"),
                &[&project_id, &workforce_id],
            )
            .await
            .map_err(sql("get workforce"))?
            .ok_or_else(|| Error::from(StoreError::not_found(Entity::Workforce, &*workforce_id)))?;
        workforce_from_row(&row)
    }

    async fn list_workforces(&self, project_id: &str, query: &WorkforceQuery) -> Result<(u64, Vec<WorkforceRecord>)> {
        let mut params = Params::default();
        let mut filter = format!("f.project_id = {}", params.push(project_id.to_string()));
        if let Some(search) = query.search_content.as_deref().filter(|s| !s.is_empty()) {
            filter += &format!(
                " AND f.name ILIKE {} ESCAPE '\\'",
                params.push(contains_pattern(search))
            );
        }
        if let Some(task_id) = &query.task_id {
            filter += &format!(
                " AND EXISTS (SELECT 1 FROM task_workers tw JOIN workers w ON w.id = tw.worker_id
                              WHERE tw.task_id = {} AND w.workforce_id = f.id)",
                params.push(task_id.clone())
            );
        }
        let direction = if query.ascending { "ASC" } else { "DESC" };
        let key = if query.sort_by_name {
            "f.name COLLATE \"C\""
        } else {
            "f.create_time"
        };
        let count_sql = format!("SELECT count(*) AS total FROM workforces f WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(query.offset, query.limit);
        let page_sql = format!(
            "SELECT {WORKFORCE_COLUMNS} FROM workforces f WHERE {filter}
             ORDER BY {key} {direction}, f.id COLLATE \"C\" {direction}
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list workforces")
            .await?;
        Ok((total, rows.iter().map(workforce_from_row).collect::<Result<_>>()?))
    }

    async fn update_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE workforces SET name = $1, description = $2, update_time = $3
                 WHERE id = $4 AND project_id = $5",
                &[
                    &workforce.name,
                    &workforce.description,
                    &workforce.update_time,
                    &workforce.id,
                    &workforce.project_id,
                ],
            )
            .await
            .map_err(sql("update workforce"))?;
        if n == 0 {
            return Err(Error::from(StoreError::not_found(Entity::Workforce, &*workforce.id)));
        }
        Ok(())
    }

    async fn delete_workforce(&self, project_id: &str, workforce_id: &str) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM workforces WHERE project_id = $1 AND id = $2",
                &[&project_id, &workforce_id],
            )
            .await
            .map_err(sql("delete workforce"))?;
        if n == 0 {
            return Err(Error::from(StoreError::not_found(Entity::Workforce, &*workforce_id)));
        }
        Ok(())
    }

    async fn insert_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO workers (id, workforce_id, user_id, role, description, create_time, update_time)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &worker.id,
                    &worker.workforce_id,
                    &worker.user_id,
                    &worker.role.code(),
                    &worker.description,
                    &worker.create_time,
                    &worker.update_time,
                ],
            )
            .await
            .map_err(sql("insert worker"))?;
        Ok(())
    }

    async fn get_worker(&self, workforce_id: &str, worker_id: &str) -> Result<WorkerRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id
                     WHERE w.workforce_id = $1 AND w.id = $2"
                ),
                &[&workforce_id, &worker_id],
            )
            .await
            .map_err(sql("get worker"))?
            .ok_or_else(|| Error::from(StoreError::not_found(Entity::Worker, &*worker_id)))?;
        worker_from_row(&row)
    }

    async fn list_workers(&self, project_id: &str, query: &WorkerQuery) -> Result<(u64, Vec<WorkerRecord>)> {
        let mut params = Params::default();
        let mut filter = format!("f.project_id = {}", params.push(project_id.to_string()));
        if let Some(workforce_id) = &query.workforce_id {
            filter += &format!(" AND w.workforce_id = {}", params.push(workforce_id.clone()));
        }
        if let Some(role) = query.role {
            filter += &format!(" AND w.role = {}", params.push(role.code()));
        }
        let from = "workers w JOIN users u ON u.id = w.user_id JOIN workforces f ON f.id = w.workforce_id";
        let direction = if query.ascending { "ASC" } else { "DESC" };
        let key = if query.sort_by_email {
            "u.email COLLATE \"C\""
        } else {
            "w.create_time"
        };
        let count_sql = format!("SELECT count(*) AS total FROM {from} WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(query.offset, query.limit);
        let page_sql = format!(
            "SELECT {WORKER_COLUMNS} FROM {from} WHERE {filter}
             ORDER BY {key} {direction}, w.id COLLATE \"C\" {direction}
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list workers")
            .await?;
        Ok((total, rows.iter().map(worker_from_row).collect::<Result<_>>()?))
    }

    async fn update_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE workers SET role = $1, description = $2, update_time = $3
                 WHERE id = $4 AND workforce_id = $5",
                &[
                    &worker.role.code(),
                    &worker.description,
                    &worker.update_time,
                    &worker.id,
                    &worker.workforce_id,
                ],
            )
            .await
            .map_err(sql("update worker"))?;
        if n == 0 {
            return Err(Error::from(StoreError::not_found(Entity::Worker, &*worker.id)));
        }
        Ok(())
    }

    async fn delete_workers(&self, workforce_id: &str, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "DELETE FROM workers WHERE workforce_id = $1 AND id = ANY($2) RETURNING id",
                &[&workforce_id, &ids],
            )
            .await
            .map_err(sql("delete workers"))?;
        let gone = rows
            .iter()
            .map(|row| col::<String>(row, "id"))
            .collect::<Result<HashSet<_>>>()?;
        // In the order asked, each once.
        Ok(distinct(ids)
            .into_iter()
            .filter(|id| gone.contains(*id))
            .map(str::to_string)
            .collect())
    }

    async fn workers_of_user(&self, user_id: &str) -> Result<Vec<WorkerRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id
                     WHERE w.user_id = $1
                     ORDER BY w.create_time, w.id COLLATE \"C\""
                ),
                &[&user_id],
            )
            .await
            .map_err(sql("workers of user"))?;
        rows.iter().map(worker_from_row).collect()
    }

    async fn worker_has_open_work(&self, worker_id: &str) -> Result<bool> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM task_copies tc JOIN workforce_tasks t ON t.id = tc.task_id
                                WHERE tc.worker_id = $1 AND tc.state <> '__ACCEPTED__' AND t.status <> 3)
                        AS open",
                &[&worker_id],
            )
            .await
            .map_err(sql("worker open work"))?;
        col(&row, "open")
    }
}
