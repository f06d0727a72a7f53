//! Who may do what: one table of every route of the API with the access it needs, and the one
//! function that decides. Use cases call `authorize` with the operation and how the caller
//! stands towards the resource (project role, team manager, task role); rows a caller may reach
//! inside an allowed route (a labeler's own copies, the tasks one is a member of) are filtered by
//! the use case itself.
//!
//! Roles: owner (3) does everything in the project; a team manager (2)
//! manages their team's members and the tasks they manage; a reviewer (1) reads the samples of
//! their tasks; a labeler (0) reads and writes only the copies assigned to them.

use crate::error::{codes, Error, ErrorKind, Result};
use crate::iam::auth::{Principal, Role};
use crate::store::WorkerRecord;

/// The access a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential (health, the API description, the Keystone version documents, the token
    /// endpoint).
    Public,
    /// Any user of the project; the answer holds only what is the caller's.
    AnyUser,
    /// The project's owner.
    Owner,
    /// The owner, or the manager of the team in the path.
    TeamManager,
    /// The owner, or a manager of the task.
    TaskManager,
    /// The owner, or any member of the task (labelers see only their own copies).
    TaskMember,
    /// The owner or a manager of the task (on behalf of a labeler), or a labeler of the task
    /// (their own copies).
    TaskLabeler,
    /// The owner, a manager or a reviewer of the task (review verdicts, agreement figures).
    TaskReviewer,
    /// The project's owner, on a task route (acceptance): others are answered as members.
    TaskOwner,
}

impl Access {
    /// The roles this access admits, for documentation.
    pub fn roles(self) -> &'static str {
        match self {
            Access::Public => "anyone",
            Access::AnyUser => "owner, manager, reviewer, labeler (own data)",
            Access::Owner => "owner",
            Access::TeamManager => "owner, manager of the team",
            Access::TaskManager => "owner, manager of the task",
            Access::TaskMember => "owner, manager, reviewer, labeler of the task (labeler: own copies)",
            Access::TaskLabeler => "owner, manager of the task (on behalf), labeler of the task (own copies)",
            Access::TaskReviewer => "owner, manager or reviewer of the task",
            Access::TaskOwner => "owner",
        }
    }
}

/// Every operation of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Health,
    OpenApi,
    ListIdentityVersions,
    GetIdentityVersion,
    /// `GET /v3/`: the same document at its `self` link.
    GetIdentityVersionAtSelf,
    IssueToken,
    CreateCredential,
    ListCredentials,
    GetCredential,
    DeleteCredential,
    CreateSecurityToken,
    ListDatasets,
    CreateDataset,
    GetDataset,
    UpdateDataset,
    DeleteDataset,
    GetDatasetStats,
    ListVersions,
    CreateVersion,
    GetVersion,
    DeleteVersion,
    ListImportTasks,
    CreateImportTask,
    GetImportTask,
    ListExportTasks,
    CreateExportTask,
    GetExportTask,
    DownloadExport,
    SyncData,
    GetSyncStatus,
    ListLabels,
    CreateLabels,
    UpdateLabels,
    DeleteLabels,
    UpdateLabel,
    DeleteLabel,
    ListSamples,
    AddSamples,
    UpdateSamples,
    DeleteSamples,
    GetSample,
    GetSampleFile,
    ListSampleHistory,
    ListWorkforces,
    CreateWorkforce,
    GetWorkforce,
    UpdateWorkforce,
    DeleteWorkforce,
    ListAllWorkers,
    ListWorkers,
    CreateWorker,
    BatchDeleteWorkers,
    GetWorker,
    UpdateWorker,
    DeleteWorker,
    ListWorkerTasks,
    ListWorkforceTasks,
    CreateWorkforceTask,
    GetWorkforceTask,
    StartWorkforceTask,
    UpdateWorkforceTask,
    DeleteWorkforceTask,
    GetWorkforceTaskStats,
    GetWorkforceTaskMetrics,
    ListWorkforceTaskSamples,
    UpdateWorkforceTaskSamples,
    GetWorkforceTaskSample,
    GetWorkforceTaskSampleFile,
    ReviewSamples,
    StartAcceptance,
    GetAcceptanceReport,
    AcceptSamples,
    UpdateAcceptance,
    GetWorkforceTaskAgreement,
    CreateWebhook,
    ListWebhooks,
    GetWebhook,
    UpdateWebhook,
    DeleteWebhook,
    ListWebhookDeliveries,
    RedeliverWebhook,
}

/// One route: method, path template (as the router and the OpenAPI document spell it), the
/// operation and its access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub op: Op,
    pub access: Access,
}

const fn r(method: &'static str, path: &'static str, op: Op, access: Access) -> Route {
    Route {
        method,
        path,
        op,
        access,
    }
}

