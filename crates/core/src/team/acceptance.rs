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
//! It must not write a member's labels or judge a single copy (`team::verdicts` does).

use std::collections::{BTreeMap, HashMap};

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
use crate::samples::batch::{labels_value, WRITE_ATTEMPTS};
use crate::samples::source::SourceUrls;
use crate::store::{
    round_status, CopyMove, CopyRecord, CopyState, HistoryRecord, HistoryStep, Judge, Labeler, RoundClose, RoundRecord,
    SampleRecord, SampleWrite, TaskRecord, TeamSample, TeamSampleRow, WorkerRecord,
};
use crate::team::consensus::{merge_copies, Merge};
use crate::team::task_samples::team_sample_to_api;
use crate::team::task_states::{forbidden, state, status};
use crate::team::verdicts::{is_version_conflict, points, Bench, SCORES};

/// How many samples one store read loads while closing a round.
const LOAD_CHUNK: usize = 500;

/// The actions of `PUT .../acceptance/status`.
pub mod action {
    pub const ALL_PASS: i32 = 0;
    pub const ALL_REJECT: i32 = 1;
    pub const CANCEL: i32 = 2;
    pub const CONFLICTS: i32 = 3;
    pub const REST_PASS: i32 = 4;
    pub const REST_REJECT: i32 = 5;
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small generator whose sequence for a seed never
/// changes, so a stored seed repeats its draw.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in 0..n (n > 0), without modulo bias worth speaking of for n far below 2^64.
    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// The copies a round draws out of its scope: `n` of them, each labeler's share proportional
/// to their share of the scope (largest remainder, ties broken by the seed), chosen within a
/// labeler by a seeded shuffle. `scope` is ordered by sample then worker; the answer is sorted.
pub fn draw(scope: &[(i64, &str)], n: usize, seed: u64) -> Vec<i64> {
    let n = n.min(scope.len());
    let mut by_worker: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (id, worker) in scope {
        by_worker.entry(worker).or_default().push(*id);
    }
    let total = scope.len();
    let mut rng = SplitMix64(seed);
    // Each labeler's quota: the floor of their exact share, then one more for the largest
    // remainders (ties in a seeded order) until n are given.
    let mut quotas: Vec<(&str, usize, usize, u64)> = by_worker
        .iter()
        .map(|(w, ids)| {
            let exact = n * ids.len();
            (*w, exact / total, exact % total, rng.next())
        })
        .collect();
    let given: usize = quotas.iter().map(|q| q.1).sum();
    let mut order: Vec<usize> = (0..quotas.len()).collect();
    order.sort_by(|a, b| quotas[*b].2.cmp(&quotas[*a].2).then(quotas[*a].3.cmp(&quotas[*b].3)));
    for i in order.into_iter().take(n - given) {
        quotas[i].1 += 1;
    }
    let mut drawn = Vec::with_capacity(n);
    for (worker, quota, _, _) in quotas {
        let mut ids = by_worker[worker].clone();
        rng.shuffle(&mut ids);
        drawn.extend(ids.into_iter().take(quota));
    }
    drawn.sort_unstable();
    drawn
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

/// The grade of a mean number of points (A 4 .. D 1), `E` when nothing was scored.
fn grade(total: i64, scored: i64) -> String {
    if scored == 0 {
        return "E".into();
    }
    let mean = (total as f64 / scored as f64).round() as i64;
    SCORES
        .get((4 - mean.clamp(1, 4)) as usize)
        .map_or("E".into(), |s| s.to_string())
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Live counts of an open round over its copies.
fn live_stats(r: &RoundRecord, copies: &[CopyState]) -> CheckTaskStats {
    let mine: Vec<&CopyState> = copies
        .iter()
        .filter(|c| c.round_id.as_deref() == Some(r.id.as_str()) && state::is_sampled(&c.state))
        .collect();
    let count = |s: &str| mine.iter().filter(|c| c.state == s).count() as i64;
    let accepted = count(state::SAMPLED_ACCEPTED);
    let rejected = count(state::SAMPLED_REJECTED);
    let scores: Vec<i64> = mine
        .iter()
        .filter(|c| c.state != state::SAMPLED_UNCHECK)
        .filter_map(|c| c.verdicts.check_score.as_deref().and_then(points))
        .collect();
    let total_score = scores.iter().sum();
    stats_of(
        r,
        (accepted + rejected, accepted, rejected),
        (total_score, scores.len() as i64),
    )
}

fn stats_of(
    r: &RoundRecord,
    (checked, accepted, rejected): (i64, i64, i64),
    (total_score, scored): (i64, i64),
) -> CheckTaskStats {
    CheckTaskStats {
        task_id: r.id.clone(),
        sampling_rate: r.sampling_rate.unwrap_or_else(|| ratio(r.sampled_count, r.total_count)),
        sampling_num: r.sampling_num.unwrap_or(r.sampled_count),
        total_sample_count: r.total_count,
        sampled_sample_count: r.sampled_count,
        checked_sample_count: checked,
        unchecked_sample_count: r.sampled_count - checked,
        accepted_sample_count: accepted,
        rejected_sample_count: rejected,
        pass_rate: ratio(accepted, checked),
        score: grade(total_score, scored),
        total_score,
    }
}

/// Counts of a closed or cancelled round, as recorded when it ended.
fn recorded_stats(r: &RoundRecord) -> CheckTaskStats {
    // The number of scored verdicts is not recorded; the grade uses the judged count, which
    // equals it when every verdict carries a score.
    stats_of(
        r,
        (r.checked_count, r.accepted_count, r.rejected_count),
        (r.total_score, r.checked_count),
    )
}

fn check_locale(locale: Option<&str>) -> Result<&'static str> {
    match locale.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("en-us") => Ok("en-us"),
        Some("zh-cn") => Ok("zh-cn"),
        Some(other) => Err(Error::bad_request(
            codes::BAD_LOCALE,
            format!("Invalid system language: locale must be en-us or zh-cn, got {other:?}"),
        )),
    }
}

fn round_not_found(id: &str) -> Error {
    Error::bad_request(
        codes::ACCEPTANCE_NOT_FOUND,
        format!("Task not found: no acceptance round {id:?} in this task"),
    )
}

/// A copy's fate when a round closes with an action: whether it passes.
fn passes(act: i32, copy_state: &str) -> bool {
    match act {
        action::ALL_PASS => true,
        action::ALL_REJECT => false,
        action::REST_PASS => copy_state != state::SAMPLED_REJECTED,
        action::REST_REJECT => copy_state == state::SAMPLED_ACCEPTED,
        _ => false,
    }
}

/// What closing decides for one sample.
struct SampleOutcome<'s> {
    sample: &'s TeamSample,
    /// The passing copies of the scope.
    passing: Vec<&'s CopyRecord>,
    rejected: Vec<&'s CopyRecord>,
    /// The merge of the passing copies and those accepted earlier.
    merge: Merge,
    /// The members whose copies the merge is of.
    from_workers: Vec<String>,
}

