//! Team labeling tasks, written once for both dialects: the task rows, their chosen members,
//! the counts of their copies. Only `start_task` (multi-row `VALUES` in SQLite, `UNNEST` and
//! `generate_series` in PostgreSQL) is written by each backend, with the shared sample filter.
//! Must not decide task states or who may act on a task.

use teamlabel_core::error::Result;
use teamlabel_core::store::{CopyCount, Entity, LabelUsage, StoreError, TaskRecord, WorkerRecord};

use super::args;
use super::teams::WORKER_COLUMNS;
use super::{decode, direction, Db, Listing, Stmt};

/// A task over `workforce_tasks t`.
pub const TASK_COLUMNS: &str = "t.id, t.dataset_id, t.name, t.description, t.status, t.repetition, \
     t.workforces_config, t.sample_conditions, t.synchronize_data, \
     t.synchronize_auto_labeling_data, t.auto_sync_dataset, t.data_sync_type, t.create_time, \
     t.update_time, t.iou_threshold";

/// How many columns `TASK_COLUMNS` has (a row may go on with others after them).
pub const TASK_COLUMN_COUNT: usize = 15;

/// Adds a chosen member to a task, if the task exists.
fn add_worker(task_id: &str, worker_id: &str) -> Stmt {
    Stmt::new(
        "INSERT INTO task_workers (task_id, worker_id)
         SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM workforce_tasks WHERE id = $1)",
        args![task_id, worker_id],
    )
}

pub async fn insert_task<D: Db + ?Sized>(db: &D, t: &TaskRecord, worker_ids: &[String]) -> Result<()> {
    let mut stmts = vec![Stmt::new(
        "INSERT INTO workforce_tasks (id, dataset_id, name, description, status, repetition,
                                      workforces_config, sample_conditions, synchronize_data,
                                      synchronize_auto_labeling_data, auto_sync_dataset,
                                      data_sync_type, create_time, update_time, iou_threshold)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        args![
            &t.id,
            &t.dataset_id,
            &t.name,
            &t.description,
            t.status,
            t.repetition,
            t.workforces_config.clone(),
            t.sample_conditions.clone(),
            t.synchronize_data,
            t.synchronize_auto_labeling_data,
            t.auto_sync_dataset,
            t.data_sync_type,
            t.create_time,
            t.update_time,
            t.iou_threshold
        ],
    )];
    stmts.extend(worker_ids.iter().map(|w| add_worker(&t.id, w)));
    db.execute(stmts).await?;
    Ok(())
}

pub async fn get_task<D: Db + ?Sized>(db: &D, dataset_id: &str, task_id: &str) -> Result<TaskRecord> {
    let stmt = Stmt::new(
        format!("SELECT {TASK_COLUMNS} FROM workforce_tasks t WHERE t.dataset_id = $1 AND t.id = $2"),
        args![dataset_id, task_id],
    );
    let found = db.fetch_one(stmt, decode::task).await?;
    Ok(found.ok_or_else(|| StoreError::not_found(Entity::Task, task_id))?)
}

pub async fn list_tasks<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<TaskRecord>)> {
    let mut q = db.query();
    let filter = format!("t.dataset_id = {}", q.text(dataset_id));
    let count = format!("SELECT COUNT(*) FROM workforce_tasks t WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {TASK_COLUMNS} FROM workforce_tasks t WHERE {filter}
             ORDER BY t.create_time DESC, t.id COLLATE \"C\" DESC {}",
            q.page(offset, limit)
        )
    });
    db.fetch_list(list, decode::task).await
}

pub async fn update_task<D: Db + ?Sized>(db: &D, t: &TaskRecord, worker_ids: Option<&[String]>) -> Result<()> {
    let mut stmts = vec![Stmt::new(
        "UPDATE workforce_tasks SET name = $1, description = $2, status = $3, workforces_config = $4, update_time = $5,
             iou_threshold = $8
         WHERE id = $6 AND dataset_id = $7",
        args![
            &t.name,
            &t.description,
            t.status,
            t.workforces_config.clone(),
            t.update_time,
            &t.id,
            &t.dataset_id,
            t.iou_threshold
        ],
    )];
    if let Some(workers) = worker_ids {
        stmts.push(Stmt::new("DELETE FROM task_workers WHERE task_id = $1", args![&t.id]));
        stmts.extend(workers.iter().map(|w| add_worker(&t.id, w)));
    }
    if db.execute(stmts).await?[0] == 0 {
        return Err(StoreError::not_found(Entity::Task, &*t.id).into());
    }
    Ok(())
}

pub async fn delete_task<D: Db + ?Sized>(db: &D, dataset_id: &str, task_id: &str) -> Result<()> {
    let stmt = Stmt::new(
        "DELETE FROM workforce_tasks WHERE dataset_id = $1 AND id = $2",
        args![dataset_id, task_id],
    );
    if db.execute(vec![stmt]).await?[0] == 0 {
        return Err(StoreError::not_found(Entity::Task, task_id).into());
    }
    Ok(())
}

pub async fn task_workers<D: Db + ?Sized>(db: &D, task_id: &str) -> Result<Vec<WorkerRecord>> {
    let stmt = Stmt::new(
        format!(
            "SELECT {WORKER_COLUMNS} FROM task_workers tw JOIN workers w ON w.id = tw.worker_id
             JOIN users u ON u.id = w.user_id WHERE tw.task_id = $1 ORDER BY w.id COLLATE \"C\""
        ),
        args![task_id],
    );
    db.fetch_all(stmt, |r| decode::worker(r, 0)).await
}

