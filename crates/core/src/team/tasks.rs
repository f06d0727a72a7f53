//! Team labeling tasks (spec/workforce-tasks.md): create with the teams and members who work on
//! it, start (which assigns the chosen samples to labelers deterministically and evenly, each to
//! `repetition` distinct labelers), update, delete, and the statistics read from stored state.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::clock::now_ms;
use crate::datasets::dataset::LabelStats;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{Principal, Role};
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::ids::{is_plausible_id, new_alnum19};
use crate::query::{parse_bool, parse_order, parse_page};
use crate::samples::search::parse_search_conditions;
use crate::store::{CopyCount, SampleQuery, TaskRecord, WorkerRecord};
use crate::team::workforces::{workforce_not_found, Empty};
use crate::text::{check_description, check_name};

/// Task states (WorkforceTask.status).
pub mod status {
    pub const CREATED: i32 = 6;
    pub const STARTING: i32 = 0;
    pub const RUNNING: i32 = 1;
    pub const ACCEPTING: i32 = 2;
    pub const ACCEPTED: i32 = 3;
    pub const REJECTED: i32 = 4;
}

/// Team sample states as stored on copies.
pub mod state {
    pub const NONE: &str = "__NONE__";
    pub const AUTO_ANNOTATION: &str = "__AUTO_ANNOTATION__";
    pub const UNREVIEWED: &str = "__UNREVIEWED__";
    pub const UNCHECK: &str = "__UNCHECK__";
    pub const ACCEPTED: &str = "__ACCEPTED__";
    pub const REJECTED: &str = "__REJECTED__";
    pub const ALL: [&str; 6] = [NONE, AUTO_ANNOTATION, UNREVIEWED, UNCHECK, ACCEPTED, REJECTED];
}

/// Most task memberships of one person that `/workforces/worker-tasks` reads.
const MAX_MEMBERSHIPS_LISTED: u64 = 10_000;

/// Most labelers (and reviewers) in one task.
pub const MAX_TASK_MEMBERS: usize = 100;

/// A member chosen for a task, as sent (`email` or `worker_id`) and as answered. A request may
/// carry the whole documented Worker shape (as the member list answers it): the member is picked
/// by `worker_id` or `email`; `workforce_id` must be the team it is listed under; `role`,
/// `status`, `description` and the times describe the member and are not changed here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskWorker {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<i32>,
    /// In requests only: the member's team; must be the team of the enclosing `workforces` item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workforce_id: Option<String>,
    /// In requests only: read-only member field, accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    /// In requests only: read-only here (a member's description changes with UpdateWorker);
    /// accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// In requests only: read-only member field, accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// In requests only: read-only member field, accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
}

/// A team of a task with its chosen members (all members when `workers` is left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkforceConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workforce_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workforce_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Vec<TaskWorker>>,
}

