//! Closing the open round (`PUT .../acceptance/status`): every copy of its scope passes or is
//! rejected as the action says, each sample's passing copies are merged by consensus, and the
//! accepted labels are written to the dataset, all in one transaction; action 2 cancels and
//! action 3 lists the samples whose copies conflict.

use super::*;
use crate::webhooks::round_closed;

/// How many samples one store read loads while closing a round.
const LOAD_CHUNK: usize = 500;

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
            let (mut close, moves, writes, history, result) = outcome;
            let synced = (act != action::CANCEL).then_some(result.synced_sample_count);
            close.event = Some(round_closed(&task.dataset_id, &close.round, close.task_status, synced));
            match self.store.close_round(&close, &moves, &writes, &history).await {
                Ok(()) => {
                    self.webhooks.wake();
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
            event: None,
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
                labels_before: labels_json(&current.labels),
                labels_after: labels_json(labels),
                version_after: current.version + 1,
                copy_id: None,
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
            event: None,
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