/// Every route of the API. `crates/server/tests/openapi.rs` fails when the router has a route
/// that is not here, or this has one the router lacks.
pub const ROUTES: &[Route] = &[
    r("GET", "/health", Op::Health, Access::Public),
    r("GET", "/openapi.json", Op::OpenApi, Access::Public),
    r("GET", "/", Op::ListIdentityVersions, Access::Public),
    r("GET", "/v3", Op::GetIdentityVersion, Access::Public),
    r("GET", "/v3/", Op::GetIdentityVersionAtSelf, Access::Public),
    r("POST", "/v3/auth/tokens", Op::IssueToken, Access::Public),
    r("POST", "/v3.0/OS-CREDENTIAL/credentials", Op::CreateCredential, Access::Owner),
    r("GET", "/v3.0/OS-CREDENTIAL/credentials", Op::ListCredentials, Access::Owner),
    r("GET", "/v3.0/OS-CREDENTIAL/credentials/{access_key}", Op::GetCredential, Access::Owner),
    r("DELETE", "/v3.0/OS-CREDENTIAL/credentials/{access_key}", Op::DeleteCredential, Access::Owner),
    r("POST", "/v3.0/OS-CREDENTIAL/securitytokens", Op::CreateSecurityToken, Access::AnyUser),
    r("GET", "/v2/{project_id}/datasets", Op::ListDatasets, Access::Owner),
    r("POST", "/v2/{project_id}/datasets", Op::CreateDataset, Access::Owner),
    r("GET", DATASET, Op::GetDataset, Access::Owner),
    r("PUT", DATASET, Op::UpdateDataset, Access::Owner),
    r("DELETE", DATASET, Op::DeleteDataset, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/stats", Op::GetDatasetStats, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/versions", Op::ListVersions, Access::Owner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/versions", Op::CreateVersion, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}", Op::GetVersion, Access::Owner),
    r("DELETE", "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}", Op::DeleteVersion, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/import-tasks", Op::ListImportTasks, Access::Owner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/import-tasks", Op::CreateImportTask, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/import-tasks/{task_id}", Op::GetImportTask, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/export-tasks", Op::ListExportTasks, Access::Owner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/export-tasks", Op::CreateExportTask, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/export-tasks/{task_id}", Op::GetExportTask, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/export-tasks/{task_id}/download", Op::DownloadExport, Access::Owner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/sync-data", Op::SyncData, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/sync-data/status", Op::GetSyncStatus, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", Op::ListLabels, Access::Owner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", Op::CreateLabels, Access::Owner),
    r("PUT", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", Op::UpdateLabels, Access::Owner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/delete", Op::DeleteLabels, Access::Owner),
    r("PUT", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/{label_name}", Op::UpdateLabel, Access::Owner),
    r("DELETE", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/{label_name}", Op::DeleteLabel, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples", Op::ListSamples, Access::Owner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples", Op::AddSamples, Access::Owner),
    r("PUT", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples", Op::UpdateSamples, Access::Owner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/delete", Op::DeleteSamples, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/{sample_id}", Op::GetSample, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/{sample_id}/file", Op::GetSampleFile, Access::Owner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/{sample_id}/history", Op::ListSampleHistory, Access::Owner),
    r("GET", "/v2/{project_id}/workforces", Op::ListWorkforces, Access::Owner),
    r("POST", "/v2/{project_id}/workforces", Op::CreateWorkforce, Access::Owner),
    r("GET", "/v2/{project_id}/workforces/worker-tasks", Op::ListWorkerTasks, Access::AnyUser),
    r("GET", "/v2/{project_id}/workforces/workers", Op::ListAllWorkers, Access::Owner),
    r("GET", "/v2/{project_id}/workforces/{workforce_id}", Op::GetWorkforce, Access::TeamManager),
    r("PUT", "/v2/{project_id}/workforces/{workforce_id}", Op::UpdateWorkforce, Access::Owner),
    r("DELETE", "/v2/{project_id}/workforces/{workforce_id}", Op::DeleteWorkforce, Access::Owner),
    r("GET", "/v2/{project_id}/workforces/{workforce_id}/workers", Op::ListWorkers, Access::TeamManager),
    r("POST", "/v2/{project_id}/workforces/{workforce_id}/workers", Op::CreateWorker, Access::TeamManager),
    r("POST", "/v2/{project_id}/workforces/{workforce_id}/workers/batch-delete", Op::BatchDeleteWorkers, Access::TeamManager),
    r("GET", "/v2/{project_id}/workforces/{workforce_id}/workers/{worker_id}", Op::GetWorker, Access::TeamManager),
    r("PUT", "/v2/{project_id}/workforces/{workforce_id}/workers/{worker_id}", Op::UpdateWorker, Access::TeamManager),
    r("DELETE", "/v2/{project_id}/workforces/{workforce_id}/workers/{worker_id}", Op::DeleteWorker, Access::TeamManager),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks", Op::ListWorkforceTasks, Access::AnyUser),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks", Op::CreateWorkforceTask, Access::Owner),
    r("GET", TASK, Op::GetWorkforceTask, Access::TaskMember),
    r("POST", TASK, Op::StartWorkforceTask, Access::TaskManager),
    r("PUT", TASK, Op::UpdateWorkforceTask, Access::TaskManager),
    r("DELETE", TASK, Op::DeleteWorkforceTask, Access::TaskManager),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/stats", Op::GetWorkforceTaskStats, Access::TaskMember),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/metrics", Op::GetWorkforceTaskMetrics, Access::TaskManager),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples", Op::ListWorkforceTaskSamples, Access::TaskMember),
    r("PUT", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples", Op::UpdateWorkforceTaskSamples, Access::TaskLabeler),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples/{sample_id}", Op::GetWorkforceTaskSample, Access::TaskMember),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples/{sample_id}/file", Op::GetWorkforceTaskSampleFile, Access::TaskMember),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/review", Op::ReviewSamples, Access::TaskReviewer),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/acceptance", Op::StartAcceptance, Access::TaskOwner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/acceptance/report", Op::GetAcceptanceReport, Access::TaskOwner),
    r("POST", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/acceptance/batch-comment", Op::AcceptSamples, Access::TaskOwner),
    r("PUT", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/acceptance/status", Op::UpdateAcceptance, Access::TaskOwner),
    r("GET", "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/agreement", Op::GetWorkforceTaskAgreement, Access::TaskReviewer),
    r("POST", "/v2/{project_id}/webhooks", Op::CreateWebhook, Access::Owner),
    r("GET", "/v2/{project_id}/webhooks", Op::ListWebhooks, Access::Owner),
    r("GET", WEBHOOK, Op::GetWebhook, Access::Owner),
    r("PUT", WEBHOOK, Op::UpdateWebhook, Access::Owner),
    r("DELETE", WEBHOOK, Op::DeleteWebhook, Access::Owner),
    r("GET", "/v2/{project_id}/webhooks/{webhook_id}/deliveries", Op::ListWebhookDeliveries, Access::Owner),
    r("POST", "/v2/{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", Op::RedeliverWebhook, Access::Owner),
];

const DATASET: &str = "/v2/{project_id}/datasets/{dataset_id}";
const WEBHOOK: &str = "/v2/{project_id}/webhooks/{webhook_id}";
const TASK: &str = "/v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}";

/// The route of an operation.
pub fn route(op: Op) -> &'static Route {
    ROUTES
        .iter()
        .find(|r| r.op == op)
        .expect("every operation has a route in the table")
}

/// How the caller stands towards the resource of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub owner: bool,
    pub team_manager: bool,
    pub task_manager: bool,
    pub task_reviewer: bool,
    pub task_labeler: bool,
}