/// Who works on a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkforcesConfig {
    /// Delegating the staffing to a team manager is not supported: name the teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workforces: Option<Vec<WorkforceConfig>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkforceTaskRequest {
    /// 1 to 64 characters of `[A-Za-z0-9_-]`, unique in the dataset.
    #[serde(default)]
    pub task_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub workforces_config: Option<WorkforcesConfig>,
    /// Labelers per sample, 1 to the number of labelers (default 1).
    #[serde(default)]
    pub repetition: Option<i64>,
    /// A JSON list of search conditions (as the sample list's `search_conditions`) choosing
    /// the samples of the task; all samples when left out.
    #[serde(default)]
    pub sample_conditions: Option<String>,
    /// Only false: data added after the start is not distributed.
    #[serde(default)]
    pub synchronize_data: Option<bool>,
    /// Only false.
    #[serde(default)]
    pub synchronize_auto_labeling_data: Option<bool>,
    /// Default true.
    #[serde(default)]
    pub auto_sync_dataset: Option<bool>,
    /// Only 0.
    #[serde(default)]
    pub data_sync_type: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateWorkforceTaskResponse {
    pub task_id: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartWorkforceTaskRequest {
    /// Staffing for this start; replaces the task's members.
    #[serde(default)]
    pub workforces_config: Option<WorkforcesConfig>,
    /// Must equal the path's, when given.
    #[serde(default)]
    pub dataset_id: Option<String>,
    /// Must equal the path's, when given.
    #[serde(default)]
    pub task_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkforceTaskRequest {
    #[serde(default)]
    pub task_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Replaces the members; only before the task starts.
    #[serde(default)]
    pub workforces_config: Option<WorkforcesConfig>,
    #[serde(default)]
    pub dataset_id: Option<String>,
    #[serde(default)]
    pub task_id: Option<String>,
}

/// Task- or member-level sample counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SampleStats {
    pub total_sample_count: u64,
    pub unannotated_sample_count: u64,
    pub auto_annotation_sample_count: u64,
    pub unreviewed_sample_count: u64,
    pub uncheck_sample_count: u64,
    pub sampled_sample_count: u64,
    pub accepted_sample_count: u64,
    pub rejected_sample_count: u64,
    pub deleted_sample_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkforceStats {
    pub workforce_count: u64,
    pub labeler_count: u64,
    pub reviewer_count: u64,
}

/// A member's view of a task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkerTask {
    pub worker_id: String,
    pub email: String,
    pub role: i32,
    pub task_id: String,
    pub workforce_task_name: String,
    pub dataset_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_type: Option<i32>,
    pub task_status: i32,
    pub sample_stats: SampleStats,
    /// 0: no email sent (this server sends none).
    pub email_status: i32,
    pub last_notify_time: i64,
    pub create_time: i64,
    pub update_time: i64,
}

/// A team labeling task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkforceTask {
    pub task_id: String,
    pub task_name: String,
    pub description: String,
    pub dataset_id: String,
    /// 6 created, 1 running, 2 accepting, 3 accepted, 4 rejected.
    pub status: i32,
    pub repetition: i32,
    pub workforces_config: WorkforcesConfig,
    pub synchronize_data: bool,
    pub synchronize_auto_labeling_data: bool,
    pub auto_sync_dataset: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub sample_search_conditions: Option<Value>,
    pub sample_stats: SampleStats,
    pub workforce_stats: WorkforceStats,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_stats: Option<Vec<LabelStats>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_stats: Option<Vec<WorkerTask>>,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListWorkforceTasksResponse {
    pub count: u64,
    pub tasks: Vec<WorkforceTask>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListWorkerTasksResponse {
    pub count: u64,
    pub worker_tasks: Vec<WorkerTask>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkforceTaskStats {
    /// Copy counts by state: `total`, `un_annotation`, `auto_annotation`, `unreviewed`,
    /// `uncheck`, `accepted`, `rejected`.
    pub sample_stats: BTreeMap<String, u64>,
    pub label_stats: Vec<LabelStats>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkforceTaskMetrics {
    /// Per member email: copy counts by state.
    pub sample_stats: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWorkforceTasksQuery {
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 1000 (default 1000).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetWorkforceTaskQuery {
    /// Include `label_stats`.
    #[param(value_type = Option<bool>)]
    pub label_stats: Option<String>,
    /// Accepted; `sample_stats` is always included.
    #[param(value_type = Option<bool>)]
    pub sample_stats: Option<String>,
    /// Accepted; `workforce_stats` is always included.
    #[param(value_type = Option<bool>)]
    pub workforce_stats: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWorkerTasksQuery {
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    pub order: Option<String>,
    /// `create_time` (default) or `workforce_task_name`.
    pub sort_by: Option<String>,
    pub search_content: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskStatsQuery {
    /// Not supported on task statistics: refused.
    pub sample_state: Option<String>,
}

pub fn task_not_found(id: &str) -> Error {
    Error::not_found(codes::TASK_NOT_FOUND, format!("Workforce task does not exist: {id}"))
}

pub fn forbidden(message: impl Into<String>) -> Error {
    Error::forbidden(codes::WORKER_ACTION_FORBIDDEN, message)
}

/// Counters of a set of copy counts.
fn sample_stats(counts: &[&CopyCount], total: u64) -> SampleStats {
    let of = |s: &str| counts.iter().filter(|c| c.state == s).map(|c| c.count).sum::<u64>();
    SampleStats {
        total_sample_count: total,
        unannotated_sample_count: of(state::NONE),
        auto_annotation_sample_count: of(state::AUTO_ANNOTATION),
        unreviewed_sample_count: of(state::UNREVIEWED),
        uncheck_sample_count: of(state::UNCHECK),
        sampled_sample_count: 0,
        accepted_sample_count: of(state::ACCEPTED),
        rejected_sample_count: of(state::REJECTED),
        deleted_sample_count: 0,
    }
}

fn state_map(counts: &[&CopyCount]) -> BTreeMap<String, u64> {
    let of = |s: &str| counts.iter().filter(|c| c.state == s).map(|c| c.count).sum::<u64>();
    BTreeMap::from([
        ("un_annotation".to_string(), of(state::NONE)),
        ("auto_annotation".to_string(), of(state::AUTO_ANNOTATION)),
        ("unreviewed".to_string(), of(state::UNREVIEWED)),
        ("uncheck".to_string(), of(state::UNCHECK)),
        ("accepted".to_string(), of(state::ACCEPTED)),
        ("rejected".to_string(), of(state::REJECTED)),
    ])
}

fn check_unsupported_sync(
    synchronize_data: Option<bool>,
    auto_labeling: Option<bool>,
    sync_type: Option<i64>,
) -> Result<()> {
    if synchronize_data == Some(true) || auto_labeling == Some(true) {
        return Err(Error::invalid(
            "synchronize_data and synchronize_auto_labeling_data must be false: samples added after the start are not distributed",
        ));
    }
    if let Some(t) = sync_type {
        if t != 0 {
            return Err(Error::invalid(format!(
                "data_sync_type must be 0 (no synchronization), got {t}"
            )));
        }
    }
    Ok(())
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

    /// Resolves `workforces_config` to the chosen members (deduplicated by user: a person is one
    /// member of a task) and the config as answered later.
    async fn resolve_members(&self, p: &Principal, config: &WorkforcesConfig) -> Result<(Vec<WorkerRecord>, Value)> {
        if config.agency.as_deref().is_some_and(|a| !a.is_empty()) {
            return Err(Error::invalid(
                "workforces_config.agency (delegating staffing to a manager) is not supported; name the teams and members in workforces",
            ));
        }
        let teams = config.workforces.as_deref().unwrap_or(&[]);
        if teams.is_empty() {
            return Err(Error::invalid(
                "workforces_config.workforces must name at least one team",
            ));
        }
        let mut chosen: Vec<WorkerRecord> = Vec::new();
        let mut answered = Vec::new();
        for (i, team_cfg) in teams.iter().enumerate() {
            let field = format!("workforces_config.workforces[{i}]");
            let id = team_cfg
                .workforce_id
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("{field}.workforce_id is required")))?;
            if !is_plausible_id(id) {
                return Err(workforce_not_found(id));
            }
            let team = self.store.get_workforce(&p.project_id, id).await?;
            let query = crate::store::WorkerQuery {
                workforce_id: Some(team.id.clone()),
                limit: 1000,
                ascending: true,
                ..Default::default()
            };
            let members = self.store.list_workers(&p.project_id, &query).await?.1;
            let picked: Vec<WorkerRecord> = match &team_cfg.workers {
                None => members.clone(),
                Some(list) if list.is_empty() => members.clone(),
                Some(list) => {
                    let mut picked = Vec::new();
                    for (j, w) in list.iter().enumerate() {
                        if let Some(other) = w.workforce_id.as_deref().filter(|id| *id != team.id) {
                            return Err(Error::invalid(format!(
                                "{field}.workers[{j}].workforce_id: {other:?} is not the team {:?} the member is listed under",
                                team.id
                            )));
                        }
                        let found = match (&w.worker_id, &w.email) {
                            (Some(wid), _) => members.iter().find(|m| &m.id == wid),
                            (None, Some(email)) => members.iter().find(|m| m.email.eq_ignore_ascii_case(email)),
                            (None, None) => {
                                return Err(Error::invalid(format!("{field}.workers[{j}] needs email or worker_id")))
                            }
                        };
                        let m = found.ok_or_else(|| {
                            Error::not_found(
                                codes::WORKER_NOT_FOUND,
                                format!(
                                    "The worker does not exist: {field}.workers[{j}] is not a member of team {}",
                                    team.name
                                ),
                            )
                        })?;
                        picked.push(m.clone());
                    }
                    picked
                }
            };
            let mut answered_workers = Vec::new();
            for m in picked {
                if chosen.iter().any(|c| c.user_id == m.user_id && c.role == m.role) {
                    continue;
                }
                answered_workers.push(json!({"email": m.email, "worker_id": m.id, "role": m.role.code()}));
                chosen.push(m);
            }
            answered.push(json!({"workforce_id": team.id, "workforce_name": team.name, "workers": answered_workers}));
        }
        if chosen.len() > MAX_TASK_MEMBERS * 3 {
            return Err(Error::invalid(format!(
                "a task may have at most {MAX_TASK_MEMBERS} labelers and {MAX_TASK_MEMBERS} reviewers"
            )));
        }
        Ok((chosen, json!({"workforces": answered})))
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
        check_unsupported_sync(
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
            synchronize_data: false,
            synchronize_auto_labeling_data: false,
            auto_sync_dataset: req.auto_sync_dataset.unwrap_or(true),
            data_sync_type: req.data_sync_type.map(|t| t as i32),
            create_time: now,
            update_time: now,
        };
        let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
        self.store.insert_task(&task, &ids).await?;
        Ok(CreateWorkforceTaskResponse { task_id: task.id })
    }

    async fn task_view(
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
        self.store.delete_task(dataset_id, task_id).await
    }

    pub async fn list_worker_tasks(&self, p: &Principal, q: &ListWorkerTasksQuery) -> Result<ListWorkerTasksResponse> {
        policy::authorize(p, Op::ListWorkerTasks, &Standing::project(p))?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let sort_by_name = match q.sort_by.as_deref() {
            None | Some("") | Some("create_time") => false,
            Some("workforce_task_name") => true,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "sort_by must be create_time or workforce_task_name, got {other:?}"
                )))
            }
        };
        let ascending = parse_order(q.order.as_deref())?;
        // A member sees a task once it has started; a manager also before. A person has few
        // memberships, so they are read whole, filtered, and paged here.
        let (_, all) = self
            .store
            .list_user_tasks(
                &p.user_id,
                0,
                MAX_MEMBERSHIPS_LISTED,
                ascending,
                sort_by_name,
                q.search_content.as_deref().filter(|s| !s.is_empty()),
            )
            .await?;
        let visible: Vec<(TaskRecord, WorkerRecord)> = all
            .into_iter()
            .filter(|(t, w)| t.status != status::CREATED || w.role == Role::Manager)
            .collect();
        let count = visible.len() as u64;
        let start = (page.offset.saturating_mul(page.limit)).min(count) as usize;
        let end = (start as u64 + page.limit).min(count) as usize;
        let rows = &visible[start..end];
        let mut out = Vec::with_capacity(rows.len());
        let mut dataset_types: HashMap<String, Option<i32>> = HashMap::new();
        for (task, worker) in rows {
            let counts = self.store.task_copy_counts(&task.id).await?;
            let mine: Vec<&CopyCount> = counts.iter().filter(|c| c.worker_id == worker.id).collect();
            let total = mine.iter().map(|c| c.count).sum();
            if !dataset_types.contains_key(&task.dataset_id) {
                let t = self
                    .store
                    .get_dataset(&p.project_id, &task.dataset_id)
                    .await
                    .ok()
                    .map(|d| d.dataset_type.code());
                dataset_types.insert(task.dataset_id.clone(), t);
            }
            out.push(worker_task(
                task,
                worker,
                sample_stats(&mine, total),
                dataset_types[&task.dataset_id],
            ));
        }
        Ok(ListWorkerTasksResponse {
            count,
            worker_tasks: out,
        })
    }

    pub async fn workforce_task_stats(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        q: &TaskStatsQuery,
    ) -> Result<WorkforceTaskStats> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(
            p,
            Op::GetWorkforceTaskStats,
            &Standing::task(&TaskRole::of(p, &members)),
        )?;
        if q.sample_state.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(Error::invalid(
                "sample_state is not supported on task statistics; the answer counts every state",
            ));
        }
        let view = self.task_view(&task, &members, false, true, None).await?;
        let counts = self.store.task_copy_counts(&task.id).await?;
        let all: Vec<&CopyCount> = counts.iter().collect();
        let mut sample_stats = state_map(&all);
        sample_stats.insert("total".into(), all.iter().map(|c| c.count).sum());
        Ok(WorkforceTaskStats {
            sample_stats,
            label_stats: view.label_stats.unwrap_or_default(),
        })
    }

    pub async fn workforce_task_metrics(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
    ) -> Result<WorkforceTaskMetrics> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(
            p,
            Op::GetWorkforceTaskMetrics,
            &Standing::task(&TaskRole::of(p, &members)),
        )?;
        let counts = self.store.task_copy_counts(&task.id).await?;
        let mut out = BTreeMap::new();
        for m in members.iter().filter(|m| m.role == Role::Labeler) {
            let mine: Vec<&CopyCount> = counts.iter().filter(|c| c.worker_id == m.id).collect();
            out.insert(m.email.clone(), state_map(&mine));
        }
        Ok(WorkforceTaskMetrics { sample_stats: out })
    }
}

