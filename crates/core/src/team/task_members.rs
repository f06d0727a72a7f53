//! The members of a team task: `workforces_config` as sent, resolved to the chosen workers of
//! the project's teams, and the staffing limits (repetition, labelers and reviewers).
//! It must not assign samples: starting a task does.

use serde_json::{json, Value};
use teamlabel_api::team::tasks::WorkforcesConfig;

use crate::app::App;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{Principal, Role};
use crate::ids::is_plausible_id;
use crate::store::WorkerRecord;
use crate::team::workforces::workforce_not_found;

/// Most labelers (and reviewers) in one task.
pub const MAX_TASK_MEMBERS: usize = 100;

impl App {
    /// Resolves `workforces_config` to the chosen members (deduplicated by user: a person is one
    /// member of a task) and the config as answered later.
    pub(crate) async fn resolve_members(
        &self,
        p: &Principal,
        config: &WorkforcesConfig,
    ) -> Result<(Vec<WorkerRecord>, Value)> {
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
}

/// Checks `repetition` against the labelers chosen: 1 to their number (default 1), and at most
/// 100 labelers and 100 reviewers.
pub(crate) fn check_staffing(repetition: Option<i64>, members: &[WorkerRecord]) -> Result<i32> {
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
