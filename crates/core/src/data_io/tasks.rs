//! What import and export tasks share: their progress (counters and the issues met), the
//! write of a status change, and the restart rule. A server that stops while a task or a
//! version publishing runs leaves it unfinished in the store; such work is marked failed with
//! the reason and what it had done, never reported as done: at start on SQLite (one server
//! owns the file, so nothing else can be running it), and on PostgreSQL, where several servers
//! share the database, once it has not moved for [`STALE_MS`] (a running task writes its
//! progress after every page). An import started again skips the samples already imported
//! (their names are taken), so it resumes where the failed one stopped.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use teamlabel_api::data_io::{ListTasksQuery, TaskIssue};

use crate::app::App;
use crate::clock::now_ms;
use crate::data_io::MAX_LISTED_ISSUES;
use crate::error::{codes, Error, Result};
use crate::ids::new_alnum19;
use crate::query::{parse_page, parse_u64};
use crate::store::{version_status, DataTaskRecord, DataTaskUpdate, TaskKind, VersionDone};

/// The counters of a task and the issues it met, kept as the task's `progress`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    pub total_sample_count: u64,
    pub processed_sample_count: u64,
    pub imported_sample_count: u64,
    pub annotated_sample_count: u64,
    pub skipped_sample_count: u64,
    pub imported_label_count: u64,
    pub created_label_count: u64,
    pub total_file_count: u64,
    pub finished_file_count: u64,
    pub total_file_size: u64,
    pub finished_file_size: u64,
    pub finished_sample_count: u64,
    pub dropped_label_count: u64,
    pub converted_label_count: u64,
    /// Samples a sync removed because their object is gone.
    pub deleted_sample_count: u64,
    pub report_path: Option<String>,
    pub new_dataset_id: Option<String>,
    pub issues: Vec<TaskIssue>,
    pub issue_count: u64,
}

impl Progress {
    pub fn from_value(v: &Value) -> Self {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }

    /// Counts an issue, and lists it while fewer than `MAX_LISTED_ISSUES` are listed.
    pub fn issue(&mut self, issue: TaskIssue) {
        self.issue_count += 1;
        if self.issues.len() < MAX_LISTED_ISSUES {
            self.issues.push(issue);
        }
    }
}

/// A task's status change from the state it was read in.
pub(crate) fn update(task: &DataTaskRecord, status: &str, progress: &Progress) -> DataTaskUpdate {
    DataTaskUpdate {
        id: task.id.clone(),
        from: vec![task.status.clone()],
        status: status.into(),
        progress: progress.to_value(),
        cursor: task.cursor.clone(),
        error_code: None,
        error_msg: None,
        update_time: now_ms(),
        event: None,
    }
}

impl App {
    /// Records the end of a task (`u` in a final status) with its `import.finished`,
    /// `export.finished` or `sync.finished` event, handed to the outbox in the same write.
    pub(crate) async fn end_data_task(&self, task: &DataTaskRecord, mut u: DataTaskUpdate) -> Result<()> {
        u.event = Some(crate::webhooks::data_task_finished(task, &u));
        self.store.update_data_task(&u).await?;
        self.webhooks.wake();
        Ok(())
    }
}

/// A new task of a dataset, in `status`, with its accepted request and no progress yet.
pub(crate) fn new_task(
    dataset_id: &str,
    kind: TaskKind,
    subtype: i32,
    status: &str,
    request: &impl Serialize,
) -> Result<DataTaskRecord> {
    let now = now_ms();
    Ok(DataTaskRecord {
        id: new_alnum19(),
        dataset_id: dataset_id.to_string(),
        kind,
        subtype,
        status: status.into(),
        request: serde_json::to_value(request).map_err(|e| Error::internal(e.to_string()))?,
        progress: Progress::default().to_value(),
        cursor: None,
        error_code: None,
        error_msg: None,
        create_time: now,
        update_time: now,
    })
}

/// The `offset` (rows) and `limit` (1 to 100, default 10) of a task list.
pub(crate) fn task_page(q: &ListTasksQuery) -> Result<(u64, u64)> {
    let page = parse_page(None, q.limit.as_deref(), 10, 100)?;
    let offset = match q.offset.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => parse_u64("offset", s, 0, u64::MAX / 2)?,
        None => 0,
    };
    Ok((offset, page.limit))
}

/// How long an unfinished task or version may stand still before another server takes it
/// for dead.
pub const STALE_MS: i64 = 5 * 60 * 1000;

/// The text of an error that may be shown: internal faults are not.
pub(crate) fn public_message(e: &Error) -> String {
    if e.code == codes::INTERNAL {
        "an internal error occurred; the server log has the details".into()
    } else {
        e.message.clone()
    }
}

impl App {
    /// Marks every version and task left unfinished and last changed before `stale_before`
    /// (ms) as failed; answers how many versions and tasks it failed.
    pub async fn recover_data_io(&self, stale_before: i64) -> Result<(usize, usize)> {
        let mut versions = self.store.unfinished_versions().await?;
        versions.retain(|v| v.update_time < stale_before);
        for v in &versions {
            self.store
                .finish_version(&VersionDone {
                    dataset_id: v.dataset_id.clone(),
                    id: v.id.clone(),
                    status: version_status::ERROR,
                    total_sample_count: 0,
                    annotated_sample_count: 0,
                    label_stats: json!({"labels": []}),
                    message: Some(format!(
                        "{}: the server stopped while the version was published; create it again",
                        codes::VERSION_PUBLISH_FAILED
                    )),
                    update_time: now_ms(),
                })
                .await?;
        }
        let mut tasks = self.store.unfinished_data_tasks().await?;
        tasks.retain(|t| t.update_time < stale_before);
        for t in &tasks {
            let progress = Progress::from_value(&t.progress);
            let (code, message) = match t.kind {
                TaskKind::Import => (
                    codes::IMPORT_FAILED,
                    format!(
                        "the server stopped during the import after {} of {} samples ({} imported); \
                         create the import again to import the rest: samples already imported are skipped",
                        progress.processed_sample_count, progress.total_sample_count, progress.imported_sample_count
                    ),
                ),
                TaskKind::Export => (
                    codes::EXPORT_FAILED,
                    format!(
                        "the server stopped during the export after {} of {} samples; the files written are incomplete, export again",
                        progress.finished_sample_count, progress.total_sample_count
                    ),
                ),
                TaskKind::Sync => (
                    codes::SYNC_FAILED,
                    format!(
                        "the server stopped during the sync after adding {} and removing {} samples; \
                         synchronize again to finish: samples already added are not added twice",
                        progress.imported_sample_count, progress.deleted_sample_count
                    ),
                ),
            };
            let mut u = update(t, "FAILED", &progress);
            u.error_code = Some(code.into());
            u.error_msg = Some(message);
            self.end_data_task(t, u).await?;
        }
        Ok((versions.len(), tasks.len()))
    }
}
