//! Team labeling tasks, written once for both dialects: the task rows, their chosen members,
//! the counts of their copies, and the feed that hands samples added after a start to a task
//! with `synchronize_data` (`Feed`: read and advanced here, run inside each backend's sample
//! insert). Only `start_task` (multi-row `VALUES` in SQLite, `UNNEST` and `generate_series` in
//! PostgreSQL) is written by each backend, with the shared sample filter. Must not decide who
//! may act on a task; the one state change it makes is the feed's (an accepted task that takes
//! new samples runs again).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use teamlabel_core::error::Result;
use teamlabel_core::store::{CopyCount, Entity, LabelUsage, SampleQuery, StoreError, TaskRecord, WorkerRecord};
use teamlabel_core::team::task_states::status;

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
        "SELECT cl.label_id, CAST(SUM(cl.n) AS BIGINT), COUNT(DISTINCT tc.sample_seq)
         FROM task_copies tc JOIN task_copy_label_ids cl ON cl.copy_id = tc.id
         JOIN labels l ON l.id = cl.label_id
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

/// The tasks with `synchronize_data` of a dataset, as a sample insert reads them to hand them
/// the new samples. PostgreSQL locks them (in id order, `FOR NO KEY UPDATE` appended) for the
/// rest of the transaction, also those not started: a start waits for the insert, or the
/// insert for the start, so a new sample is never missed by both.
pub const FEED_TASKS_SQL: &str = "SELECT id, status, repetition, feed_labelers, feed_filter, feed_next \
     FROM workforce_tasks WHERE dataset_id = $1 AND synchronize_data ORDER BY id";

/// Moves a task's next assignment position on, and its status (a task all of whose samples
/// were accepted runs again when new ones arrive).
pub const FEED_ADVANCE_SQL: &str =
    "UPDATE workforce_tasks SET feed_next = $1, status = $2, update_time = $3 WHERE id = $4";

/// A started task that takes new samples: where the next one goes and to whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub task_id: String,
    pub status: i32,
    pub repetition: u32,
    /// Labelers in assignment order.
    pub labelers: Vec<String>,
    /// The sample filter the task was started with.
    pub filter: SampleQuery,
    /// The assignment position of the next new sample.
    pub next: i64,
}

/// The stored form of a task's start filter (`feed_filter`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct FeedFilter {
    label_groups: Vec<Vec<i64>>,
    name: Option<String>,
}

/// `feed_labelers` and `feed_filter` of a task started with `labelers` and `samples`.
pub fn feed_columns(labelers: &[String], samples: &SampleQuery) -> (Value, Value) {
    let filter = FeedFilter {
        label_groups: samples.label_groups.clone(),
        name: samples.name.clone(),
    };
    (json!(labelers), serde_json::to_value(filter).unwrap_or(Value::Null))
}

pub fn feed(r: &dyn decode::Cells) -> std::result::Result<Feed, StoreError> {
    let labelers: Vec<String> = match r.opt_json(3)? {
        Some(v) => serde_json::from_value(v).map_err(|_| r.bad("feed_labelers"))?,
        None => Vec::new(),
    };
    let filter: FeedFilter = match r.opt_json(4)? {
        Some(v) => serde_json::from_value(v).map_err(|_| r.bad("feed_filter"))?,
        None => FeedFilter::default(),
    };
    Ok(Feed {
        task_id: r.text(0)?,
        status: r.int4(1)?,
        repetition: u32::try_from(r.int4(2)?).map_err(|_| r.bad("repetition"))?,
        labelers,
        filter: SampleQuery {
            label_groups: filter.label_groups,
            name: filter.name,
            ..SampleQuery::default()
        },
        next: r.int(5)?,
    })
}

impl Feed {
    /// Whether the task takes new samples now: started, and not being started.
    pub fn takes_samples(&self) -> bool {
        self.status != status::CREATED && self.status != status::STARTING && !self.labelers.is_empty()
    }

    /// The copies of `chosen` (sample seqs in insertion order, those matching the filter):
    /// sample `next + i` goes to labelers `((next + i) * repetition + k) mod n` for `k` in
    /// `0..repetition`, as at the start; labelers no longer members of the task (`members`) are
    /// passed over. Answers the copies and the task's status and position afterwards.
    pub fn assign(&self, chosen: &[i64], members: &HashSet<String>) -> (Vec<(i64, String)>, i32, i64) {
        let n = self.labelers.len() as i64;
        let rep = i64::from(self.repetition).min(n);
        let mut copies = Vec::with_capacity(chosen.len() * rep as usize);
        for (at, &seq) in chosen.iter().enumerate() {
            let i = self.next + at as i64;
            for k in 0..rep {
                let worker = &self.labelers[((i * rep + k) % n) as usize];
                if members.contains(worker) {
                    copies.push((seq, worker.clone()));
                }
            }
        }
        let status = if !chosen.is_empty() && self.status == status::ACCEPTED {
            status::RUNNING
        } else {
            self.status
        };
        (copies, status, self.next + chosen.len() as i64)
    }
}

#[cfg(test)]
mod feed_tests {
    use super::*;

    fn feed(next: i64, repetition: u32, status: i32) -> Feed {
        Feed {
            task_id: "t".into(),
            status,
            repetition,
            labelers: vec!["a".into(), "b".into(), "c".into()],
            filter: SampleQuery::default(),
            next,
        }
    }

    #[test]
    fn new_samples_continue_the_round_robin_of_the_start() {
        let all: HashSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        // Four samples assigned at the start (a b c a); the next goes to b.
        let (copies, status, next) = feed(4, 1, status::RUNNING).assign(&[10, 11], &all);
        assert_eq!(copies, vec![(10, "b".into()), (11, "c".into())]);
        assert_eq!((status, next), (status::RUNNING, 6));
        // Repetition 2: sample 1 goes to labelers 2 and 0.
        let (copies, _, _) = feed(1, 2, status::RUNNING).assign(&[7], &all);
        assert_eq!(copies, vec![(7, "c".into()), (7, "a".into())]);
    }

    #[test]
    fn a_labeler_who_left_is_passed_over_and_an_accepted_task_runs_again() {
        let some: HashSet<String> = ["a", "c"].iter().map(|s| s.to_string()).collect();
        let (copies, status, next) = feed(0, 1, status::ACCEPTED).assign(&[1, 2, 3], &some);
        assert_eq!(copies, vec![(1, "a".into()), (3, "c".into())]);
        assert_eq!((status, next), (status::RUNNING, 3));
        let (_, status, _) = feed(0, 1, status::ACCEPTED).assign(&[], &some);
        assert_eq!(status, status::ACCEPTED);
        assert!(!feed(0, 1, status::CREATED).takes_samples());
    }
}
