//! The report of an acceptance round (`GET .../acceptance/report`): live counts while a round
//! is open, recorded ones once it ended, and the sum over every round. Reads only.

use super::*;

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

fn round_not_found(id: &str) -> Error {
    Error::bad_request(
        codes::ACCEPTANCE_NOT_FOUND,
        format!("Task not found: no acceptance round {id:?} in this task"),
    )
}

impl App {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_follow_the_mean_score() {
        assert_eq!(grade(0, 0), "E");
        assert_eq!(grade(8, 2), "A");
        assert_eq!(grade(5, 2), "B"); // 2.5 rounds to 3
        assert_eq!(grade(1, 1), "D");
    }
}