pub async fn list_user_tasks<D: Db + ?Sized>(
    db: &D,
    user_id: &str,
    offset: u64,
    limit: u64,
    ascending: bool,
    sort_by_name: bool,
    search_content: Option<&str>,
) -> Result<(u64, Vec<(TaskRecord, WorkerRecord)>)> {
    let mut q = db.query();
    let mut filter = format!("w.user_id = {}", q.text(user_id));
    if let Some(search) = search_content.filter(|s| !s.is_empty()) {
        filter += &q.contains("t.name", search);
    }
    let from = "task_workers tw JOIN workers w ON w.id = tw.worker_id JOIN users u ON u.id = w.user_id
                JOIN workforce_tasks t ON t.id = tw.task_id";
    let dir = direction(ascending);
    let key = if sort_by_name {
        "t.name COLLATE \"C\""
    } else {
        "t.create_time"
    };
    let count = format!("SELECT COUNT(*) FROM {from} WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {TASK_COLUMNS}, {WORKER_COLUMNS} FROM {from} WHERE {filter}
             ORDER BY {key} {dir}, t.id COLLATE \"C\" {dir}, w.id COLLATE \"C\" {}",
            q.page(offset, limit)
        )
    });
    db.fetch_list(list, |r| Ok((decode::task(r)?, decode::worker(r, TASK_COLUMN_COUNT)?)))
        .await
}

pub async fn task_copy_counts<D: Db + ?Sized>(db: &D, task_id: &str) -> Result<Vec<CopyCount>> {
    let stmt = Stmt::new(
        "SELECT worker_id, state, COUNT(*), review_accept, check_accept FROM task_copies WHERE task_id = $1
         GROUP BY worker_id, state, review_accept, check_accept
         ORDER BY worker_id COLLATE \"C\", state COLLATE \"C\", review_accept NULLS FIRST, check_accept NULLS FIRST",
        args![task_id],
    );
    db.fetch_all(stmt, decode::copy_count).await
}

pub async fn task_sample_count<D: Db + ?Sized>(db: &D, task_id: &str) -> Result<u64> {
    let stmt = Stmt::new(
        "SELECT COUNT(DISTINCT sample_seq) FROM task_copies WHERE task_id = $1",
        args![task_id],
    );
    Ok(db.fetch_one(stmt, |r| r.count(0)).await?.unwrap_or(0))
}

pub async fn task_label_usage<D: Db + ?Sized>(db: &D, task_id: &str) -> Result<Vec<LabelUsage>> {
    let stmt = Stmt::new(
        "SELECT cl.label_id, COUNT(*), COUNT(DISTINCT tc.sample_seq)
         FROM task_copies tc JOIN task_copy_labels cl ON cl.copy_id = tc.id
         WHERE tc.task_id = $1 GROUP BY cl.label_id ORDER BY cl.label_id",
        args![task_id],
    );
    db.fetch_all(stmt, decode::usage).await
}

/// Implements `TaskStore` for a backend: the methods written once in this module, then those the
/// backend writes itself (`{ ... }`).
macro_rules! task_store {
    ($store:ty { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::TaskStore for $store {
            async fn insert_task(&self, task: &TaskRecord, worker_ids: &[String]) -> Result<()> {
                $crate::sql::tasks::insert_task(self, task, worker_ids).await
            }
            async fn get_task(&self, dataset_id: &str, task_id: &str) -> Result<TaskRecord> {
                $crate::sql::tasks::get_task(self, dataset_id, task_id).await
            }
            async fn list_tasks(&self, dataset_id: &str, offset: u64, limit: u64) -> Result<(u64, Vec<TaskRecord>)> {
                $crate::sql::tasks::list_tasks(self, dataset_id, offset, limit).await
            }
            async fn update_task(&self, task: &TaskRecord, worker_ids: Option<&[String]>) -> Result<()> {
                $crate::sql::tasks::update_task(self, task, worker_ids).await
            }
            async fn delete_task(&self, dataset_id: &str, task_id: &str) -> Result<()> {
                $crate::sql::tasks::delete_task(self, dataset_id, task_id).await
            }
            async fn task_workers(&self, task_id: &str) -> Result<Vec<WorkerRecord>> {
                $crate::sql::tasks::task_workers(self, task_id).await
            }
            async fn list_user_tasks(&self, user_id: &str, offset: u64, limit: u64, ascending: bool, sort_by_name: bool, search_content: Option<&str>,) -> Result<(u64, Vec<(TaskRecord, WorkerRecord)>)> {
                $crate::sql::tasks::list_user_tasks(self, user_id, offset, limit, ascending, sort_by_name, search_content).await
            }
            async fn task_copy_counts(&self, task_id: &str) -> Result<Vec<CopyCount>> {
                $crate::sql::tasks::task_copy_counts(self, task_id).await
            }
            async fn task_sample_count(&self, task_id: &str) -> Result<u64> {
                $crate::sql::tasks::task_sample_count(self, task_id).await
            }
            async fn task_label_usage(&self, task_id: &str) -> Result<Vec<LabelUsage>> {
                $crate::sql::tasks::task_label_usage(self, task_id).await
            }
            $($own)*
        }
    };
}
pub(crate) use task_store;