impl Standing {
    /// Only the project role (for routes without a team or task).
    pub fn project(p: &Principal) -> Self {
        Standing {
            owner: p.role == Role::Owner,
            ..Default::default()
        }
    }

    /// The caller towards a team: `manager` when they are its manager.
    pub fn team(p: &Principal, manager: bool) -> Self {
        Standing {
            team_manager: manager,
            ..Standing::project(p)
        }
    }

    /// The caller towards a task.
    pub fn task(role: &TaskRole) -> Self {
        Standing {
            owner: role.owner,
            team_manager: false,
            task_manager: role.manager,
            task_reviewer: role.reviewer,
            task_labeler: role.labeler.is_some(),
        }
    }
}

/// How the caller stands in a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRole {
    pub owner: bool,
    pub manager: bool,
    /// The caller's labeler membership in the task, if any.
    pub labeler: Option<WorkerRecord>,
    pub reviewer: bool,
}

impl TaskRole {
    pub fn of(p: &Principal, members: &[WorkerRecord]) -> Self {
        let mine = |r: Role| members.iter().find(|w| w.user_id == p.user_id && w.role == r).cloned();
        TaskRole {
            owner: p.role == Role::Owner,
            manager: mine(Role::Manager).is_some(),
            labeler: mine(Role::Labeler),
            reviewer: mine(Role::Reviewer).is_some(),
        }
    }

    pub fn is_member(&self) -> bool {
        self.owner || self.manager || self.labeler.is_some() || self.reviewer
    }

    /// Owner or manager: may run the task and act on behalf of members.
    pub fn manages(&self) -> bool {
        self.owner || self.manager
    }
}

