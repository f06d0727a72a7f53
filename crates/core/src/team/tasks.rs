//! Team labeling tasks: create with the teams and members who work on
//! it, start (which assigns the chosen samples to labelers deterministically and evenly, each to
//! `repetition` distinct labelers), update, delete, and the statistics read from stored state.
//! A task with `synchronize_data` also takes the samples added after its start (by upload,
//! import or sync): the store assigns them in the transaction that adds them, continuing the
//! start's round robin (`TaskStore::start_task`).
//! It must not write a member's labels: `team::task_labels` does.

use serde_json::Value;
use teamlabel_api::datasets::LabelStats;
use teamlabel_api::team::tasks::{
    CreateWorkforceTaskRequest, CreateWorkforceTaskResponse, GetWorkforceTaskQuery, ListWorkforceTasksQuery,
    ListWorkforceTasksResponse, StartWorkforceTaskRequest, UpdateWorkforceTaskRequest, WorkforceStats, WorkforceTask,
};
use teamlabel_api::team::workforces::Empty;

use crate::app::App;
use crate::clock::now_ms;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{Principal, Role};
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::ids::{is_plausible_id, new_alnum19};
use crate::query::{parse_bool, parse_page};
use crate::samples::search::parse_search_conditions;
use crate::store::{CopyCount, SampleQuery, TaskRecord, WorkerRecord};
use crate::team::consensus::DEFAULT_IOU_THRESHOLD;
use crate::team::task_members::check_staffing;
use crate::team::task_states::{status, task_not_found};
use crate::team::task_stats::{sample_stats, worker_task};
use crate::text::{check_description, check_name};

/// Whether a new task hands samples added after its start to its labelers: `data_sync_type`
/// (0 none, 1 data, 2 labels, 3 data and labels) when given, else `synchronize_data`. Pushing
/// auto-labeling results to members (`synchronize_auto_labeling_data`, `data_sync_type` 2 or
/// 3) is refused: this server has no auto-labeling to push.
fn check_sync(synchronize_data: Option<bool>, auto_labeling: Option<bool>, sync_type: Option<i64>) -> Result<bool> {
    if auto_labeling == Some(true) {
        return Err(Error::invalid(
            "synchronize_auto_labeling_data must be false: there are no auto-labeling results to push to members",
        ));
    }
    match sync_type {
        None => Ok(synchronize_data.unwrap_or(false)),
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(t @ (2 | 3)) => Err(Error::invalid(format!(
            "data_sync_type {t} synchronizes labels (auto-labeling results), which this server does not have; use 1 (data) or 0 (none)"
        ))),
        Some(t) => Err(Error::invalid(format!(
            "data_sync_type must be 0 (none), 1 (data), 2 (labels) or 3 (data and labels), got {t}"
        ))),
    }
}

/// The IoU from which two boxes count as the same object: in (0, 1].
fn check_iou_threshold(value: Option<f64>) -> Result<Option<f64>> {
    match value {
        Some(v) if !(v > 0.0 && v <= 1.0) => Err(Error::invalid(format!(
            "iou_threshold must be greater than 0 and at most 1, got {v}"
        ))),
        other => Ok(other),
    }
}

fn check_path_duplicates(
    dataset_id: &str,
    task_id: &str,
    body_dataset: Option<&str>,
    body_task: Option<&str>,
) -> Result<()> {
    if body_dataset.is_some_and(|d| d != dataset_id) {
        return Err(Error::invalid("dataset_id in the body does not match the path"));
    }
    if body_task.is_some_and(|t| t != task_id) {
        return Err(Error::invalid("task_id in the body does not match the path"));
    }
    Ok(())
}

impl App {
    /// Loads a task of a dataset of the caller's project.
    pub async fn load_task(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
    ) -> Result<(crate::store::DatasetRecord, TaskRecord)> {
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        if !is_plausible_id(task_id) {
            return Err(task_not_found(task_id));
        }
        let task = self.store.get_task(dataset_id, task_id).await?;
        Ok((dataset, task))
    }

