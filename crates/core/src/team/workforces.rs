//! Labeling teams and their members. A member is a user of the project
//! (one email, one user) inside a team, with a team role; adding a member with a new email
//! creates the user, so `teamlabel token create --email` works for members too.
//! Task membership is `team::task_members`: this module must not plan tasks.

use serde_json::Value;
use teamlabel_api::batch::{BatchResponse, ItemResult};
use teamlabel_api::team::workforces::{
    BatchDeleteWorkersRequest, CreateWorkerRequest, CreateWorkforceRequest, CreateWorkforceResponse, Empty,
    ListWorkersQuery, ListWorkersResponse, ListWorkforcesQuery, ListWorkforcesResponse, UpdateWorkerRequest,
    UpdateWorkforceRequest, Worker, Workforce,
};

use crate::app::App;
use crate::batch;
use crate::clock::now_ms;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{Principal, Role};
use crate::iam::policy::{self, Op, Standing};
use crate::ids::{is_plausible_id, new_alnum19, new_hex32};
use crate::query::{parse_i64, parse_order, parse_page};
use crate::store::{User, WorkerQuery, WorkerRecord, WorkforceQuery, WorkforceRecord};
use crate::text::{check_description, check_email, check_name, check_text};

/// Most members in one team.
pub const MAX_WORKERS_PER_TEAM: u64 = 100;
/// Most teams in one project.
pub const MAX_TEAMS_PER_PROJECT: u64 = 100;

impl From<&WorkerRecord> for Worker {
    fn from(w: &WorkerRecord) -> Self {
        Worker {
            worker_id: w.id.clone(),
            workforce_id: w.workforce_id.clone(),
            email: w.email.clone(),
            role: w.role.code(),
            status: 0,
            description: w.description.clone(),
            create_time: w.create_time,
            update_time: w.update_time,
        }
    }
}

fn workforce_to_api(w: &WorkforceRecord) -> Workforce {
    Workforce {
        workforce_id: w.id.clone(),
        workforce_name: w.name.clone(),
        description: w.description.clone(),
        worker_count: w.worker_count,
        workspace_id: "0".into(),
        create_time: w.create_time,
        update_time: w.update_time,
    }
}

/// A team role from an integer or a numeric string; 3 (the owner) is not a team role.
pub fn parse_team_role(field: &str, v: &Value) -> Result<Role> {
    let code = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match code.and_then(Role::from_code) {
        Some(r) if r != Role::Owner => Ok(r),
        _ => Err(Error::invalid(format!(
            "{field} must be 0 (labeler), 1 (reviewer) or 2 (team manager), got {v}"
        ))),
    }
}

fn check_id(id: &str, not_found: impl Fn(&str) -> Error) -> Result<()> {
    if is_plausible_id(id) {
        Ok(())
    } else {
        Err(not_found(id))
    }
}

pub fn workforce_not_found(id: &str) -> Error {
    Error::not_found(
        codes::WORKFORCE_NOT_FOUND,
        format!("The workforce does not exist: {id}"),
    )
}

pub fn worker_not_found(id: &str) -> Error {
    Error::not_found(codes::WORKER_NOT_FOUND, format!("The worker does not exist: {id}"))
}

impl App {
    pub async fn create_workforce(
        &self,
        p: &Principal,
        req: &CreateWorkforceRequest,
    ) -> Result<CreateWorkforceResponse> {
        policy::authorize(p, Op::CreateWorkforce, &Standing::project(p))?;
        let name = req
            .workforce_name
            .as_deref()
            .ok_or_else(|| Error::invalid("workforce_name is required"))?;
        check_name("workforce_name", name, 1, 64)?;
        let description = req.description.clone().unwrap_or_default();
        check_description("description", &description)?;
        if let Some(ws) = &req.workspace_id {
            check_text("workspace_id", ws, 64, "")?;
        }
        let existing = self
            .store
            .list_workforces(
                &p.project_id,
                &WorkforceQuery {
                    limit: 1,
                    ..WorkforceQuery::default()
                },
            )
            .await?
            .0;
        if existing >= MAX_TEAMS_PER_PROJECT {
            return Err(Error::invalid(format!(
                "a project may have at most {MAX_TEAMS_PER_PROJECT} teams"
            )));
        }
        let now = now_ms();
        let record = WorkforceRecord {
            id: new_alnum19(),
            project_id: p.project_id.clone(),
            name: name.to_string(),
            description,
            worker_count: 0,
            create_time: now,
            update_time: now,
        };
        self.store.insert_workforce(&record).await?;
        Ok(CreateWorkforceResponse {
            workforce_id: record.id,
        })
    }