/// Whether an access admits a caller of this standing.
pub fn allows(access: Access, s: &Standing) -> bool {
    match access {
        Access::Public | Access::AnyUser => true,
        Access::Owner => s.owner,
        Access::TeamManager => s.owner || s.team_manager,
        Access::TaskManager => s.owner || s.task_manager,
        Access::TaskMember => s.owner || s.task_manager || s.task_reviewer || s.task_labeler,
        Access::TaskLabeler => s.owner || s.task_manager || s.task_labeler,
        Access::TaskReviewer => s.owner || s.task_manager || s.task_reviewer,
        Access::TaskOwner => s.owner,
    }
}

/// Admits the caller to an operation, or answers 403: `ModelArts.0108` for the owner's and
/// team managers' routes, `ModelArts.4600` (worker action forbidden) for task routes, and 401
/// `ModelArts.4804` for a member creating a team task (the provider's code).
pub fn authorize(p: &Principal, op: Op, standing: &Standing) -> Result<()> {
    let route = route(op);
    if allows(route.access, standing) {
        return Ok(());
    }
    Err(denial(p, route))
}

fn denial(p: &Principal, route: &Route) -> Error {
    let what = format!("{} {}", route.method, route.path);
    match (route.op, route.access) {
        (Op::CreateWorkforceTask, _) => Error::unauthorized(
            "ModelArts.4804",
            "Failed to create a label task by the member: only the project owner creates team tasks",
        ),
        (
            _,
            Access::TaskManager | Access::TaskMember | Access::TaskLabeler | Access::TaskReviewer | Access::TaskOwner,
        ) => Error::forbidden(
            codes::WORKER_ACTION_FORBIDDEN,
            format!(
                "The worker action is forbidden: {what} is for the {}; you ({}) are not",
                route.access.roles(),
                p.email
            ),
        ),
        _ => Error::new(
            ErrorKind::Forbidden,
            codes::NOT_AUTHORIZED,
            format!(
                "You are not authorized to perform the ({what}) operation: it is for the {}",
                route.access.roles()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_operation_has_exactly_one_route_and_every_route_is_unique() {
        let ops: Vec<Op> = ROUTES.iter().map(|r| r.op).collect();
        assert_eq!(
            ops.len(),
            ops.iter().collect::<HashSet<_>>().len(),
            "an operation is listed twice"
        );
        let keys: HashSet<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
        assert_eq!(keys.len(), ROUTES.len(), "a route is listed twice");
        // `route` finds every operation (it panics otherwise).
        for r in ROUTES {
            assert_eq!(route(r.op), r);
        }
    }

    #[test]
    fn each_access_admits_exactly_its_roles() {
        let owner = Standing {
            owner: true,
            ..Default::default()
        };
        let team_manager = Standing {
            team_manager: true,
            ..Default::default()
        };
        let task_manager = Standing {
            task_manager: true,
            ..Default::default()
        };
        let reviewer = Standing {
            task_reviewer: true,
            ..Default::default()
        };
        let labeler = Standing {
            task_labeler: true,
            ..Default::default()
        };
        let stranger = Standing::default();
        let table = [
            (Access::Public, [true, true, true, true, true, true]),
            (Access::AnyUser, [true, true, true, true, true, true]),
            (Access::Owner, [true, false, false, false, false, false]),
            (Access::TeamManager, [true, true, false, false, false, false]),
            (Access::TaskManager, [true, false, true, false, false, false]),
            (Access::TaskMember, [true, false, true, true, true, false]),
            (Access::TaskLabeler, [true, false, true, false, true, false]),
            (Access::TaskReviewer, [true, false, true, true, false, false]),
            (Access::TaskOwner, [true, false, false, false, false, false]),
        ];
        for (access, expected) in table {
            let got = [owner, team_manager, task_manager, reviewer, labeler, stranger].map(|s| allows(access, &s));
            assert_eq!(got, expected, "{access:?}");
        }
    }

    #[test]
    fn denials_name_the_route_and_who_may_call_it() {
        let p = Principal {
            user_id: "u".into(),
            project_id: "p".into(),
            email: "l@x.y".into(),
            role: Role::Labeler,
        };
        let e = authorize(&p, Op::DeleteDataset, &Standing::project(&p)).unwrap_err();
        assert_eq!((e.kind, e.code), (ErrorKind::Forbidden, codes::NOT_AUTHORIZED));
        assert!(
            e.message.contains("DELETE /v2/{project_id}/datasets/{dataset_id}"),
            "{}",
            e.message
        );
        let e = authorize(&p, Op::StartWorkforceTask, &Standing::default()).unwrap_err();
        assert_eq!(e.code, codes::WORKER_ACTION_FORBIDDEN);
        assert!(authorize(&p, Op::ListWorkerTasks, &Standing::project(&p)).is_ok());
    }
}
