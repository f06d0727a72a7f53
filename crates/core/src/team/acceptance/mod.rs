//! Acceptance rounds: the owner draws a share of the copies waiting for acceptance, judges
//! them, and closes the round with one of the documented actions, which decides every copy of
//! the round's scope and writes the accepted samples' labels (merged across labelers by
//! `team::consensus`) to the dataset, all in one transaction.
//!
//! Decisions the API leaves open, taken here:
//! - The scope of a round is every copy in `__UNCHECK__` whose sample has no copy still being
//!   labeled or reviewed (every other copy is `__UNCHECK__` or `__ACCEPTED__`): a sample's copies
//!   are accepted together, so consensus sees them all.
//! - The draw is per copy and even across labelers: each labeler's share of the draw is their
//!   share of the scope (largest remainder), and within a labeler the copies are chosen by a
//!   seeded shuffle. The seed is stored with the round; SplitMix64 is written here so that a
//!   seed draws the same copies in every version of the server.
//! - `sampling_rate` draws ceil(rate x scope) copies; `sampling_num` larger than the scope
//!   draws them all.
//! - On closing, the copies that pass are merged with the sample's copies accepted earlier. A
//!   sample whose merge conflicts (or keeps no label) is not merged silently: its passing copies
//!   go back to `__UNCHECK__` for the owner to settle in a later round (pass one member's copy
//!   and reject the others); action 3 lists such samples beforehand.
//! - The task ends in 3 (accepted) when every copy of the task is accepted, in 4 (rejected)
//!   after action 1, otherwise in 1 (running); cancelling (action 2) returns it to 1. Drawing
//!   (7) and writing to the dataset (5) happen inside one transaction and are never observed.
//!
//! Here: opening a round and the owner's verdicts; the seeded draw is in `draw`, the report in
//! `report`, closing a round (and writing to the dataset) in `close`.
//!
//! It must not write a member's labels or judge a single copy (`team::verdicts` does).

use std::collections::HashMap;

use teamlabel_api::batch::BatchResponse;
use teamlabel_api::enums::SampleStatus;
use teamlabel_api::team::acceptance::{
    AcceptanceReport, AcceptanceReportQuery, AcceptanceResult, CheckTaskStats, SampleCommentsRequest,
    StartAcceptanceRequest, StartAcceptanceResponse, UpdateAcceptanceQuery, UpdateAcceptanceRequest,
    UpdateAcceptanceResponse,
};

use crate::app::App;
use crate::clock::now_ms;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::ids::new_alnum19;
use crate::rules::values::PlacedLabel;
use crate::samples::batch::{labels_json, WRITE_ATTEMPTS};
use crate::samples::source::SourceUrls;
use crate::store::{
    round_status, CopyMove, CopyRecord, CopyState, HistoryRecord, HistoryStep, Judge, Labeler, RoundClose, RoundRecord,
    SampleRecord, SampleWrite, TaskRecord, TeamSample, TeamSampleRow, WorkerRecord,
};
use crate::team::consensus::{merge_copies, Merge};
use crate::team::task_samples::team_sample_to_api;
use crate::team::task_states::{forbidden, state, status};
use crate::team::verdicts::{is_version_conflict, points, Bench, SCORES};

mod close;
pub(crate) mod draw;
mod report;

pub use draw::draw;

/// The actions of `PUT .../acceptance/status`.
pub mod action {
    pub const ALL_PASS: i32 = 0;
    pub const ALL_REJECT: i32 = 1;
    pub const CANCEL: i32 = 2;
    pub const CONFLICTS: i32 = 3;
    pub const REST_PASS: i32 = 4;
    pub const REST_REJECT: i32 = 5;
}

/// The copies of a round's scope: in `__UNCHECK__`, with every copy of their sample either
/// `__UNCHECK__` or `__ACCEPTED__`.
fn scope_of(copies: &[CopyState]) -> Vec<&CopyState> {
    let mut ready: HashMap<&str, bool> = HashMap::new();
    for c in copies {
        let ok = c.state == state::UNCHECK || c.state == state::ACCEPTED;
        *ready.entry(c.sample_id.as_str()).or_insert(true) &= ok;
    }
    copies
        .iter()
        .filter(|c| c.state == state::UNCHECK && ready[c.sample_id.as_str()])
        .collect()
}

