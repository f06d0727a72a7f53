//! Task statistics read from stored state: sample counters of a task and of each member, the
//! tasks a person works on (`/workforces/worker-tasks`), and per-member state maps. Reads only.

use std::collections::{BTreeMap, HashMap};
use teamlabel_api::team::tasks::{
    ListWorkerTasksQuery, ListWorkerTasksResponse, SampleStats, TaskStatsQuery, WorkerTask, WorkforceTaskMetrics,
    WorkforceTaskStats,
};

use crate::app::App;
use crate::error::{Error, Result};
use crate::iam::auth::{Principal, Role};
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::query::{parse_order, parse_page};
use crate::store::{CopyCount, TaskRecord, WorkerRecord};
use crate::team::task_states::{state, status};

/// Most task memberships of one person that `/workforces/worker-tasks` reads.
const MAX_MEMBERSHIPS_LISTED: u64 = 10_000;

/// Verdict counts of a set of copy counts: (review passed, review rejected, check passed,
/// check rejected).
fn verdict_counts(counts: &[&CopyCount]) -> [u64; 4] {
    let sum = |f: &dyn Fn(&CopyCount) -> bool| counts.iter().filter(|c| f(c)).map(|c| c.count).sum::<u64>();
    [
        sum(&|c| c.review_accept == Some(true)),
        sum(&|c| c.review_accept == Some(false)),
        sum(&|c| c.check_accept == Some(true)),
        sum(&|c| c.check_accept == Some(false)),
    ]
}

/// passed / (passed + rejected), 0 when there is no verdict.
pub(crate) fn pass_rate(passed: u64, rejected: u64) -> f64 {
    if passed + rejected == 0 {
        0.0
    } else {
        passed as f64 / (passed + rejected) as f64
    }
}

/// Counters of a set of copy counts.
pub(crate) fn sample_stats(counts: &[&CopyCount], total: u64) -> SampleStats {
    let of = |s: &str| counts.iter().filter(|c| c.state == s).map(|c| c.count).sum::<u64>();
    let [review_passed, review_rejected, check_passed, check_rejected] = verdict_counts(counts);
    SampleStats {
        total_sample_count: total,
        unannotated_sample_count: of(state::NONE),
        auto_annotation_sample_count: of(state::AUTO_ANNOTATION),
        unreviewed_sample_count: of(state::UNREVIEWED),
        uncheck_sample_count: of(state::UNCHECK),
        sampled_sample_count: state::SAMPLED.iter().map(|s| of(s)).sum(),
        accepted_sample_count: of(state::ACCEPTED),
        rejected_sample_count: of(state::REJECTED),
        deleted_sample_count: 0,
        review_passed_count: review_passed,
        review_rejected_count: review_rejected,
        review_pass_rate: pass_rate(review_passed, review_rejected),
        check_passed_count: check_passed,
        check_rejected_count: check_rejected,
        check_pass_rate: pass_rate(check_passed, check_rejected),
    }
}

/// Copy counts by state (the states add up to `total`) and across states.
pub(crate) fn state_map(counts: &[&CopyCount]) -> BTreeMap<String, u64> {
    let of = |s: &str| counts.iter().filter(|c| c.state == s).map(|c| c.count).sum::<u64>();
    let [review_passed, review_rejected, check_passed, check_rejected] = verdict_counts(counts);
    BTreeMap::from([
        ("total".to_string(), counts.iter().map(|c| c.count).sum()),
        ("un_annotation".to_string(), of(state::NONE)),
        ("auto_annotation".to_string(), of(state::AUTO_ANNOTATION)),
        ("unreviewed".to_string(), of(state::UNREVIEWED)),
        ("uncheck".to_string(), of(state::UNCHECK)),
        ("sampled_uncheck".to_string(), of(state::SAMPLED_UNCHECK)),
        ("sampled_accepted".to_string(), of(state::SAMPLED_ACCEPTED)),
        ("sampled_rejected".to_string(), of(state::SAMPLED_REJECTED)),
        ("accepted".to_string(), of(state::ACCEPTED)),
        ("rejected".to_string(), of(state::REJECTED)),
        ("sampled".to_string(), state::SAMPLED.iter().map(|s| of(s)).sum()),
        ("review_passed".to_string(), review_passed),
        ("review_rejected".to_string(), review_rejected),
        ("check_passed".to_string(), check_passed),
        ("check_rejected".to_string(), check_rejected),
    ])
}

