//! Reading team samples back: the members' copies of a task's samples, filtered to what the
//! caller may see (a labeler their own copies; owners, managers and reviewers every member's).
//! Writes live in `team::task_labels`. It must not write a copy.

use teamlabel_api::team::task_samples::{
    GetWorkforceTaskSampleQuery, LabelerView, ListWorkforceTaskSamplesQuery, ListWorkforceTaskSamplesResponse,
    WorkforceTaskSample,
};

use crate::app::App;
use crate::error::{Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::ids::{is_hex32, is_plausible_id};
use crate::query::parse_page;
use crate::rules::values::{meta, PlacedLabel};
use crate::samples::read::{sample_to_api, SampleFile};
use crate::samples::search::{label_name_filter, parse_search_conditions};
use crate::samples::source::SourceUrls;
use crate::store::{TaskRecord, TeamSampleQuery, TeamSampleRow, WorkerRecord};
use crate::team::task_states::{forbidden, state, status};

/// A team `sample_state` filter: the stored states it admits (`None`: every state) and, for
/// `__REVIEWED__`, the latest review verdict it needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateFilter {
    pub states: Option<Vec<String>>,
    pub review_accept: Option<bool>,
}

/// Parses a team `sample_state` filter (any case).
pub fn parse_team_state(value: Option<&str>) -> Result<StateFilter> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(StateFilter::default());
    };
    let upper = v.to_ascii_uppercase();
    let some = |states: &[&str]| StateFilter {
        states: Some(states.iter().map(|s| s.to_string()).collect()),
        review_accept: None,
    };
    match upper.as_str() {
        "__ALL__" => return Ok(StateFilter::default()),
        "__WORKFORCE_SAMPLED__" => return Ok(some(&state::SAMPLED)),
        "__WORKFORCE_SAMPLED_CHECKED__" => return Ok(some(&[state::SAMPLED_ACCEPTED, state::SAMPLED_REJECTED])),
        "__REVIEWED__" => {
            return Ok(StateFilter {
                states: None,
                review_accept: Some(true),
            })
        }
        _ => {}
    }
    if let Some(s) = state::ALL.iter().find(|s| **s == upper) {
        return Ok(some(&[s]));
    }
    Err(Error::invalid(format!(
        "sample_state {v:?} is not a state of team samples; use __ALL__, __REVIEWED__, __WORKFORCE_SAMPLED__, __WORKFORCE_SAMPLED_CHECKED__, {}",
        state::ALL.join(", ")
    )))
}