fn decide<'s>(sample: &'s TeamSample, round_id: &str, act: i32, iou: f64) -> SampleOutcome<'s> {
    let in_scope: Vec<&CopyRecord> = sample
        .copies
        .iter()
        .filter(|c| {
            c.round_id.as_deref() == Some(round_id) && (c.state == state::UNCHECK || state::is_sampled(&c.state))
        })
        .collect();
    let (passing, rejected): (Vec<&CopyRecord>, Vec<&CopyRecord>) =
        in_scope.into_iter().partition(|c| passes(act, &c.state));
    let mut merged: Vec<&CopyRecord> = sample.copies.iter().filter(|c| c.state == state::ACCEPTED).collect();
    merged.extend(passing.iter().copied());
    merged.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
    let labels: Vec<&[PlacedLabel]> = merged.iter().map(|c| c.labels.as_slice()).collect();
    let merge = if passing.is_empty() {
        Merge::Agreed(Vec::new())
    } else {
        match merge_copies(&labels, iou) {
            Merge::Agreed(kept) if kept.is_empty() => {
                Merge::Conflict(vec!["no label is held by a majority of the copies".into()])
            }
            other => other,
        }
    };
    SampleOutcome {
        sample,
        passing,
        rejected,
        merge,
        from_workers: merged.iter().map(|c| c.worker_id.clone()).collect(),
    }
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

    /// The counts of a round (live while it is open) and of every round so far.
    pub async fn acceptance_report(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        q: &AcceptanceReportQuery,
    ) -> Result<AcceptanceReport> {
        let (task, _) = self
            .acceptance_task(p, Op::GetAcceptanceReport, dataset_id, task_id)
            .await?;
        let id =
            q.checking_task_id.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
                Error::invalid("checking_task_id is required: the round POST .../acceptance answered")
            })?;
        let rounds = self.store.list_rounds(&task.id).await?;
        let asked = rounds.iter().find(|r| r.id == id).ok_or_else(|| round_not_found(id))?;
        let copies = match rounds.iter().any(|r| r.status == round_status::OPEN) {
            true => self.store.task_copy_states(&task.id).await?,
            false => Vec::new(),
        };
        let of = |r: &RoundRecord| match r.status {
            round_status::OPEN => live_stats(r, &copies),
            _ => recorded_stats(r),
        };
        let mut total = CheckTaskStats {
            score: "E".into(),
            ..CheckTaskStats::default()
        };
        let mut scored = 0;
        for r in rounds
            .iter()
            .filter(|r| r.status != round_status::CANCELLED || r.id == id)
        {
            let s = of(r);
            total.total_sample_count += s.total_sample_count;
            total.sampled_sample_count += s.sampled_sample_count;
            total.checked_sample_count += s.checked_sample_count;
            total.unchecked_sample_count += s.unchecked_sample_count;
            total.accepted_sample_count += s.accepted_sample_count;
            total.rejected_sample_count += s.rejected_sample_count;
            total.total_score += s.total_score;
            scored += s.checked_sample_count;
        }
        total.sampling_num = total.sampled_sample_count;
        total.sampling_rate = ratio(total.sampled_sample_count, total.total_sample_count);
        total.pass_rate = ratio(total.accepted_sample_count, total.checked_sample_count);
        total.score = grade(total.total_score, scored);
        Ok(AcceptanceReport {
            checking_stats: of(asked),
            total_stats: total,
        })
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

    /// Closes the open round with an action (or lists its conflicts, action 3).
    #[allow(clippy::too_many_arguments)] // the path, the query and the body
    pub async fn update_acceptance(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        q: &UpdateAcceptanceQuery,
        req: &UpdateAcceptanceRequest,
        urls: &dyn SourceUrls,
    ) -> Result<UpdateAcceptanceResponse> {
        let (task, members) = self
            .acceptance_task(p, Op::UpdateAcceptance, dataset_id, task_id)
            .await?;
        let locale = check_locale(q.locale.as_deref())?;
        let act = match req.action {
            Some(a @ 0..=5) => a as i32,
            Some(a) => return Err(Error::invalid(format!("action must be 0 to 5, got {a}"))),
            None => return Err(Error::invalid("action is required: 0 to 5")),
        };
        let overwrite = req.overwrite_last_result.unwrap_or(false);
        for attempt in 1..=WRITE_ATTEMPTS {
            let round = self.store.open_round_of(&task.id).await?.ok_or_else(no_open_round)?;
            let copies = self.store.task_copy_states(&task.id).await?;
            let mut ids: Vec<String> = copies
                .iter()
                .filter(|c| c.round_id.as_deref() == Some(round.id.as_str()))
                .map(|c| c.sample_id.clone())
                .collect();
            ids.dedup();
            let mut samples = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(LOAD_CHUNK) {
                samples.extend(self.store.load_team_samples(&task.id, &task.dataset_id, chunk).await?);
            }
            if act == action::CONFLICTS {
                return Ok(conflicts(&samples, &round, &members, task.iou_threshold, urls));
            }
            let outcome = if act == action::CANCEL {
                self.cancel_plan(p, &task, &round, &samples)
            } else {
                self.close_plan(p, &task, &round, &samples, (act, overwrite, locale), &copies)
                    .await?
            };
            let (close, moves, writes, history, result) = outcome;
            match self.store.close_round(&close, &moves, &writes, &history).await {
                Ok(()) => {
                    tracing::info!(task = %task.id, round = %round.id, action = act, accepted = result.accepted_copy_count, rejected = result.rejected_copy_count, synced = result.synced_sample_count, "acceptance round closed");
                    return Ok(UpdateAcceptanceResponse {
                        sample_count: Some(result.synced_sample_count),
                        samples: None,
                        result: Some(result),
                    });
                }
                Err(e) if is_version_conflict(&e) && attempt < WRITE_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last attempt returns")
    }

    fn cancel_plan(&self, p: &Principal, task: &TaskRecord, round: &RoundRecord, samples: &[TeamSample]) -> ClosePlan {
        let now = now_ms();
        let mut moves = Vec::new();
        let mut history = Vec::new();
        for s in samples {
            for c in s
                .copies
                .iter()
                .filter(|c| c.round_id.as_deref() == Some(round.id.as_str()))
            {
                moves.push(CopyMove {
                    copy_id: c.id,
                    expected_version: c.version,
                    state: if c.state == state::UNCHECK || state::is_sampled(&c.state) {
                        state::UNCHECK.to_string()
                    } else {
                        c.state.clone()
                    },
                    round_id: None,
                    update_time: now,
                });
                if state::is_sampled(&c.state) {
                    history.push(step_record(
                        p,
                        task,
                        (&s.sample.id, &c.worker_id),
                        (&c.state, state::UNCHECK),
                        Some(&c.labels),
                        c.version + 1,
                        ("cancel", Some(format!("acceptance round {} cancelled", round.id))),
                    ));
                }
            }
        }
        let close = RoundClose {
            round: RoundRecord {
                status: round_status::CANCELLED,
                action: Some(action::CANCEL),
                closed_by: Some(p.user_id.clone()),
                close_time: Some(now),
                ..round.clone()
            },
            task_status: status::RUNNING,
        };
        let result = AcceptanceResult {
            task_status: status::RUNNING,
            message: "The acceptance round was cancelled; its copies wait for acceptance again".into(),
            ..AcceptanceResult::default()
        };
        (close, moves, Vec::new(), history, result)
    }

    async fn close_plan(
        &self,
        p: &Principal,
        task: &TaskRecord,
        round: &RoundRecord,
        samples: &[TeamSample],
        (act, overwrite, locale): (i32, bool, &str),
        copies: &[CopyState],
    ) -> Result<ClosePlan> {
        let now = now_ms();
        let outcomes: Vec<SampleOutcome> = samples
            .iter()
            .map(|s| decide(s, &round.id, act, task.iou_threshold))
            .collect();
        // The dataset's own labels of the samples that will take the team's.
        let synced_ids: Vec<String> = outcomes
            .iter()
            .filter(|o| task.auto_sync_dataset && !o.passing.is_empty() && matches!(o.merge, Merge::Agreed(_)))
            .map(|o| o.sample.sample.id.clone())
            .collect();
        let mut dataset: HashMap<String, SampleRecord> = HashMap::new();
        for chunk in synced_ids.chunks(LOAD_CHUNK) {
            for s in self.store.load_samples(&task.dataset_id, chunk).await? {
                dataset.insert(s.id.clone(), s);
            }
        }
        let mut moves = Vec::new();
        let mut writes = Vec::new();
        let mut history = Vec::new();
        let mut result = AcceptanceResult::default();
        let mut accepted_after: HashMap<i64, bool> =
            copies.iter().map(|c| (c.id, c.state == state::ACCEPTED)).collect();
        for o in &outcomes {
            let sample_id = &o.sample.sample.id;
            let agreed = match &o.merge {
                Merge::Agreed(labels) => Some(labels),
                Merge::Conflict(_) => None,
            };
            let pass_to = if agreed.is_some() {
                state::ACCEPTED
            } else {
                state::UNCHECK
            };
            for c in &o.passing {
                moves.push(copy_move(c, pass_to, now));
                accepted_after.insert(c.id, agreed.is_some());
                let (event, note) = match agreed {
                    Some(_) => ("accept", None),
                    None => ("accept", Some(conflict_note(&o.merge))),
                };
                history.push(step_record(
                    p,
                    task,
                    (sample_id, &c.worker_id),
                    (&c.state, pass_to),
                    Some(&c.labels),
                    c.version + 1,
                    (event, note),
                ));
            }
            for c in &o.rejected {
                moves.push(copy_move(c, state::REJECTED, now));
                history.push(step_record(
                    p,
                    task,
                    (sample_id, &c.worker_id),
                    (&c.state, state::REJECTED),
                    Some(&c.labels),
                    c.version + 1,
                    ("reject", None),
                ));
            }
            result.rejected_copy_count += o.rejected.len() as u64;
            match agreed {
                Some(_) => result.accepted_copy_count += o.passing.len() as u64,
                None => result.conflict_copy_count += o.passing.len() as u64,
            }
            let (Some(labels), Some(current)) = (agreed, dataset.get(sample_id)) else {
                continue;
            };
            if current.status != SampleStatus::UnAnnotation && !overwrite {
                result.kept_sample_count += 1;
                continue;
            }
            writes.push(SampleWrite {
                dataset_id: task.dataset_id.clone(),
                sample_id: sample_id.clone(),
                expected_version: current.version,
                labels: labels.clone(),
                metadata: current.metadata.clone(),
                sample_usage: None,
                status: SampleStatus::ManualAnnotation,
                update_time: now,
            });
            history.push(HistoryRecord {
                id: 0,
                dataset_id: task.dataset_id.clone(),
                sample_id: sample_id.clone(),
                task_id: Some(task.id.clone()),
                worker_id: match o.from_workers.as_slice() {
                    [one] => Some(one.clone()),
                    _ => None,
                },
                actor_user_id: p.user_id.clone(),
                actor_email: p.email.clone(),
                change_time: now,
                state_before: current.status.as_str().to_string(),
                state_after: SampleStatus::ManualAnnotation.as_str().to_string(),
                labels_before: labels_value(&current.labels),
                labels_after: labels_value(labels),
                version_after: current.version + 1,
                step: HistoryStep {
                    event: "sync".into(),
                    comment: Some(format!(
                        "accepted in round {} (action {act}) from the copies of {}",
                        round.id,
                        o.from_workers.join(", ")
                    )),
                    from_workers: o.from_workers.clone(),
                },
            });
            result.synced_sample_count += 1;
        }
        let all_accepted = !accepted_after.is_empty() && accepted_after.values().all(|a| *a);
        let task_status = if act == action::ALL_REJECT {
            status::REJECTED
        } else if all_accepted {
            status::ACCEPTED
        } else {
            status::RUNNING
        };
        let drawn: Vec<&CopyRecord> = samples
            .iter()
            .flat_map(|s| s.copies.iter())
            .filter(|c| c.round_id.as_deref() == Some(round.id.as_str()) && state::is_sampled(&c.state))
            .collect();
        let judged: Vec<&&CopyRecord> = drawn.iter().filter(|c| c.state != state::SAMPLED_UNCHECK).collect();
        let close = RoundClose {
            round: RoundRecord {
                status: round_status::CLOSED,
                action: Some(act),
                overwrite: Some(overwrite),
                checked_count: judged.len() as i64,
                accepted_count: judged.iter().filter(|c| c.state == state::SAMPLED_ACCEPTED).count() as i64,
                rejected_count: judged.iter().filter(|c| c.state == state::SAMPLED_REJECTED).count() as i64,
                total_score: judged
                    .iter()
                    .filter_map(|c| c.verdicts.check_score.as_deref().and_then(points))
                    .sum(),
                closed_by: Some(p.user_id.clone()),
                close_time: Some(now),
                ..round.clone()
            },
            task_status,
        };
        result.task_status = task_status;
        result.message = message(locale, &result);
        Ok((close, moves, writes, history, result))
    }
}

type ClosePlan = (
    RoundClose,
    Vec<CopyMove>,
    Vec<SampleWrite>,
    Vec<HistoryRecord>,
    AcceptanceResult,
);

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

fn copy_move(c: &CopyRecord, to: &str, now: i64) -> CopyMove {
    CopyMove {
        copy_id: c.id,
        expected_version: c.version,
        state: to.to_string(),
        round_id: None,
        update_time: now,
    }
}

fn conflict_note(merge: &Merge) -> String {
    match merge {
        Merge::Conflict(why) => format!("held back: the copies conflict ({})", why.join("; ")),
        Merge::Agreed(_) => String::new(),
    }
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
    let labels = labels.map_or(serde_json::Value::Array(Vec::new()), labels_value);
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
        step: HistoryStep {
            event: event.to_string(),
            comment,
            from_workers: Vec::new(),
        },
    }
}