impl App {
    pub async fn list_worker_tasks(&self, p: &Principal, q: &ListWorkerTasksQuery) -> Result<ListWorkerTasksResponse> {
        policy::authorize(p, Op::ListWorkerTasks, &Standing::project(p))?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let sort_by_name = match q.sort_by.as_deref() {
            None | Some("") | Some("create_time") => false,
            Some("workforce_task_name") => true,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "sort_by must be create_time or workforce_task_name, got {other:?}"
                )))
            }
        };
        let ascending = parse_order(q.order.as_deref())?;
        // A member sees a task once it has started; a manager also before. A person has few
        // memberships, so they are read whole, filtered, and paged here.
        let (_, all) = self
            .store
            .list_user_tasks(
                &p.user_id,
                0,
                MAX_MEMBERSHIPS_LISTED,
                ascending,
                sort_by_name,
                q.search_content.as_deref().filter(|s| !s.is_empty()),
            )
            .await?;
        let visible: Vec<(TaskRecord, WorkerRecord)> = all
            .into_iter()
            .filter(|(t, w)| t.status != status::CREATED || w.role == Role::Manager)
            .collect();
        let count = visible.len() as u64;
        let start = (page.offset.saturating_mul(page.limit)).min(count) as usize;
        let end = (start as u64 + page.limit).min(count) as usize;
        let rows = &visible[start..end];
        let mut out = Vec::with_capacity(rows.len());
        let mut dataset_types: HashMap<String, Option<i32>> = HashMap::new();
        for (task, worker) in rows {
            let counts = self.store.task_copy_counts(&task.id).await?;
            let mine: Vec<&CopyCount> = counts.iter().filter(|c| c.worker_id == worker.id).collect();
            let total = mine.iter().map(|c| c.count).sum();
            if !dataset_types.contains_key(&task.dataset_id) {
                let t = self
                    .store
                    .get_dataset(&p.project_id, &task.dataset_id)
                    .await
                    .ok()
                    .map(|d| d.dataset_type.code());
                dataset_types.insert(task.dataset_id.clone(), t);
            }
            out.push(worker_task(
                task,
                worker,
                sample_stats(&mine, total),
                dataset_types[&task.dataset_id],
            ));
        }
        Ok(ListWorkerTasksResponse {
            count,
            worker_tasks: out,
        })
    }

    pub async fn workforce_task_stats(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        q: &TaskStatsQuery,
    ) -> Result<WorkforceTaskStats> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(
            p,
            Op::GetWorkforceTaskStats,
            &Standing::task(&TaskRole::of(p, &members)),
        )?;
        if q.sample_state.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(Error::invalid(
                "sample_state is not supported on task statistics; the answer counts every state",
            ));
        }
        let view = self.task_view(&task, &members, false, true, None).await?;
        let counts = self.store.task_copy_counts(&task.id).await?;
        let all: Vec<&CopyCount> = counts.iter().collect();
        let sample_stats = state_map(&all);
        Ok(WorkforceTaskStats {
            sample_stats,
            label_stats: view.label_stats.unwrap_or_default(),
        })
    }

    pub async fn workforce_task_metrics(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
    ) -> Result<WorkforceTaskMetrics> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(
            p,
            Op::GetWorkforceTaskMetrics,
            &Standing::task(&TaskRole::of(p, &members)),
        )?;
        let counts = self.store.task_copy_counts(&task.id).await?;
        let mut out = BTreeMap::new();
        for m in members.iter().filter(|m| m.role == Role::Labeler) {
            let mine: Vec<&CopyCount> = counts.iter().filter(|c| c.worker_id == m.id).collect();
            out.insert(m.email.clone(), state_map(&mine));
        }
        Ok(WorkforceTaskMetrics { sample_stats: out })
    }
}

pub(crate) fn worker_task(
    task: &TaskRecord,
    m: &WorkerRecord,
    stats: SampleStats,
    dataset_type: Option<i32>,
) -> WorkerTask {
    WorkerTask {
        worker_id: m.id.clone(),
        email: m.email.clone(),
        role: m.role.code(),
        task_id: task.id.clone(),
        workforce_task_name: task.name.clone(),
        dataset_id: task.dataset_id.clone(),
        dataset_type,
        task_status: task.status,
        sample_stats: stats,
        email_status: 0,
        last_notify_time: 0,
        create_time: task.create_time,
        update_time: task.update_time,
    }
}