impl App {
    async fn acceptance_task(
        &self,
        p: &Principal,
        op: Op,
        dataset_id: &str,
        task_id: &str,
    ) -> Result<(TaskRecord, Vec<WorkerRecord>)> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(p, op, &Standing::task(&TaskRole::of(p, &members)))?;
        if matches!(task.status, status::CREATED | status::STARTING) {
            return Err(forbidden(format!(
                "The worker action is forbidden: acceptance needs a started task; this one is in status {}",
                task.status
            )));
        }
        Ok((task, members))
    }

    /// Opens an acceptance round: draws copies waiting for acceptance for the owner to judge.
    pub async fn start_acceptance(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        req: &StartAcceptanceRequest,
    ) -> Result<StartAcceptanceResponse> {
        let (task, _) = self
            .acceptance_task(p, Op::StartAcceptance, dataset_id, task_id)
            .await?;
        let wanted = match (req.sampling_rate, req.sampling_num) {
            (Some(rate), None) if rate > 0.0 && rate <= 1.0 => Wanted::Rate(rate),
            (Some(rate), None) => {
                return Err(Error::invalid(format!(
                    "sampling_rate must be greater than 0 and at most 1, got {rate}"
                )))
            }
            (None, Some(num)) if num >= 1 => Wanted::Num(num),
            (None, Some(num)) => return Err(Error::invalid(format!("sampling_num must be at least 1, got {num}"))),
            _ => {
                return Err(Error::invalid(
                    "give exactly one of sampling_rate (a share in (0, 1]) and sampling_num (a count)",
                ))
            }
        };
        if task.status == status::ACCEPTING {
            return Err(checking());
        }
        for attempt in 1..=WRITE_ATTEMPTS {
            let copies = self.store.task_copy_states(&task.id).await?;
            let scope = scope_of(&copies);
            if scope.is_empty() {
                return Err(Error::bad_request(
                    codes::NOTHING_TO_CHECK,
                    "There are no unchecked samples: no copy waits for acceptance (labeled, reviewed where the task has reviewers, with every copy of its sample ready)",
                ));
            }
            let n = match wanted {
                Wanted::Rate(rate) => ((rate * scope.len() as f64).ceil() as usize).max(1),
                Wanted::Num(num) => usize::try_from(num).unwrap_or(usize::MAX),
            };
            let seed = rand::random::<u64>() >> 1;
            let pairs: Vec<(i64, &str)> = scope.iter().map(|c| (c.id, c.worker_id.as_str())).collect();
            let drawn = draw(&pairs, n, seed);
            let now = now_ms();
            let round = RoundRecord {
                id: new_alnum19(),
                task_id: task.id.clone(),
                seed: seed as i64,
                sampling_rate: req.sampling_rate,
                sampling_num: req.sampling_num,
                total_count: scope.len() as i64,
                sampled_count: drawn.len() as i64,
                status: round_status::OPEN,
                action: None,
                overwrite: None,
                checked_count: 0,
                accepted_count: 0,
                rejected_count: 0,
                total_score: 0,
                created_by: p.user_id.clone(),
                closed_by: None,
                create_time: now,
                close_time: None,
            };
            let mut moves = Vec::with_capacity(scope.len());
            let mut history = Vec::with_capacity(drawn.len());
            for c in &scope {
                let is_drawn = drawn.binary_search(&c.id).is_ok();
                let after = if is_drawn {
                    state::SAMPLED_UNCHECK
                } else {
                    state::UNCHECK
                };
                moves.push(CopyMove {
                    copy_id: c.id,
                    expected_version: c.version,
                    state: after.to_string(),
                    round_id: Some(round.id.clone()),
                    update_time: now,
                });
                if is_drawn {
                    history.push(step_record(
                        p,
                        &task,
                        (&c.sample_id, &c.worker_id),
                        (&c.state, after),
                        None,
                        c.version + 1,
                        ("draw", Some(format!("drawn into acceptance round {}", round.id))),
                    ));
                }
            }
            let from = [status::RUNNING, status::ACCEPTED, status::REJECTED];
            match self.store.open_round(&round, &from, &moves, &history).await {
                Ok(()) => {
                    tracing::info!(task = %task.id, round = %round.id, scope = scope.len(), drawn = drawn.len(), "acceptance round opened");
                    return Ok(StartAcceptanceResponse { task_id: round.id });
                }
                Err(e) if is_version_conflict(&e) && attempt < WRITE_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// The owner's verdicts on drawn copies of the open round (re-judging allowed).
    pub async fn accept_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        req: &SampleCommentsRequest,
    ) -> Result<BatchResponse> {
        let (task, _) = self.acceptance_task(p, Op::AcceptSamples, dataset_id, task_id).await?;
        let comments = req
            .comments
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::invalid("comments is required: one verdict per drawn copy"))?;
        let round = self.store.open_round_of(&task.id).await?.ok_or_else(no_open_round)?;
        let bench = Bench {
            judge: Judge::Check,
            round_id: Some(&round.id),
        };
        self.judge(p, &task, comments, &bench).await
    }
}

#[derive(Clone, Copy)]
enum Wanted {
    Rate(f64),
    Num(i64),
}

fn checking() -> Error {
    Error::bad_request(
        codes::TASK_CHECKING,
        "Workforce task is checking: an acceptance round is open; close or cancel it first (PUT .../acceptance/status)",
    )
}

fn no_open_round() -> Error {
    Error::bad_request(
        codes::ACCEPTANCE_NOT_FOUND,
        "Task not found: no acceptance round is open on this task; open one with POST .../acceptance",
    )
}

/// A history row of a step on a copy that leaves its labels as they are.
fn step_record(
    p: &Principal,
    task: &TaskRecord,
    (sample_id, worker_id): (&str, &str),
    (before, after): (&str, &str),
    labels: Option<&[PlacedLabel]>,
    version_after: i64,
    (event, comment): (&str, Option<String>),
) -> HistoryRecord {
    let labels = labels.map_or_else(|| "[]".to_string(), labels_json);
    HistoryRecord {
        id: 0,
        dataset_id: task.dataset_id.clone(),
        sample_id: sample_id.to_string(),
        task_id: Some(task.id.clone()),
        worker_id: Some(worker_id.to_string()),
        actor_user_id: p.user_id.clone(),
        actor_email: p.email.clone(),
        change_time: now_ms(),
        state_before: before.to_string(),
        state_after: after.to_string(),
        labels_before: labels.clone(),
        labels_after: labels,
        version_after,
        copy_id: None,
        step: HistoryStep {
            event: event.to_string(),
            comment,
            from_workers: Vec::new(),
        },
    }
}