/// Action 3: every copy of each sample of the round whose copies would conflict if they all
/// passed (those the owner rejected in the round left out).
fn conflicts(
    samples: &[TeamSample],
    round: &RoundRecord,
    members: &[WorkerRecord],
    iou: f64,
    urls: &dyn SourceUrls,
) -> UpdateAcceptanceResponse {
    let labelers: Vec<Labeler> = members
        .iter()
        .map(|m| Labeler {
            worker_id: m.id.clone(),
            email: m.email.clone(),
            role: m.role,
        })
        .collect();
    let mut listed = Vec::new();
    for s in samples {
        let o = decide(s, &round.id, action::REST_PASS, iou);
        if o.passing.is_empty() || matches!(o.merge, Merge::Agreed(_)) {
            continue;
        }
        let assigned: Vec<Labeler> = labelers
            .iter()
            .filter(|l| s.copies.iter().any(|c| c.worker_id == l.worker_id))
            .cloned()
            .collect();
        for c in &s.copies {
            let row = TeamSampleRow {
                sample: s.sample.clone(),
                copy: c.clone(),
                labelers: assigned.clone(),
            };
            listed.push(team_sample_to_api(&row, urls));
        }
    }
    UpdateAcceptanceResponse {
        sample_count: Some(listed.len() as u64),
        samples: Some(listed),
        result: None,
    }
}

