//! Verdicts on members' copies: the reviewer's (`POST .../data-annotations/review`) and, through
//! `judge`, the owner's inside an acceptance round (`team::acceptance`). Each verdict names a
//! sample and, where the sample has several copies, the member; one bad verdict fails alone
//! (its item says why), the others are written in one transaction with a history row each.
//! It must not open or close rounds.

use std::collections::{HashMap, HashSet};

use teamlabel_api::batch::{BatchResponse, ItemResult};
use teamlabel_api::team::acceptance::{SampleComment, SampleCommentsRequest};

use crate::app::App;
use crate::batch;
use crate::clock::now_ms;
use crate::error::{codes, Error, ErrorKind, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::ids::{is_hex32, is_plausible_id};
use crate::samples::batch::{labels_json, WRITE_ATTEMPTS};
use crate::store::{CopyRecord, CopyVerdict, HistoryRecord, HistoryStep, Judge, TaskRecord, TeamSample};
use crate::team::task_states::{forbidden, state, status};
use crate::text::check_text;
use crate::webhooks::copies_reviewed;

/// The characters a verdict's comment may not contain.
const COMMENT_FORBIDDEN: &str = "!<>=&\"'";

/// The grades of a verdict, best first.
pub const SCORES: [&str; 4] = ["A", "B", "C", "D"];

/// The points of a grade: A 4, B 3, C 2, D 1.
pub fn points(score: &str) -> Option<i64> {
    SCORES.iter().position(|s| *s == score).map(|i| 4 - i as i64)
}

/// What a judge may judge and where the verdict moves a copy.
pub(crate) struct Bench<'a> {
    pub judge: Judge,
    /// Only copies of this round (the owner's verdicts).
    pub round_id: Option<&'a str>,
}

impl Bench<'_> {
    /// Whether a copy waits for this judge; the error of its item otherwise.
    fn check_waiting(&self, sample_id: &str, copy: &CopyRecord) -> Result<()> {
        let waiting = match self.judge {
            Judge::Review => copy.state == state::UNREVIEWED,
            Judge::Check => state::is_sampled(&copy.state) && copy.round_id.as_deref() == self.round_id,
        };
        if waiting {
            return Ok(());
        }
        let wanted = match self.judge {
            Judge::Review => "waiting for review (__UNREVIEWED__)",
            Judge::Check => "drawn into the open acceptance round",
        };
        Err(Error::bad_request(
            codes::SAMPLE_ACCEPTED,
            format!(
                "The sample has been reviewed: the copy of sample {sample_id} by worker {} is {}, not {wanted}",
                copy.worker_id, copy.state
            ),
        ))
    }

    fn state_after(&self, accept: bool) -> &'static str {
        match (self.judge, accept) {
            (Judge::Review, true) => state::UNCHECK,
            (Judge::Review, false) => state::REJECTED,
            (Judge::Check, true) => state::SAMPLED_ACCEPTED,
            (Judge::Check, false) => state::SAMPLED_REJECTED,
        }
    }

    fn event(&self) -> &'static str {
        match self.judge {
            Judge::Review => "review",
            Judge::Check => "check",
        }
    }
}

/// A verdict's own fields, checked: (sample id, worker id, accept, score, comment).
type Checked<'c> = (&'c str, Option<&'c str>, bool, Option<String>, Option<String>);

fn check_comment(c: &SampleComment) -> Result<Checked<'_>> {
    let accept = c
        .accept
        .ok_or_else(|| Error::invalid("accept is required: true passes the copy, false rejects it"))?;
    let sample_id = c
        .sample_id
        .as_deref()
        .ok_or_else(|| Error::invalid("sample_id is required: the sample judged"))?;
    if !is_hex32(sample_id) {
        return Err(Error::sample_not_found(sample_id));
    }
    let worker_id = c.worker_id.as_deref().filter(|w| !w.is_empty());
    if let Some(w) = worker_id {
        if !is_plausible_id(w) {
            return Err(Error::invalid(format!("worker_id {w:?} is not a worker id")));
        }
    }
    let score = match c.score.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) if SCORES.contains(&s) => Some(s.to_string()),
        Some(s) => return Err(Error::invalid(format!("score must be A, B, C or D, got {s:?}"))),
    };
    let comment = match c.comment.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => {
            check_text("comment", text, 256, COMMENT_FORBIDDEN)?;
            Some(text.to_string())
        }
    };
    Ok((sample_id, worker_id, accept, score, comment))
}

/// The copy a verdict is about: the named member's, or the sample's only one.
fn locate<'t>(
    team_sample: Option<&&'t TeamSample>,
    sample_id: &str,
    worker_id: Option<&str>,
) -> Result<&'t CopyRecord> {
    let team_sample = team_sample.ok_or_else(|| Error::sample_not_found(sample_id))?;
    if team_sample.copies.is_empty() {
        return Err(Error::bad_request(
            codes::SAMPLE_NOT_FOUND,
            format!("Sample not found in this task: {sample_id}"),
        ));
    }
    match worker_id {
        Some(w) => team_sample.copies.iter().find(|c| c.worker_id == w).ok_or_else(|| {
            forbidden(format!(
                "The worker action is forbidden: sample {sample_id} is not assigned to worker {w}"
            ))
        }),
        None => match team_sample.copies.as_slice() {
            [only] => Ok(only),
            several => Err(Error::invalid(format!(
                "worker_id is required: sample {sample_id} has {} copies (one per labeler); name whose copy is judged",
                several.len()
            ))),
        },
    }
}