impl App {
    /// Lists the copies of a task's samples the caller may see: a labeler their own, owners,
    /// managers and reviewers every member's.
    pub async fn list_workforce_task_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        q: &ListWorkforceTaskSamplesQuery,
        urls: &dyn SourceUrls,
    ) -> Result<ListWorkforceTaskSamplesResponse> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        let worker = self.visible_worker(p, Op::ListWorkforceTaskSamples, &members, &task, q.worker_id.as_deref())?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let labels = self.store.list_labels(dataset_id).await?;
        let filter = parse_team_state(q.sample_state.as_deref())?;
        let mut query = TeamSampleQuery {
            offset: page.offset,
            limit: page.limit,
            worker_id: worker,
            states: filter.states,
            review_accept: filter.review_accept,
            ..TeamSampleQuery::default()
        };
        if let Some(group) = label_name_filter(&labels, q.label_name.as_deref(), q.label_type.as_deref())? {
            query.label_groups.push(group);
        }
        if let Some(raw) = q.search_conditions.as_deref().filter(|s| !s.is_empty()) {
            let found = parse_search_conditions(raw, &labels)?;
            if found.name.is_some() {
                return Err(Error::invalid(
                    "search_conditions: sample_name is not supported on team samples; use label_list",
                ));
            }
            query.label_groups.extend(found.label_groups);
        }
        let (count, mut rows) = self.store.list_team_samples(&task.id, &query).await?;
        let samples = rows.iter_mut().map(|r| &mut r.sample).collect();
        self.read_texts_from_blobs(samples).await;
        Ok(ListWorkforceTaskSamplesResponse {
            sample_count: count,
            samples: rows.iter().map(|r| team_sample_to_api(r, urls)).collect(),
        })
    }

    pub async fn get_workforce_task_sample(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        sample_id: &str,
        q: &GetWorkforceTaskSampleQuery,
        urls: &dyn SourceUrls,
    ) -> Result<WorkforceTaskSample> {
        let (_, mut rows) = self
            .visible_copy(
                p,
                Op::GetWorkforceTaskSample,
                (dataset_id, task_id, sample_id),
                q.worker_id.as_deref(),
            )
            .await?;
        let samples = rows.iter_mut().map(|r| &mut r.sample).collect();
        self.read_texts_from_blobs(samples).await;
        let row = rows.first().ok_or_else(|| Error::sample_not_found(sample_id))?;
        Ok(team_sample_to_api(row, urls))
    }

    /// GET .../workforce-tasks/{task}/data-annotations/samples/{sample_id}/file: the stored
    /// bytes of a sample of the task, for its members; a labeler only of samples assigned to
    /// them (what the labeling page shows).
    pub async fn get_workforce_task_sample_file(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
        sample_id: &str,
    ) -> Result<SampleFile> {
        let (task, rows) = self
            .visible_copy(
                p,
                Op::GetWorkforceTaskSampleFile,
                (dataset_id, task_id, sample_id),
                None,
            )
            .await?;
        if rows.is_empty() {
            return Err(Error::sample_not_found(sample_id));
        }
        self.sample_file(&task.dataset_id, sample_id).await
    }

    /// The copy of a sample of the task the caller may read (at most one row: a labeler's own, or
    /// `worker`'s, or the first), with the task; `op` is what is authorized.
    async fn visible_copy(
        &self,
        p: &Principal,
        op: Op,
        (dataset_id, task_id, sample_id): (&str, &str, &str),
        worker: Option<&str>,
    ) -> Result<(TaskRecord, Vec<TeamSampleRow>)> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        let worker = self.visible_worker(p, op, &members, &task, worker)?;
        if !is_hex32(sample_id) {
            return Err(Error::sample_not_found(sample_id));
        }
        let query = TeamSampleQuery {
            limit: 1,
            worker_id: worker,
            sample_id: Some(sample_id.to_string()),
            ..TeamSampleQuery::default()
        };
        let (_, rows) = self.store.list_team_samples(&task.id, &query).await?;
        Ok((task, rows))
    }

    /// Which member's copies the caller may read: a labeler only their own.
    fn visible_worker(
        &self,
        p: &Principal,
        op: Op,
        members: &[WorkerRecord],
        task: &TaskRecord,
        asked: Option<&str>,
    ) -> Result<Option<String>> {
        let role = TaskRole::of(p, members);
        policy::authorize(p, op, &Standing::task(&role))?;
        if let Some(w) = asked.filter(|w| !w.is_empty()) {
            if !is_plausible_id(w) {
                return Err(Error::invalid(format!("worker_id {w:?} is not a worker id")));
            }
        }
        let asked = asked.filter(|w| !w.is_empty()).map(str::to_string);
        if role.manages() || role.reviewer {
            if task.status == status::CREATED && !role.manages() {
                return Err(forbidden("The worker action is forbidden: the task has not started"));
            }
            return Ok(asked);
        }
        let me = role
            .labeler
            .as_ref()
            .ok_or_else(|| forbidden("The worker action is forbidden: you are not a member of this task"))?;
        if task.status == status::CREATED {
            return Err(forbidden("The worker action is forbidden: the task has not started"));
        }
        if asked.as_deref().is_some_and(|w| w != me.id) {
            return Err(forbidden(
                "The worker action is forbidden: a labeler reads only their own samples",
            ));
        }
        Ok(Some(me.id.clone()))
    }
}

pub(crate) fn team_sample_to_api(r: &TeamSampleRow, urls: &dyn SourceUrls) -> WorkforceTaskSample {
    let base = sample_to_api(&r.sample, urls);
    let mut metadata = r.sample.metadata.clone();
    if let Some(m) = &r.copy.metadata {
        metadata = m.clone();
    }
    if !metadata.contains_key(meta::SIZE) {
        if let Some(size) = r.sample.metadata.get(meta::SIZE) {
            metadata.insert(meta::SIZE.to_string(), size.clone());
        }
    }
    WorkforceTaskSample {
        sample_id: base.sample_id,
        sample_name: base.sample_name,
        sample_type: base.sample_type,
        sample_status: r.copy.state.clone(),
        sample_time: base.sample_time,
        sample_size: base.sample_size,
        source: base.source,
        labels: r.copy.labels.iter().map(PlacedLabel::to_api).collect(),
        metadata,
        worker_id: r.copy.worker_id.clone(),
        labelers: r
            .labelers
            .iter()
            .map(|l| LabelerView {
                email: l.email.clone(),
                worker_id: l.worker_id.clone(),
                role: l.role.code(),
            })
            .collect(),
        sample_usage: r.copy.sample_usage.clone(),
        sample_data: base.sample_data,
        version: r.copy.version,
        review_accept: r.copy.verdicts.review_accept,
        review_comment: r.copy.verdicts.review_comment.clone(),
        review_score: r.copy.verdicts.review_score.clone(),
        check_accept: r.copy.verdicts.check_accept,
        check_comment: r.copy.verdicts.check_comment.clone(),
        check_score: r.copy.verdicts.check_score.clone(),
    }
}
