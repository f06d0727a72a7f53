//! Teams (workforces) and their members (workers), written once for both dialects: every
//! statement of `TeamStore` is the same in SQLite and PostgreSQL, so the whole trait is
//! implemented here over `Db` and each backend only names itself (`team_store!`). Must not
//! decide who may manage a team.

use std::collections::HashSet;

use teamlabel_core::error::Result;
use teamlabel_core::store::{Entity, StoreError, WorkerQuery, WorkerRecord, WorkforceQuery, WorkforceRecord};

use super::args;
use super::{decode, direction, Db, Listing, Stmt};

/// A workforce with its member count, over `workforces f`.
pub const WORKFORCE_COLUMNS: &str = "f.id, f.project_id, f.name, f.description, \
     (SELECT COUNT(*) FROM workers w WHERE w.workforce_id = f.id) AS worker_count, \
     f.create_time, f.update_time";

/// A member with the email of its user, over `workers w JOIN users u`.
pub const WORKER_COLUMNS: &str =
    "w.id, w.workforce_id, w.user_id, u.email, w.role, w.description, w.create_time, w.update_time";

pub async fn insert_workforce<D: Db + ?Sized>(db: &D, w: &WorkforceRecord) -> Result<()> {
    let stmt = Stmt::new(
        "INSERT INTO workforces (id, project_id, name, description, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            &w.id,
            &w.project_id,
            &w.name,
            &w.description,
            w.create_time,
            w.update_time
        ],
    );
    db.execute(vec![stmt]).await?;
    Ok(())
}

pub async fn get_workforce<D: Db + ?Sized>(db: &D, project_id: &str, workforce_id: &str) -> Result<WorkforceRecord> {
    let stmt = Stmt::new(
        format!("SELECT {WORKFORCE_COLUMNS} FROM workforces f WHERE f.project_id = $1 AND f.id = $2"),
        args![project_id, workforce_id],
    );
    let found = db.fetch_one(stmt, decode::workforce).await?;
    Ok(found.ok_or_else(|| StoreError::not_found(Entity::Workforce, workforce_id))?)
}

pub async fn list_workforces<D: Db + ?Sized>(
    db: &D,
    project_id: &str,
    query: &WorkforceQuery,
) -> Result<(u64, Vec<WorkforceRecord>)> {
    let mut q = db.query();
    let mut filter = format!("f.project_id = {}", q.text(project_id));
    if let Some(search) = query.search_content.as_deref().filter(|s| !s.is_empty()) {
        filter += &q.contains("f.name", search);
    }
    if let Some(task_id) = &query.task_id {
        filter += &format!(
            " AND EXISTS (SELECT 1 FROM task_workers tw JOIN workers w ON w.id = tw.worker_id
                          WHERE tw.task_id = {} AND w.workforce_id = f.id)",
            q.text(task_id)
        );
    }
    let dir = direction(query.ascending);
    let key = if query.sort_by_name {
        "f.name COLLATE \"C\""
    } else {
        "f.create_time"
    };
    let count = format!("SELECT COUNT(*) FROM workforces f WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {WORKFORCE_COLUMNS} FROM workforces f WHERE {filter}
             ORDER BY {key} {dir}, f.id COLLATE \"C\" {dir} {}",
            q.page(query.offset, query.limit)
        )
    });
    db.fetch_list(list, decode::workforce).await
}

pub async fn update_workforce<D: Db + ?Sized>(db: &D, w: &WorkforceRecord) -> Result<()> {
    let stmt = Stmt::new(
        "UPDATE workforces SET name = $1, description = $2, update_time = $3 WHERE id = $4 AND project_id = $5",
        args![&w.name, &w.description, w.update_time, &w.id, &w.project_id],
    );
    if db.execute(vec![stmt]).await?[0] == 0 {
        return Err(StoreError::not_found(Entity::Workforce, &*w.id).into());
    }
    Ok(())
}

pub async fn delete_workforce<D: Db + ?Sized>(db: &D, project_id: &str, workforce_id: &str) -> Result<()> {
    let stmt = Stmt::new(
        "DELETE FROM workforces WHERE project_id = $1 AND id = $2",
        args![project_id, workforce_id],
    );
    if db.execute(vec![stmt]).await?[0] == 0 {
        return Err(StoreError::not_found(Entity::Workforce, workforce_id).into());
    }
    Ok(())
}

pub async fn insert_worker<D: Db + ?Sized>(db: &D, w: &WorkerRecord) -> Result<()> {
    let stmt = Stmt::new(
        "INSERT INTO workers (id, workforce_id, user_id, role, description, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            &w.id,
            &w.workforce_id,
            &w.user_id,
            w.role.code(),
            &w.description,
            w.create_time,
            w.update_time
        ],
    );
    db.execute(vec![stmt]).await?;
    Ok(())
}

pub async fn get_worker<D: Db + ?Sized>(db: &D, workforce_id: &str, worker_id: &str) -> Result<WorkerRecord> {
    let stmt = Stmt::new(
        format!(
            "SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id
             WHERE w.workforce_id = $1 AND w.id = $2"
        ),
        args![workforce_id, worker_id],
    );
    let found = db.fetch_one(stmt, |r| decode::worker(r, 0)).await?;
    Ok(found.ok_or_else(|| StoreError::not_found(Entity::Worker, worker_id))?)
}

