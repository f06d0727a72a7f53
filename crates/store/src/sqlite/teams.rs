//! DOC

use super::*;

#[async_trait]
impl TeamStore for SqliteStore {
    async fn insert_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
        let w = workforce.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO workforces (id, project_id, name, description, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![w.id, w.project_id, w.name, w.description, w.create_time, w.update_time],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_workforce(&self, project_id: &str, workforce_id: &str) -> Result<WorkforceRecord> {
        let (p, id) = (project_id.to_string(), workforce_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row(
                        "SELECT f.id, f.project_id, f.name, f.description, (SELECT COUNT(*) FROM workers w WHERE w.workforce_id = f.id), f.create_time, f.update_time
                         FROM workforces f WHERE f.project_id = ?1 AND f.id = ?2",
                        params![p, id],
                        workforce_from_row,
                    )
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| Error::from(StoreError::not_found(Entity::Workforce, &*id)))
    }

    async fn list_workforces(&self, project_id: &str, query: &WorkforceQuery) -> Result<(u64, Vec<WorkforceRecord>)> {
        let (p, q) = (project_id.to_string(), query.clone());
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(p)];
            let mut filter = String::from("f.project_id = ?1");
            if let Some(s) = &q.search_content {
                let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                args.push(Box::new(format!("%{escaped}%")));
                filter.push_str(&format!(" AND f.name LIKE ?{} ESCAPE '\\'", args.len()));
            }
            if let Some(t) = &q.task_id {
                args.push(Box::new(t.clone()));
                filter.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM task_workers tw JOIN workers w ON w.id = tw.worker_id WHERE tw.task_id = ?{} AND w.workforce_id = f.id)",
                    args.len()
                ));
            }
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM workforces f WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let key = if q.sort_by_name { "f.name" } else { "f.create_time" };
            let sql = format!(
                "SELECT f.id, f.project_id, f.name, f.description, (SELECT COUNT(*) FROM workers w WHERE w.workforce_id = f.id), f.create_time, f.update_time
                 FROM workforces f WHERE {filter} ORDER BY {key} {dir}, f.id {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), workforce_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn update_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
        let w = workforce.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE workforces SET name = ?1, description = ?2, update_time = ?3 WHERE id = ?4 AND project_id = ?5",
                    params![w.name, w.description, w.update_time, w.id, w.project_id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::from(StoreError::not_found(Entity::Workforce, &*w.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_workforce(&self, project_id: &str, workforce_id: &str) -> Result<()> {
        let (p, id) = (project_id.to_string(), workforce_id.to_string());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM workforces WHERE project_id = ?1 AND id = ?2",
                    params![p, id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::from(StoreError::not_found(Entity::Workforce, &*id)));
            }
            Ok(())
        })
        .await
    }

    async fn insert_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let w = worker.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO workers (id, workforce_id, user_id, role, description, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![w.id, w.workforce_id, w.user_id, w.role.code(), w.description, w.create_time, w.update_time],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_worker(&self, workforce_id: &str, worker_id: &str) -> Result<WorkerRecord> {
        let (f, id) = (workforce_id.to_string(), worker_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row(
                        &format!("SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id WHERE w.workforce_id = ?1 AND w.id = ?2"),
                        params![f, id],
                        worker_from_row,
                    )
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| Error::from(StoreError::not_found(Entity::Worker, &*id)))
    }

    async fn list_workers(&self, project_id: &str, query: &WorkerQuery) -> Result<(u64, Vec<WorkerRecord>)> {
        let (p, q) = (project_id.to_string(), query.clone());
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(p)];
            let mut filter = String::from("f.project_id = ?1");
            if let Some(f) = &q.workforce_id {
                args.push(Box::new(f.clone()));
                filter.push_str(&format!(" AND w.workforce_id = ?{}", args.len()));
            }
            if let Some(r) = q.role {
                filter.push_str(&format!(" AND w.role = {}", r.code()));
            }
            let from = "workers w JOIN users u ON u.id = w.user_id JOIN workforces f ON f.id = w.workforce_id";
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {from} WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let key = if q.sort_by_email { "u.email" } else { "w.create_time" };
            let sql = format!(
                "SELECT {WORKER_COLUMNS} FROM {from} WHERE {filter} ORDER BY {key} {dir}, w.id {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), worker_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn update_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let w = worker.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE workers SET role = ?1, description = ?2, update_time = ?3 WHERE id = ?4 AND workforce_id = ?5",
                    params![w.role.code(), w.description, w.update_time, w.id, w.workforce_id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::from(StoreError::not_found(Entity::Worker, &*w.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_workers(&self, workforce_id: &str, ids: &[String]) -> Result<Vec<String>> {
        let (f, ids) = (workforce_id.to_string(), ids.to_vec());
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached("DELETE FROM workers WHERE workforce_id = ?1 AND id = ?2")
                .map_err(db_err)?;
            let mut deleted = Vec::new();
            for id in ids {
                if stmt.execute(params![f, id]).map_err(db_err)? > 0 {
                    deleted.push(id);
                }
            }
            Ok(deleted)
        })
        .await
    }

    async fn workers_of_user(&self, user_id: &str) -> Result<Vec<WorkerRecord>> {
        let u = user_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id WHERE w.user_id = ?1 ORDER BY w.create_time, w.id"
            ))?;
            let rows = stmt.query_map([u], worker_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn worker_has_open_work(&self, worker_id: &str) -> Result<bool> {
        let w = worker_id.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM task_copies tc JOIN workforce_tasks t ON t.id = tc.task_id
                                WHERE tc.worker_id = ?1 AND tc.state <> '__ACCEPTED__' AND t.status <> 3)",
                [w],
                |r| r.get(0),
            )
        })
        .await
    }
}
