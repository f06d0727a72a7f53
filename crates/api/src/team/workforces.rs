//! Workforces on the wire: teams and their workers, with the bodies and queries of their
//! endpoints, and the empty answer. Shapes only: it must not decide roles or limits, touch
//! storage or speak HTTP.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A labeling team.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Workforce {
    pub workforce_id: String,
    pub workforce_name: String,
    pub description: String,
    pub worker_count: u64,
    pub workspace_id: String,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkforceRequest {
    /// 1 to 64 characters of `[A-Za-z0-9_-]`, unique in the project.
    #[serde(default)]
    pub workforce_name: Option<String>,
    /// 0 to 256 characters, none of ``^!<>=&"'``.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateWorkforceResponse {
    pub workforce_id: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkforceRequest {
    #[serde(default)]
    pub workforce_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListWorkforcesResponse {
    pub total_number: u64,
    pub workforces: Vec<Workforce>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWorkforcesQuery {
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    pub order: Option<String>,
    /// `create_time` (default) or `workforce_name`.
    pub sort_by: Option<String>,
    pub search_content: Option<String>,
    /// Only teams working on this task.
    pub workforce_task_id: Option<String>,
}

/// A member of a team (workforce), with their role in it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Worker {
    pub worker_id: String,
    pub workforce_id: String,
    pub email: String,
    /// 0 labeler, 1 reviewer, 2 team manager.
    pub role: i32,
    /// 0: no invitation sent (this server sends no email).
    pub status: i32,
    pub description: String,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkerRequest {
    /// One email address (the name is plural, the value is one string).
    #[serde(default)]
    pub emails: Option<String>,
    /// 0 labeler, 1 reviewer, 2 team manager; an integer or a numeric string.
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub role: Option<Value>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkerRequest {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub role: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDeleteWorkersRequest {
    /// Member ids.
    #[serde(default)]
    pub workers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListWorkersResponse {
    pub total_number: u64,
    pub workers: Vec<Worker>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWorkersQuery {
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    pub order: Option<String>,
    /// `create_time` (default) or `email`.
    pub sort_by: Option<String>,
    /// Project-wide list only: 0, 1 or 2; absent lists every role.
    #[param(value_type = Option<i32>)]
    pub role: Option<String>,
}

/// An empty JSON object, the documented answer of several team calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Empty {}