    pub async fn create_workforce_task(
        &self,
        p: &Principal,
        dataset_id: &str,
        req: &CreateWorkforceTaskRequest,
    ) -> Result<CreateWorkforceTaskResponse> {
        policy::authorize(p, Op::CreateWorkforceTask, &Standing::project(p))?;
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let name = req
            .task_name
            .as_deref()
            .ok_or_else(|| Error::invalid("task_name is required"))?;
        check_name("task_name", name, 1, 64)?;
        let description = req.description.clone().unwrap_or_default();
        check_description("description", &description)?;
        let synchronize_data = check_sync(
            req.synchronize_data,
            req.synchronize_auto_labeling_data,
            req.data_sync_type,
        )?;
        let labels = self.store.list_labels(dataset_id).await?;
        if labels.is_empty() {
            return Err(Error::bad_request(
                codes::LABELS_NOT_SET,
                "Dataset labels not set: add labels before creating a team task",
            ));
        }
        let conditions = match req.sample_conditions.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(raw) => {
                parse_search_conditions(raw, &labels).map_err(|e| Error {
                    message: format!("sample_conditions: {}", e.message),
                    ..e
                })?;
                Some(serde_json::from_str::<Value>(raw).unwrap_or(Value::Null))
            }
            None => None,
        };
        let config = req
            .workforces_config
            .clone()
            .ok_or_else(|| Error::invalid("workforces_config is required: the teams and members who label"))?;
        let (members, answered) = self.resolve_members(p, &config).await?;
        let repetition = check_staffing(req.repetition, &members)?;
        let now = now_ms();
        let task = TaskRecord {
            id: new_alnum19(),
            dataset_id: dataset.id.clone(),
            name: name.to_string(),
            description,
            status: status::CREATED,
            repetition,
            workforces_config: answered,
            sample_conditions: conditions,
            synchronize_data,
            synchronize_auto_labeling_data: false,
            auto_sync_dataset: req.auto_sync_dataset.unwrap_or(true),
            data_sync_type: req.data_sync_type.map(|t| t as i32),
            create_time: now,
            update_time: now,
            iou_threshold: check_iou_threshold(req.iou_threshold)?.unwrap_or(DEFAULT_IOU_THRESHOLD),
        };
        let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
        self.store.insert_task(&task, &ids).await?;
        Ok(CreateWorkforceTaskResponse { task_id: task.id })
    }

    pub(crate) async fn task_view(
        &self,
        task: &TaskRecord,
        members: &[WorkerRecord],
        with_workers: bool,
        with_labels: bool,
        dataset_type: Option<i32>,
    ) -> Result<WorkforceTask> {
        let counts = self.store.task_copy_counts(&task.id).await?;
        let total = self.store.task_sample_count(&task.id).await?;
        let all: Vec<&CopyCount> = counts.iter().collect();
        let teams: std::collections::HashSet<&str> = members.iter().map(|m| m.workforce_id.as_str()).collect();
        let worker_stats = if with_workers {
            Some(
                members
                    .iter()
                    .map(|m| {
                        let mine: Vec<&CopyCount> = counts.iter().filter(|c| c.worker_id == m.id).collect();
                        let total = mine.iter().map(|c| c.count).sum();
                        worker_task(task, m, sample_stats(&mine, total), dataset_type)
                    })
                    .collect(),
            )
        } else {
            None
        };
        let label_stats = if with_labels {
            let labels = self.store.list_labels(&task.dataset_id).await?;
            let usage = self.store.task_label_usage(&task.id).await?;
            Some(
                labels
                    .iter()
                    .map(|l| {
                        let u = usage.iter().find(|u| u.label_id == l.id);
                        LabelStats::new(l.to_api(), u.map_or(0, |u| u.count), u.map_or(0, |u| u.sample_count))
                    })
                    .collect(),
            )
        } else {
            None
        };
        Ok(WorkforceTask {
            task_id: task.id.clone(),
            task_name: task.name.clone(),
            description: task.description.clone(),
            dataset_id: task.dataset_id.clone(),
            status: task.status,
            repetition: task.repetition,
            iou_threshold: task.iou_threshold,
            workforces_config: serde_json::from_value(task.workforces_config.clone()).unwrap_or_default(),
            synchronize_data: task.synchronize_data,
            synchronize_auto_labeling_data: task.synchronize_auto_labeling_data,
            auto_sync_dataset: task.auto_sync_dataset,
            sample_search_conditions: task.sample_conditions.clone(),
            sample_stats: sample_stats(&all, total),
            workforce_stats: WorkforceStats {
                workforce_count: teams.len() as u64,
                labeler_count: members.iter().filter(|m| m.role == Role::Labeler).count() as u64,
                reviewer_count: members.iter().filter(|m| m.role == Role::Reviewer).count() as u64,
            },
            label_stats,
            worker_stats,
            create_time: task.create_time,
            update_time: task.update_time,
        })
    }

    pub async fn list_workforce_tasks(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &ListWorkforceTasksQuery,
    ) -> Result<ListWorkforceTasksResponse> {
        policy::authorize(p, Op::ListWorkforceTasks, &Standing::project(p))?;
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 1000, 1000)?;
        let (count, tasks) = self.store.list_tasks(dataset_id, page.offset, page.limit).await?;
        let mut out = Vec::with_capacity(tasks.len());
        for t in &tasks {
            let members = self.store.task_workers(&t.id).await?;
            let role = TaskRole::of(p, &members);
            // Members see the tasks they are in, once started; owners and managers see all.
            if role.manages() || (role.is_member() && t.status != status::CREATED) {
                out.push(
                    self.task_view(t, &members, false, false, Some(dataset.dataset_type.code()))
                        .await?,
                );
            }
        }
        let count = if p.role == Role::Owner { count } else { out.len() as u64 };
        Ok(ListWorkforceTasksResponse { count, tasks: out })
    }

    pub async fn get_workforce_task(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        q: &GetWorkforceTaskQuery,
    ) -> Result<WorkforceTask> {
        let (dataset, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        let role = TaskRole::of(p, &members);
        policy::authorize(p, Op::GetWorkforceTask, &Standing::task(&role))?;
        // Members other than managers see a task once it has started.
        if !role.manages() && task.status == status::CREATED {
            return Err(task_not_found(task_id));
        }
        let with_labels = parse_bool("label_stats", q.label_stats.as_deref(), false)?;
        parse_bool("sample_stats", q.sample_stats.as_deref(), true)?;
        parse_bool("workforce_stats", q.workforce_stats.as_deref(), true)?;
        self.task_view(&task, &members, true, with_labels, Some(dataset.dataset_type.code()))
            .await
    }

    pub async fn start_workforce_task(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        req: &StartWorkforceTaskRequest,
    ) -> Result<Empty> {
        let (_, mut task) = self.load_task(p, dataset_id, task_id).await?;
        let mut members = self.store.task_workers(&task.id).await?;
        policy::authorize(p, Op::StartWorkforceTask, &Standing::task(&TaskRole::of(p, &members)))?;
        check_path_duplicates(dataset_id, task_id, req.dataset_id.as_deref(), req.task_id.as_deref())?;
        if task.status != status::CREATED {
            return Err(Error::bad_request(
                codes::TASK_START_FAILED,
                format!(
                    "Failed to start the team labeling task: it is in status {}, not 6 (created)",
                    task.status
                ),
            ));
        }
        if let Some(config) = &req.workforces_config {
            let (chosen, answered) = self.resolve_members(p, config).await?;
            check_staffing(Some(task.repetition as i64), &chosen)?;
            task.workforces_config = answered;
            task.update_time = now_ms();
            let ids: Vec<String> = chosen.iter().map(|m| m.id.clone()).collect();
            self.store.update_task(&task, Some(&ids)).await?;
            members = chosen;
        }
        let mut query = SampleQuery::default();
        if let Some(raw) = &task.sample_conditions {
            let labels = self.store.list_labels(dataset_id).await?;
            parse_search_conditions(&raw.to_string(), &labels)?.apply_to(&mut query);
        }
        // Labelers in the order the task's configuration names them, so the assignment is
        // predictable from the request: sample i goes to labeler (i * repetition + k) mod n.
        let configured: Vec<String> = task.workforces_config["workforces"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|team| team["workers"].as_array().cloned().unwrap_or_default())
            .filter_map(|w| w["worker_id"].as_str().map(str::to_string))
            .collect();
        let mut labelers: Vec<String> = configured
            .into_iter()
            .filter(|id| members.iter().any(|m| &m.id == id && m.role == Role::Labeler))
            .collect();
        for m in members.iter().filter(|m| m.role == Role::Labeler) {
            if !labelers.contains(&m.id) {
                labelers.push(m.id.clone());
            }
        }
        let assigned = self
            .store
            .start_task(
                &task.id,
                dataset_id,
                &query,
                &labelers,
                task.repetition as u32,
                status::RUNNING,
                now_ms(),
            )
            .await?;
        tracing::info!(task = %task.id, samples = assigned, labelers = labelers.len(), "team task started");
        Ok(Empty {})
    }

    pub async fn update_workforce_task(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        req: &UpdateWorkforceTaskRequest,
    ) -> Result<Empty> {
        let (_, mut task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(p, Op::UpdateWorkforceTask, &Standing::task(&TaskRole::of(p, &members)))?;
        check_path_duplicates(dataset_id, task_id, req.dataset_id.as_deref(), req.task_id.as_deref())?;
        if let Some(name) = &req.task_name {
            check_name("task_name", name, 1, 64)?;
            task.name = name.clone();
        }
        if let Some(d) = &req.description {
            check_description("description", d)?;
            task.description = d.clone();
        }
        if let Some(iou) = check_iou_threshold(req.iou_threshold)? {
            task.iou_threshold = iou;
        }
        let mut new_members = None;
        if let Some(config) = &req.workforces_config {
            if task.status != status::CREATED {
                return Err(Error::invalid(
                    "workforces_config can only change before the task starts: its samples are assigned already",
                ));
            }
            let (chosen, answered) = self.resolve_members(p, config).await?;
            check_staffing(Some(task.repetition as i64), &chosen)?;
            task.workforces_config = answered;
            new_members = Some(chosen.iter().map(|m| m.id.clone()).collect::<Vec<_>>());
        }
        task.update_time = now_ms();
        self.store.update_task(&task, new_members.as_deref()).await?;
        Ok(Empty {})
    }

    pub async fn delete_workforce_task(&self, p: &Principal, dataset_id: &str, task_id: &str) -> Result<()> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(p, Op::DeleteWorkforceTask, &Standing::task(&TaskRole::of(p, &members)))?;
        if task.status == status::ACCEPTING {
            return Err(Error::bad_request(
                codes::TASK_CHECKING,
                "Workforce task is checking: close or cancel its acceptance round (PUT .../acceptance/status, action 2 cancels) before deleting it",
            ));
        }
        self.store.delete_task(dataset_id, task_id).await
    }
}