pub async fn list_workers<D: Db + ?Sized>(
    db: &D,
    project_id: &str,
    query: &WorkerQuery,
) -> Result<(u64, Vec<WorkerRecord>)> {
    let mut q = db.query();
    let mut filter = format!("f.project_id = {}", q.text(project_id));
    if let Some(workforce_id) = &query.workforce_id {
        filter += &format!(" AND w.workforce_id = {}", q.text(workforce_id));
    }
    if let Some(role) = query.role {
        filter += &format!(" AND w.role = {}", q.int4(role.code()));
    }
    let from = "workers w JOIN users u ON u.id = w.user_id JOIN workforces f ON f.id = w.workforce_id";
    let dir = direction(query.ascending);
    let key = if query.sort_by_email {
        "u.email COLLATE \"C\""
    } else {
        "w.create_time"
    };
    let count = format!("SELECT COUNT(*) FROM {from} WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {WORKER_COLUMNS} FROM {from} WHERE {filter}
             ORDER BY {key} {dir}, w.id COLLATE \"C\" {dir} {}",
            q.page(query.offset, query.limit)
        )
    });
    db.fetch_list(list, |r| decode::worker(r, 0)).await
}

pub async fn update_worker<D: Db + ?Sized>(db: &D, w: &WorkerRecord) -> Result<()> {
    let stmt = Stmt::new(
        "UPDATE workers SET role = $1, description = $2, update_time = $3 WHERE id = $4 AND workforce_id = $5",
        args![w.role.code(), &w.description, w.update_time, &w.id, &w.workforce_id],
    );
    if db.execute(vec![stmt]).await?[0] == 0 {
        return Err(StoreError::not_found(Entity::Worker, &*w.id).into());
    }
    Ok(())
}

/// Deletes each member once, in one transaction; answers the deleted ids in the order asked.
pub async fn delete_workers<D: Db + ?Sized>(db: &D, workforce_id: &str, ids: &[String]) -> Result<Vec<String>> {
    let mut seen = HashSet::with_capacity(ids.len());
    let ids: Vec<&String> = ids.iter().filter(|id| seen.insert(id.as_str())).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let stmts = ids
        .iter()
        .map(|id| {
            Stmt::new(
                "DELETE FROM workers WHERE workforce_id = $1 AND id = $2",
                args![workforce_id, *id],
            )
        })
        .collect();
    let changed = db.execute(stmts).await?;
    Ok(ids
        .into_iter()
        .zip(changed)
        .filter(|(_, n)| *n > 0)
        .map(|(id, _)| id.clone())
        .collect())
}

pub async fn workers_of_user<D: Db + ?Sized>(db: &D, user_id: &str) -> Result<Vec<WorkerRecord>> {
    let stmt = Stmt::new(
        format!(
            "SELECT {WORKER_COLUMNS} FROM workers w JOIN users u ON u.id = w.user_id
             WHERE w.user_id = $1 ORDER BY w.create_time, w.id COLLATE \"C\""
        ),
        args![user_id],
    );
    db.fetch_all(stmt, |r| decode::worker(r, 0)).await
}

pub async fn worker_has_open_work<D: Db + ?Sized>(db: &D, worker_id: &str) -> Result<bool> {
    let stmt = Stmt::new(
        "SELECT EXISTS (SELECT 1 FROM task_copies tc JOIN workforce_tasks t ON t.id = tc.task_id
                        WHERE tc.worker_id = $1 AND tc.state <> '__ACCEPTED__' AND t.status <> 3)",
        args![worker_id],
    );
    Ok(db.fetch_one(stmt, |r| r.flag(0)).await?.unwrap_or(false))
}

/// Implements `TeamStore` for a backend: the methods written once in this module, then those the
/// backend writes itself (`{ ... }`).
macro_rules! team_store {
    ($store:ty { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::TeamStore for $store {
            async fn insert_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
                $crate::sql::teams::insert_workforce(self, workforce).await
            }
            async fn get_workforce(&self, project_id: &str, workforce_id: &str) -> Result<WorkforceRecord> {
                $crate::sql::teams::get_workforce(self, project_id, workforce_id).await
            }
            async fn list_workforces(&self, project_id: &str, query: &WorkforceQuery) -> Result<(u64, Vec<WorkforceRecord>)> {
                $crate::sql::teams::list_workforces(self, project_id, query).await
            }
            async fn update_workforce(&self, workforce: &WorkforceRecord) -> Result<()> {
                $crate::sql::teams::update_workforce(self, workforce).await
            }
            async fn delete_workforce(&self, project_id: &str, workforce_id: &str) -> Result<()> {
                $crate::sql::teams::delete_workforce(self, project_id, workforce_id).await
            }
            async fn insert_worker(&self, worker: &WorkerRecord) -> Result<()> {
                $crate::sql::teams::insert_worker(self, worker).await
            }
            async fn get_worker(&self, workforce_id: &str, worker_id: &str) -> Result<WorkerRecord> {
                $crate::sql::teams::get_worker(self, workforce_id, worker_id).await
            }
            async fn list_workers(&self, project_id: &str, query: &WorkerQuery) -> Result<(u64, Vec<WorkerRecord>)> {
                $crate::sql::teams::list_workers(self, project_id, query).await
            }
            async fn update_worker(&self, worker: &WorkerRecord) -> Result<()> {
                $crate::sql::teams::update_worker(self, worker).await
            }
            async fn delete_workers(&self, workforce_id: &str, ids: &[String]) -> Result<Vec<String>> {
                $crate::sql::teams::delete_workers(self, workforce_id, ids).await
            }
            async fn workers_of_user(&self, user_id: &str) -> Result<Vec<WorkerRecord>> {
                $crate::sql::teams::workers_of_user(self, user_id).await
            }
            async fn worker_has_open_work(&self, worker_id: &str) -> Result<bool> {
                $crate::sql::teams::worker_has_open_work(self, worker_id).await
            }
            $($own)*
        }
    };
}
pub(crate) use team_store;
