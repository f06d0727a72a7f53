//! Labeling teams (workforces) and their members (workers) in the store. Owns the records and
//! the port; it must not decide who may manage a team, and knows no SQL.

use async_trait::async_trait;

use crate::error::Result;
use crate::iam::auth::Role;

/// A labeling team.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkforceRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    /// Filled on reads.
    pub worker_count: u64,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkforceQuery {
    pub offset: u64,
    pub limit: u64,
    pub ascending: bool,
    pub sort_by_name: bool,
    pub search_content: Option<String>,
    /// Only teams with a member chosen for this task.
    pub task_id: Option<String>,
}

/// A member of a team: a user of the project with a team role.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerRecord {
    pub id: String,
    pub workforce_id: String,
    pub user_id: String,
    /// Filled on reads from the user.
    pub email: String,
    pub role: Role,
    pub description: String,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerQuery {
    pub workforce_id: Option<String>,
    pub role: Option<Role>,
    pub offset: u64,
    pub limit: u64,
    pub ascending: bool,
    pub sort_by_email: bool,
}

#[async_trait]
pub trait TeamStore: Send + Sync {
    /// A taken name is `ModelArts.4602`.
    async fn insert_workforce(&self, workforce: &WorkforceRecord) -> Result<()>;
    /// Missing (or of another project) is 404 `ModelArts.4601`.
    async fn get_workforce(&self, project_id: &str, workforce_id: &str) -> Result<WorkforceRecord>;
    async fn list_workforces(&self, project_id: &str, query: &WorkforceQuery) -> Result<(u64, Vec<WorkforceRecord>)>;
    async fn update_workforce(&self, workforce: &WorkforceRecord) -> Result<()>;
    /// Deletes the team with its members (and their task memberships and copies).
    async fn delete_workforce(&self, project_id: &str, workforce_id: &str) -> Result<()>;
    /// A user already in the team is `ModelArts.4605`.
    async fn insert_worker(&self, worker: &WorkerRecord) -> Result<()>;
    /// Missing (or of another team) is 404 `ModelArts.4604`.
    async fn get_worker(&self, workforce_id: &str, worker_id: &str) -> Result<WorkerRecord>;
    /// Members of the project's teams (of one team when the query names it).
    async fn list_workers(&self, project_id: &str, query: &WorkerQuery) -> Result<(u64, Vec<WorkerRecord>)>;
    async fn update_worker(&self, worker: &WorkerRecord) -> Result<()>;
    /// Deletes those of `ids` that are members of the team; answers the deleted ids.
    async fn delete_workers(&self, workforce_id: &str, ids: &[String]) -> Result<Vec<String>>;
    /// Every team membership of a user.
    async fn workers_of_user(&self, user_id: &str) -> Result<Vec<WorkerRecord>>;
    /// Whether a member has copies not yet accepted in a task that is not finished.
    async fn worker_has_open_work(&self, worker_id: &str) -> Result<bool>;
}