    pub async fn list_workforces(&self, p: &Principal, q: &ListWorkforcesQuery) -> Result<ListWorkforcesResponse> {
        policy::authorize(p, Op::ListWorkforces, &Standing::project(p))?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let sort_by_name = match q.sort_by.as_deref() {
            None | Some("") | Some("create_time") => false,
            Some("workforce_name") => true,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "sort_by must be create_time or workforce_name, got {other:?}"
                )))
            }
        };
        let query = WorkforceQuery {
            offset: page.offset,
            limit: page.limit,
            ascending: parse_order(q.order.as_deref())?,
            sort_by_name,
            search_content: q.search_content.clone().filter(|s| !s.is_empty()),
            task_id: q.workforce_task_id.clone().filter(|s| !s.is_empty()),
        };
        let (total, rows) = self.store.list_workforces(&p.project_id, &query).await?;
        Ok(ListWorkforcesResponse {
            total_number: total,
            workforces: rows.iter().map(workforce_to_api).collect(),
        })
    }

    /// How the caller stands towards a team: the owner, its manager, or neither.
    async fn team_standing(&self, p: &Principal, workforce_id: &str) -> Result<Standing> {
        if p.role == Role::Owner {
            return Ok(Standing::project(p));
        }
        let manager = self
            .store
            .workers_of_user(&p.user_id)
            .await?
            .iter()
            .any(|w| w.workforce_id == workforce_id && w.role == Role::Manager);
        Ok(Standing::team(p, manager))
    }

    pub async fn get_workforce(&self, p: &Principal, workforce_id: &str) -> Result<Workforce> {
        policy::authorize(p, Op::GetWorkforce, &self.team_standing(p, workforce_id).await?)?;
        check_id(workforce_id, workforce_not_found)?;
        Ok(workforce_to_api(
            &self.store.get_workforce(&p.project_id, workforce_id).await?,
        ))
    }

    pub async fn update_workforce(
        &self,
        p: &Principal,
        workforce_id: &str,
        req: &UpdateWorkforceRequest,
    ) -> Result<Empty> {
        policy::authorize(p, Op::UpdateWorkforce, &Standing::project(p))?;
        check_id(workforce_id, workforce_not_found)?;
        let mut w = self.store.get_workforce(&p.project_id, workforce_id).await?;
        if let Some(name) = &req.workforce_name {
            check_name("workforce_name", name, 1, 64)?;
            w.name = name.clone();
        }
        if let Some(d) = &req.description {
            check_description("description", d)?;
            w.description = d.clone();
        }
        w.update_time = now_ms();
        self.store.update_workforce(&w).await?;
        Ok(Empty {})
    }

    /// Deletes a team and its members; refused while a member has unfinished task work, so no
    /// saved label goes with it.
    pub async fn delete_workforce(&self, p: &Principal, workforce_id: &str) -> Result<()> {
        policy::authorize(p, Op::DeleteWorkforce, &Standing::project(p))?;
        check_id(workforce_id, workforce_not_found)?;
        self.store.get_workforce(&p.project_id, workforce_id).await?;
        let query = WorkerQuery {
            workforce_id: Some(workforce_id.to_string()),
            limit: MAX_WORKERS_PER_TEAM,
            ..WorkerQuery::default()
        };
        for w in self.store.list_workers(&p.project_id, &query).await?.1 {
            if self.store.worker_has_open_work(&w.id).await? {
                return Err(Error::bad_request(
                    codes::WORKER_HAS_TASK,
                    format!(
                        "Can not delete the workforce: member {} has unfinished work in a team task",
                        w.email
                    ),
                ));
            }
        }
        self.store.delete_workforce(&p.project_id, workforce_id).await
    }

    pub async fn create_worker(&self, p: &Principal, workforce_id: &str, req: &CreateWorkerRequest) -> Result<Empty> {
        policy::authorize(p, Op::CreateWorker, &self.team_standing(p, workforce_id).await?)?;
        check_id(workforce_id, workforce_not_found)?;
        let team = self.store.get_workforce(&p.project_id, workforce_id).await?;
        let email = req
            .emails
            .as_deref()
            .ok_or_else(|| Error::invalid("emails is required (one email address)"))?;
        // One person, one user: emails are compared without regard to case.
        let email = &email.trim().to_lowercase();
        check_email("emails", email)?;
        let role = parse_team_role(
            "role",
            req.role
                .as_ref()
                .ok_or_else(|| Error::invalid("role is required: 0, 1 or 2"))?,
        )?;
        let description = req.description.clone().unwrap_or_default();
        check_description("description", &description)?;
        let query = WorkerQuery {
            workforce_id: Some(team.id.clone()),
            limit: MAX_WORKERS_PER_TEAM,
            ..WorkerQuery::default()
        };
        let (count, members) = self.store.list_workers(&p.project_id, &query).await?;
        if count >= MAX_WORKERS_PER_TEAM {
            return Err(Error::invalid(format!(
                "a team may have at most {MAX_WORKERS_PER_TEAM} members"
            )));
        }
        if role == Role::Manager && members.iter().any(|m| m.role == Role::Manager) {
            return Err(Error::bad_request(
                codes::ONE_MANAGER,
                "The number of manager should be one: the team has a manager already",
            ));
        }
        let now = now_ms();
        let user = match self.store.find_user_by_email(&p.project_id, email).await? {
            Some(u) => u,
            None => {
                let u = User {
                    id: new_hex32(),
                    project_id: p.project_id.clone(),
                    email: email.to_string(),
                    role: Role::Labeler,
                    create_time: now,
                };
                self.store.insert_user(&u).await?;
                u
            }
        };
        if members.iter().any(|m| m.user_id == user.id) {
            return Err(Error::bad_request(
                codes::WORKER_EXISTS,
                format!("The worker already exists: {email} is in the team"),
            ));
        }
        let worker = WorkerRecord {
            id: new_hex32(),
            workforce_id: team.id,
            user_id: user.id,
            email: user.email,
            role,
            description,
            create_time: now,
            update_time: now,
        };
        self.store.insert_worker(&worker).await?;
        Ok(Empty {})
    }

    pub async fn list_workers(
        &self,
        p: &Principal,
        workforce_id: Option<&str>,
        q: &ListWorkersQuery,
    ) -> Result<ListWorkersResponse> {
        match workforce_id {
            Some(id) => policy::authorize(p, Op::ListWorkers, &self.team_standing(p, id).await?)?,
            None => policy::authorize(p, Op::ListAllWorkers, &Standing::project(p))?,
        }
        if let Some(id) = workforce_id {
            check_id(id, workforce_not_found)?;
            self.store.get_workforce(&p.project_id, id).await?;
        }
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let sort_by_email = match q.sort_by.as_deref() {
            None | Some("") | Some("create_time") => false,
            Some("email") => true,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "sort_by must be create_time or email, got {other:?}"
                )))
            }
        };
        // The documented default role is 0; an absent role lists every role, which is what a
        // caller without the filter expects.
        let role = match (workforce_id, q.role.as_deref()) {
            (_, None | Some("")) => None,
            (Some(_), Some(_)) => None,
            (None, Some(r)) => Some(parse_team_role("role", &Value::from(parse_i64("role", r)?))?),
        };
        let query = WorkerQuery {
            workforce_id: workforce_id.map(str::to_string),
            role,
            offset: page.offset,
            limit: page.limit,
            ascending: parse_order(q.order.as_deref())?,
            sort_by_email,
        };
        let (total, rows) = self.store.list_workers(&p.project_id, &query).await?;
        Ok(ListWorkersResponse {
            total_number: total,
            workers: rows.iter().map(Worker::from).collect(),
        })
    }

    pub async fn get_worker(&self, p: &Principal, workforce_id: &str, worker_id: &str) -> Result<Worker> {
        policy::authorize(p, Op::GetWorker, &self.team_standing(p, workforce_id).await?)?;
        check_id(workforce_id, workforce_not_found)?;
        check_id(worker_id, worker_not_found)?;
        self.store.get_workforce(&p.project_id, workforce_id).await?;
        Ok(Worker::from(&self.store.get_worker(workforce_id, worker_id).await?))
    }

    pub async fn update_worker(
        &self,
        p: &Principal,
        workforce_id: &str,
        worker_id: &str,
        req: &UpdateWorkerRequest,
    ) -> Result<Empty> {
        policy::authorize(p, Op::UpdateWorker, &self.team_standing(p, workforce_id).await?)?;
        check_id(workforce_id, workforce_not_found)?;
        check_id(worker_id, worker_not_found)?;
        self.store.get_workforce(&p.project_id, workforce_id).await?;
        let mut w = self.store.get_worker(workforce_id, worker_id).await?;
        if let Some(d) = &req.description {
            check_description("description", d)?;
            w.description = d.clone();
        }
        if let Some(r) = &req.role {
            let role = parse_team_role("role", r)?;
            if role == Role::Manager && w.role != Role::Manager {
                let query = WorkerQuery {
                    workforce_id: Some(workforce_id.to_string()),
                    role: Some(Role::Manager),
                    limit: 1,
                    ..WorkerQuery::default()
                };
                if self.store.list_workers(&p.project_id, &query).await?.0 > 0 {
                    return Err(Error::bad_request(
                        codes::ONE_MANAGER,
                        "The number of manager should be one: the team has a manager already",
                    ));
                }
            }
            w.role = role;
        }
        w.update_time = now_ms();
        self.store.update_worker(&w).await?;
        Ok(Empty {})
    }

    async fn check_deletable(&self, p: &Principal, w: &WorkerRecord) -> Result<()> {
        if w.user_id == p.user_id {
            return Err(Error::bad_request(codes::DELETE_YOURSELF, "Can not delete yourself"));
        }
        if self.store.worker_has_open_work(&w.id).await? {
            return Err(Error::bad_request(
                codes::WORKER_HAS_TASK,
                format!(
                    "Can not delete worker who has task: {} has unfinished work in a team task",
                    w.email
                ),
            ));
        }
        Ok(())
    }

    pub async fn delete_worker(&self, p: &Principal, workforce_id: &str, worker_id: &str) -> Result<()> {
        policy::authorize(p, Op::DeleteWorker, &self.team_standing(p, workforce_id).await?)?;
        check_id(workforce_id, workforce_not_found)?;
        check_id(worker_id, worker_not_found)?;
        self.store.get_workforce(&p.project_id, workforce_id).await?;
        let w = self.store.get_worker(workforce_id, worker_id).await?;
        self.check_deletable(p, &w).await?;
        self.store.delete_workers(workforce_id, &[w.id]).await?;
        Ok(())
    }

    pub async fn batch_delete_workers(
        &self,
        p: &Principal,
        workforce_id: &str,
        req: &BatchDeleteWorkersRequest,
    ) -> Result<BatchResponse> {
        policy::authorize(p, Op::BatchDeleteWorkers, &self.team_standing(p, workforce_id).await?)?;
        check_id(workforce_id, workforce_not_found)?;
        self.store.get_workforce(&p.project_id, workforce_id).await?;
        let ids = req
            .workers
            .as_deref()
            .ok_or_else(|| Error::invalid("workers is required: a list of worker ids"))?;
        if ids.len() > self.limits.max_batch {
            return Err(Error::invalid(format!(
                "workers: at most {} ids per request",
                self.limits.max_batch
            )));
        }
        let mut deletable = Vec::new();
        let mut results = Vec::with_capacity(ids.len());
        for id in ids {
            let outcome = async {
                check_id(id, worker_not_found)?;
                let w = self.store.get_worker(workforce_id, id).await?;
                self.check_deletable(p, &w).await?;
                Ok::<_, Error>(w.id)
            }
            .await;
            results.push(match outcome {
                Ok(id) if !deletable.contains(&id) => {
                    deletable.push(id);
                    ItemResult::ok()
                }
                Ok(id) => batch::failed(&worker_not_found(&id)),
                Err(e) => batch::failed(&e),
            });
        }
        self.store.delete_workers(workforce_id, &deletable).await?;
        Ok(BatchResponse::from_results(results))
    }
}