fn message(locale: &str, r: &AcceptanceResult) -> String {
    match locale {
        "zh-cn" => format!(
            "验收完成：{} 份标注通过，{} 份驳回，{} 份因标注冲突退回待验收；{} 个样本的标注已同步到数据集，{} 个样本保留数据集原有标注。",
            r.accepted_copy_count,
            r.rejected_copy_count,
            r.conflict_copy_count,
            r.synced_sample_count,
            r.kept_sample_count
        ),
        _ => format!(
            "Acceptance finished: {} copies accepted, {} rejected, {} held back because their sample's copies conflict; {} samples' labels written to the dataset, {} kept the dataset's labels.",
            r.accepted_copy_count,
            r.rejected_copy_count,
            r.conflict_copy_count,
            r.synced_sample_count,
            r.kept_sample_count
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(workers: &[(&'static str, usize)]) -> Vec<(i64, &'static str)> {
        let mut out = Vec::new();
        for (w, n) in workers {
            for _ in 0..*n {
                out.push((out.len() as i64, *w));
            }
        }
        out
    }

    #[test]
    fn the_generator_is_splitmix64() {
        // The reference outputs for seed 1234567 (Vigna's splitmix64.c; Rosetta Code,
        // "Pseudo-random numbers/Splitmix64").
        let mut rng = SplitMix64(1234567);
        let got: Vec<u64> = (0..5).map(|_| rng.next()).collect();
        assert_eq!(
            got,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821
            ]
        );
    }

    #[test]
    fn a_seed_draws_the_same_copies_every_time() {
        let s = scope(&[("a", 40), ("b", 40), ("c", 20)]);
        assert_eq!(draw(&s, 30, 7), draw(&s, 30, 7));
        assert_ne!(draw(&s, 30, 7), draw(&s, 30, 8));
        // Pinned: a round's stored seed must repeat its draw in every later version, so a
        // change to the draw shows up here before it reaches a stored round.
        assert_eq!(draw(&scope(&[("a", 5), ("b", 5)]), 4, 42), PINNED);
    }

    const PINNED: [i64; 4] = [2, 3, 5, 7];

    #[test]
    fn the_draw_is_even_across_labelers() {
        let s = scope(&[("a", 40), ("b", 40), ("c", 20)]);
        let drawn = draw(&s, 50, 3);
        let of = |w: &str| drawn.iter().filter(|id| s[**id as usize].1 == w).count();
        assert_eq!((of("a"), of("b"), of("c")), (20, 20, 10));
        // Remainders: 3 of 3 labelers with 1 copy each, 2 drawn: two labelers give one each.
        let s = scope(&[("a", 1), ("b", 1), ("c", 1)]);
        assert_eq!(draw(&s, 2, 9).len(), 2);
    }

    #[test]
    fn asking_for_more_than_the_scope_draws_it_all() {
        let s = scope(&[("a", 3), ("b", 2)]);
        assert_eq!(draw(&s, 99, 1), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn grades_follow_the_mean_score() {
        assert_eq!(grade(0, 0), "E");
        assert_eq!(grade(8, 2), "A");
        assert_eq!(grade(5, 2), "B"); // 2.5 rounds to 3
        assert_eq!(grade(1, 1), "D");
    }

    #[test]
    fn actions_decide_each_copy_as_the_table_says() {
        use state::*;
        let states = [UNCHECK, SAMPLED_UNCHECK, SAMPLED_ACCEPTED, SAMPLED_REJECTED];
        let table = [
            (action::ALL_PASS, [true, true, true, true]),
            (action::ALL_REJECT, [false, false, false, false]),
            (action::REST_PASS, [true, true, true, false]),
            (action::REST_REJECT, [false, false, true, false]),
        ];
        for (act, expected) in table {
            assert_eq!(states.map(|s| passes(act, s)), expected, "action {act}");
        }
    }

    #[test]
    fn locales_are_en_us_by_default() {
        assert_eq!(check_locale(None).unwrap(), "en-us");
        assert_eq!(check_locale(Some("ZH-CN")).unwrap(), "zh-cn");
        assert_eq!(check_locale(Some("fr-fr")).unwrap_err().code, codes::BAD_LOCALE);
    }
}
