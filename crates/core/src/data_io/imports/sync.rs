//! Synchronizing a dataset with its data source (`.../sync-data`): a background task that
//! reads the dataset's `data_sources[].data_path` in the object store, adds a sample for every
//! file that is not one yet (with the labels its layout carries, as a directory import reads
//! them), then removes the samples whose object is gone. One sync runs at a time per dataset
//! (`4355`); text datasets refuse it, as the provider's do.
//!
//! The removal walks two ordered streams side by side, a page of each at a time (1,000 samples,
//! 5,000 objects): the samples
//! whose bytes are an object under the path, by name (a directory import names a sample by
//! its key below the path), and the object listing, by key. Both are in byte order, so a
//! sample missing from the listing is found without holding either side in memory. Each
//! removal writes a history row with the labels the sample had (`event` `source_removed`), so
//! what was labeled stays auditable; the copies in team tasks go with the sample, their own
//! history rows stay.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use teamlabel_api::data_io::{CreateImportTaskRequest, SyncStatus};
use teamlabel_api::enums::SampleType;

use crate::app::App;
use crate::clock::now_ms;
use crate::data_io::imports::sources::LIST_PAGE;
use crate::data_io::imports::{check_request, ImportPlan};
use crate::data_io::tasks::{new_task, public_message, update, Progress};
use crate::data_io::PAGE;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::objects::{ObjectMeta, ObjectPath};
use crate::samples::batch::labels_json;
use crate::store::{DataTaskRecord, DatasetRecord, HistoryRecord, HistoryStep, TaskKind};

/// The history event of a sample removed because its object left the data source.
pub const SOURCE_REMOVED: &str = "source_removed";

/// Least time between two writes of a sync's progress while it removes samples (ms).
const PROGRESS_EVERY_MS: i64 = 500;

/// A sync as accepted: the folder it reads and who asked (the actor of the history rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SyncRequest {
    data_path: String,
    user_id: String,
    email: String,
}

