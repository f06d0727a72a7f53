//! Team tasks on the wire: creating, starting, updating and listing a dataset's team labeling
//! tasks, their members, and the task and worker statistics. Shapes only: it must not decide
//! task states or roles, touch storage or speak HTTP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::datasets::LabelStats;

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
    /// Whether samples added after the start (by upload, import or sync) are handed to the
    /// labelers, as evenly as the start's, if they match `sample_conditions`. Default false.
    #[serde(default)]
    pub synchronize_data: Option<bool>,
    /// Only false: there are no auto-labeling results to push to members.
    #[serde(default)]
    pub synchronize_auto_labeling_data: Option<bool>,
    /// Default true.
    #[serde(default)]
    pub auto_sync_dataset: Option<bool>,
    /// 0 (none) or 1 (data: as `synchronize_data` true); when given it wins over
    /// `synchronize_data`. 2 and 3 (labels) are refused, as `synchronize_auto_labeling_data`.
    #[serde(default)]
    pub data_sync_type: Option<i64>,
    /// An addition: the IoU (0 < x <= 1, default 0.5) from which two labelers' boxes of the
    /// same label count as the same object, in consensus at acceptance and in the agreement.
    #[serde(default)]
    pub iou_threshold: Option<f64>,
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
    /// An addition: the IoU (0 < x <= 1) from which boxes count as the same object.
    #[serde(default)]
    pub iou_threshold: Option<f64>,
}

/// A team labeling task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkforceTask {
    pub task_id: String,
    pub task_name: String,
    pub description: String,
    pub dataset_id: String,
    /// 6 created, 0 starting, 1 running, 7 drawing an acceptance sample, 2 accepting,
    /// 5 writing accepted labels to the dataset, 3 accepted, 4 rejected. Drawing and writing
    /// happen inside one transaction, so 7 and 5 are never observed.
    pub status: i32,
    pub repetition: i32,
    /// An addition: the IoU from which two labelers' boxes count as the same object.
    pub iou_threshold: f64,
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
    /// An addition: copies whose latest review passed.
    #[serde(default)]
    pub review_passed_count: u64,
    /// An addition: copies whose latest review rejected them.
    #[serde(default)]
    pub review_rejected_count: u64,
    /// An addition: review_passed / (review_passed + review_rejected), 0 before any review.
    #[serde(default)]
    pub review_pass_rate: f64,
    /// An addition: copies the owner passed in an acceptance round (their latest verdict).
    #[serde(default)]
    pub check_passed_count: u64,
    /// An addition: copies the owner rejected in an acceptance round (their latest verdict).
    #[serde(default)]
    pub check_rejected_count: u64,
    /// An addition: check_passed / (check_passed + check_rejected), 0 before any verdict.
    #[serde(default)]
    pub check_pass_rate: f64,
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListWorkerTasksResponse {
    pub count: u64,
    pub worker_tasks: Vec<WorkerTask>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkforceTaskStats {
    /// Copy counts by state, which add up to `total`: `un_annotation`, `auto_annotation`,
    /// `unreviewed`, `uncheck`, `sampled_uncheck`, `sampled_accepted`, `sampled_rejected`,
    /// `accepted`, `rejected`; and, across states, `sampled` (drawn into the open round),
    /// `review_passed`, `review_rejected`, `check_passed`, `check_rejected`.
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