impl App {
    /// Reviewer verdicts: a pass moves a copy from `__UNREVIEWED__` to `__UNCHECK__` (waiting for
    /// acceptance), a reject to `__REJECTED__`, back to its labeler with the comment.
    pub async fn review_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        req: &SampleCommentsRequest,
    ) -> Result<BatchResponse> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(p, Op::ReviewSamples, &Standing::task(&TaskRole::of(p, &members)))?;
        if matches!(task.status, status::CREATED | status::STARTING) {
            return Err(forbidden(format!(
                "The worker action is forbidden: the task has not started (status {})",
                task.status
            )));
        }
        let comments = req.comments.as_deref().unwrap_or(&[]);
        let bench = Bench {
            judge: Judge::Review,
            round_id: None,
        };
        self.judge(p, &task, comments, &bench).await
    }

    /// Applies verdicts to copies, each item alone; re-read and re-planned when a copy moved
    /// between the read and the write.
    pub(crate) async fn judge(
        &self,
        p: &Principal,
        task: &TaskRecord,
        comments: &[SampleComment],
        bench: &Bench<'_>,
    ) -> Result<BatchResponse> {
        if comments.len() > self.limits.max_batch {
            return Err(Error::invalid(format!(
                "comments holds {} verdicts; at most {} fit in one request",
                comments.len(),
                self.limits.max_batch
            )));
        }
        if comments.is_empty() {
            return Ok(BatchResponse::from_results(Vec::new()));
        }
        let ids: Vec<String> = comments
            .iter()
            .filter_map(|c| c.sample_id.clone())
            .filter(|id| is_hex32(id))
            .collect();
        for attempt in 1..=WRITE_ATTEMPTS {
            let loaded = self.store.load_team_samples(&task.id, &task.dataset_id, &ids).await?;
            let by_id: HashMap<&str, &TeamSample> = loaded.iter().map(|t| (t.sample.id.as_str(), t)).collect();
            let now = now_ms();
            let mut seen: HashSet<i64> = HashSet::new();
            let mut results = Vec::with_capacity(comments.len());
            let mut verdicts = Vec::new();
            let mut history = Vec::new();
            for (i, c) in comments.iter().enumerate() {
                let planned = check_comment(c).and_then(|(sample_id, worker_id, accept, score, comment)| {
                    let copy = locate(by_id.get(sample_id), sample_id, worker_id)?;
                    bench.check_waiting(sample_id, copy)?;
                    if !seen.insert(copy.id) {
                        return Err(Error::invalid(format!(
                            "the copy of sample {sample_id} by worker {} is judged twice in this request",
                            copy.worker_id
                        )));
                    }
                    let after = bench.state_after(accept);
                    verdicts.push(CopyVerdict {
                        copy_id: copy.id,
                        expected_version: copy.version,
                        judge: bench.judge,
                        state: after.to_string(),
                        accept,
                        comment: comment.clone(),
                        score,
                        update_time: now,
                    });
                    history.push(HistoryRecord {
                        id: 0,
                        dataset_id: task.dataset_id.clone(),
                        sample_id: sample_id.to_string(),
                        task_id: Some(task.id.clone()),
                        worker_id: Some(copy.worker_id.clone()),
                        actor_user_id: p.user_id.clone(),
                        actor_email: p.email.clone(),
                        change_time: now,
                        state_before: copy.state.clone(),
                        state_after: after.to_string(),
                        labels_before: labels_json(&copy.labels),
                        labels_after: labels_json(&copy.labels),
                        version_after: copy.version + 1,
                        copy_id: None,
                        step: HistoryStep {
                            event: bench.event().into(),
                            comment,
                            from_workers: Vec::new(),
                        },
                    });
                    Ok(())
                });
                results.push(match planned {
                    Ok(()) => ItemResult {
                        sample_id: c.sample_id.clone(),
                        ..ItemResult::ok()
                    },
                    Err(e) => ItemResult {
                        sample_id: c.sample_id.clone(),
                        ..batch::failed(&Error {
                            message: format!("comments[{i}]: {}", e.message),
                            ..e
                        })
                    },
                });
            }
            let by = match bench.judge {
                Judge::Review => "reviewer",
                Judge::Check => "owner",
            };
            let events: Vec<_> = (!verdicts.is_empty())
                .then(|| copies_reviewed(&task.dataset_id, &task.id, by, &verdicts, &history))
                .into_iter()
                .collect();
            match self.store.judge_copies(&verdicts, &history, &events).await {
                Ok(()) => {
                    if !events.is_empty() {
                        self.webhooks.wake();
                    }
                    return Ok(BatchResponse::from_results(results));
                }
                Err(e) if is_version_conflict(&e) && attempt < WRITE_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last attempt returns")
    }
}

/// Whether an error is a copy or sample that moved past the version a write expected.
pub(crate) fn is_version_conflict(e: &Error) -> bool {
    e.kind == ErrorKind::Conflict && e.code == codes::VERSION_CONFLICT
}