impl App {
    /// Starts a sync of the dataset with its data source; answers its state (`RUNNING`).
    pub async fn sync_data(&self, p: &Principal, dataset_id: &str) -> Result<SyncStatus> {
        policy::authorize(p, Op::SyncData, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        if d.dataset_type.default_sample_type() == SampleType::Text {
            return Err(Error::bad_request(
                codes::UNSUPPORTED_OPERATION,
                format!(
                    "Text datasets do not support synchronizing with the data source (dataset type {})",
                    d.dataset_type.code()
                ),
            ));
        }
        let dir = source_dir(&d)?;
        let plan = check_request(
            d.dataset_type,
            &CreateImportTaskRequest {
                import_path: dir.to_string(),
                import_annotations: Some(d.import_annotations),
                ..CreateImportTaskRequest::default()
            },
        )?;
        let request = SyncRequest {
            data_path: dir.to_string(),
            user_id: p.user_id.clone(),
            email: p.email.clone(),
        };
        let task = new_task(&d.id, TaskKind::Sync, 0, "RUNNING", &request)?;
        self.store.insert_data_task(&task).await?;
        let answer = sync_to_api(&d.id, Some(&task));
        let app = self.clone();
        tokio::spawn(async move { app.run_sync(d, task, plan, dir, request).await });
        Ok(answer)
    }

    /// The state of the dataset's latest sync, or `NOT_EXIST`.
    pub async fn get_sync_status(&self, p: &Principal, dataset_id: &str) -> Result<SyncStatus> {
        policy::authorize(p, Op::GetSyncStatus, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let (_, latest) = self.store.list_data_tasks(&d.id, TaskKind::Sync, None, 0, 1).await?;
        Ok(sync_to_api(&d.id, latest.first()))
    }

    async fn run_sync(
        &self,
        d: DatasetRecord,
        task: DataTaskRecord,
        plan: ImportPlan,
        dir: ObjectPath,
        who: SyncRequest,
    ) {
        let (added, mut progress, mut current) = self.import_into(&d, task, &plan, true).await;
        let outcome = match added {
            Ok(()) => self.remove_gone(&d, &dir, &who, &mut current, &mut progress).await,
            Err(e) => Err(e),
        };
        if outcome.is_ok() && progress.imported_sample_count >= super::run::ANALYZE_AFTER {
            if let Err(e) = self.store.refresh_statistics().await {
                tracing::warn!(task = %current.id, error = %e, "statistics were not refreshed after a sync");
            }
        }
        let outcome = match outcome {
            Ok(()) => self.store.sample_counts(std::slice::from_ref(&d.id)).await.map(|c| {
                progress.total_sample_count = c.get(&d.id).map_or(0, |c| c.total);
            }),
            Err(e) => Err(e),
        };
        let mut u = update(&current, "COMPLETED", &progress);
        if let Err(e) = &outcome {
            tracing::warn!(task = %current.id, dataset = %d.id, error = %e, "a sync failed");
            u.status = "FAILED".into();
            u.error_code = Some(
                if e.code == codes::INTERNAL {
                    codes::SYNC_FAILED
                } else {
                    e.code
                }
                .to_string(),
            );
            u.error_msg = Some(public_message(e));
        } else {
            tracing::info!(
                task = %current.id,
                dataset = %d.id,
                added = progress.imported_sample_count,
                removed = progress.deleted_sample_count,
                "a sync finished"
            );
        }
        if let Err(e) = self.end_data_task(&current, u).await {
            tracing::warn!(task = %current.id, error = %e, "the end of a sync was not recorded");
        }
    }

    /// Removes the samples made from objects under `dir` whose object is gone.
    async fn remove_gone(
        &self,
        d: &DatasetRecord,
        dir: &ObjectPath,
        who: &SyncRequest,
        task: &mut DataTaskRecord,
        progress: &mut Progress,
    ) -> Result<()> {
        let prefix = dir.with_header("obs://");
        let mut objects = Listing::new(dir);
        let mut after = String::new();
        let mut saved_at = now_ms();
        loop {
            let page = self.store.source_samples(&d.id, &prefix, &after, PAGE).await?;
            let Some((_, last)) = page.last() else { break };
            after = last.clone();
            let mut gone = Vec::new();
            for (id, name) in &page {
                let key = format!("{}{name}", dir.key());
                if !objects.has(self, &key).await? {
                    gone.push(id.clone());
                }
            }
            if !gone.is_empty() {
                let samples = self.store.load_samples(&d.id, &gone).await?;
                let now = now_ms();
                let removals: Vec<HistoryRecord> = samples
                    .iter()
                    .map(|s| HistoryRecord {
                        id: 0,
                        dataset_id: d.id.clone(),
                        sample_id: s.id.clone(),
                        task_id: None,
                        worker_id: None,
                        actor_user_id: who.user_id.clone(),
                        actor_email: who.email.clone(),
                        change_time: now,
                        state_before: s.status.as_str().to_string(),
                        state_after: "DELETED".into(),
                        labels_before: labels_json(&s.labels),
                        labels_after: "[]".into(),
                        version_after: s.version + 1,
                        copy_id: None,
                        step: HistoryStep {
                            event: SOURCE_REMOVED.into(),
                            comment: Some(format!("{prefix}{} is gone from the data source", s.name)),
                            ..HistoryStep::default()
                        },
                    })
                    .collect();
                progress.deleted_sample_count += self.store.remove_samples(&d.id, &removals).await?;
            }
            if page.len() < PAGE as usize {
                break;
            }
            if now_ms() - saved_at >= PROGRESS_EVERY_MS {
                self.store.update_data_task(&update(task, "RUNNING", progress)).await?;
                saved_at = now_ms();
            }
        }
        Ok(())
    }
}

/// The object listing under a folder, read a page at a time as the keys asked about move on
/// (they must be asked in byte order).
struct Listing {
    dir: ObjectPath,
    page: VecDeque<ObjectMeta>,
    after: Option<String>,
    done: bool,
}

impl Listing {
    fn new(dir: &ObjectPath) -> Self {
        Listing {
            dir: dir.clone(),
            page: VecDeque::new(),
            after: None,
            done: false,
        }
    }

    /// Whether an object of this key is under the folder.
    async fn has(&mut self, app: &App, key: &str) -> Result<bool> {
        loop {
            while let Some(front) = self.page.front() {
                match front.path.key().cmp(key) {
                    std::cmp::Ordering::Less => {
                        self.page.pop_front();
                    }
                    std::cmp::Ordering::Equal => return Ok(true),
                    std::cmp::Ordering::Greater => return Ok(false),
                }
            }
            if self.done {
                return Ok(false);
            }
            let page = app.objects.list(&self.dir, self.after.as_deref(), LIST_PAGE).await?;
            self.done = page.len() < LIST_PAGE;
            if let Some(last) = page.last() {
                self.after = Some(last.path.key().to_string());
            }
            self.page.extend(page);
        }
    }
}

/// The folder a dataset synchronizes with: its first data source's `data_path`.
fn source_dir(d: &DatasetRecord) -> Result<ObjectPath> {
    let path = d.data_sources[0]["data_path"].as_str().ok_or_else(|| {
        Error::bad_request(
            codes::UNSUPPORTED_OPERATION,
            "the dataset has no data source to synchronize with: it was created without data_sources[].data_path",
        )
    })?;
    Ok(ObjectPath::parse("data_sources[0].data_path", path)?.as_dir())
}

fn sync_to_api(dataset_id: &str, t: Option<&DataTaskRecord>) -> SyncStatus {
    let Some(t) = t else {
        return SyncStatus {
            dataset_id: dataset_id.to_string(),
            status: "NOT_EXIST".into(),
            ..SyncStatus::default()
        };
    };
    let p = Progress::from_value(&t.progress);
    let running = t.status == "RUNNING";
    let end = if running { now_ms() } else { t.update_time };
    SyncStatus {
        task_id: Some(t.id.clone()),
        dataset_id: t.dataset_id.clone(),
        status: t.status.clone(),
        add_sample_count: Some(p.imported_sample_count),
        deleted_sample_count: Some(p.deleted_sample_count),
        total_sample_count: (t.status == "COMPLETED").then_some(p.total_sample_count),
        skipped_sample_count: Some(p.skipped_sample_count),
        create_time: Some(t.create_time),
        duration_time: Some((end - t.create_time).max(0)),
        error_code: t.error_code.clone(),
        error_msg: t.error_msg.clone(),
        issue_count: Some(p.issue_count),
        issues: p.issues,
    }
}