fn worker_task(task: &TaskRecord, m: &WorkerRecord, stats: SampleStats, dataset_type: Option<i32>) -> WorkerTask {
    WorkerTask {
        worker_id: m.id.clone(),
        email: m.email.clone(),
        role: m.role.code(),
        task_id: task.id.clone(),
        workforce_task_name: task.name.clone(),
        dataset_id: task.dataset_id.clone(),
        dataset_type,
        task_status: task.status,
        sample_stats: stats,
        email_status: 0,
        last_notify_time: 0,
        create_time: task.create_time,
        update_time: task.update_time,
    }
}

/// Checks `repetition` against the labelers chosen: 1 to their number (default 1), and at most
/// 100 labelers and 100 reviewers.
fn check_staffing(repetition: Option<i64>, members: &[WorkerRecord]) -> Result<i32> {
    let labelers = members.iter().filter(|m| m.role == Role::Labeler).count();
    let reviewers = members.iter().filter(|m| m.role == Role::Reviewer).count();
    if labelers == 0 {
        return Err(Error::bad_request(
            codes::TOO_FEW_LABELERS,
            "The task needs at least one labeler (role 0) among its members",
        ));
    }
    if labelers > MAX_TASK_MEMBERS || reviewers > MAX_TASK_MEMBERS {
        return Err(Error::invalid(format!(
            "a task may have at most {MAX_TASK_MEMBERS} labelers and {MAX_TASK_MEMBERS} reviewers"
        )));
    }
    let repetition = repetition.unwrap_or(1);
    if repetition < 1 || repetition as usize > labelers {
        return Err(Error::bad_request(
            codes::TOO_FEW_LABELERS,
            format!("repetition must be 1 to the number of labelers ({labelers}), got {repetition}"),
        ));
    }
    Ok(repetition as i32)
}
