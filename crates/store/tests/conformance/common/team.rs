//! Team records for the conformance suite: users, workforces, workers, tasks, copy writes,
//! history rows, and a fixture of a project with a dataset, samples and one team.

use serde_json::json;
use teamlabel_api::enums::{DatasetType, LabelType};
use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::{new_alnum19, new_hex32};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    CopyCount, CopyRecord, CopyWrite, DatasetRecord, HistoryRecord, HistoryStep, LabelUsage, Project, SampleQuery,
    SampleRecord, Store, TaskRecord, TeamSampleQuery, User, WorkerRecord, WorkforceRecord,
};

use super::*;

// ---- team records ----

pub const NONE: &str = "__NONE__";
pub const UNREVIEWED: &str = "__UNREVIEWED__";
pub const UNCHECK: &str = "__UNCHECK__";
pub const ACCEPTED: &str = "__ACCEPTED__";

pub async fn user(store: &dyn Store, project_id: &str, email: &str) -> User {
    let u = User {
        id: new_hex32(),
        project_id: project_id.into(),
        email: email.into(),
        role: Role::Labeler,
        create_time: 2,
    };
    store.insert_user(&u).await.unwrap();
    u
}

pub fn workforce(project_id: &str, name: &str, time: i64) -> WorkforceRecord {
    WorkforceRecord {
        id: new_alnum19(),
        project_id: project_id.into(),
        name: name.into(),
        description: format!("about {name}"),
        worker_count: 0,
        create_time: time,
        update_time: time,
    }
}

pub fn worker(workforce_id: &str, user: &User, role: Role, time: i64) -> WorkerRecord {
    WorkerRecord {
        id: new_hex32(),
        workforce_id: workforce_id.into(),
        user_id: user.id.clone(),
        email: user.email.clone(),
        role,
        description: format!("{} member", user.email),
        create_time: time,
        update_time: time,
    }
}

pub fn task(dataset_id: &str, name: &str, time: i64, repetition: i32) -> TaskRecord {
    TaskRecord {
        id: new_alnum19(),
        dataset_id: dataset_id.into(),
        name: name.into(),
        description: format!("task {name}"),
        status: 6,
        repetition,
        workforces_config: json!({"workforces": [{"workforce_id": "w", "workers": [{"worker_id": "x"}]}]}),
        sample_conditions: Some(json!("[{\"label_list\":{\"labels\":[{\"name\":\"cat\"}]}}]")),
        synchronize_data: true,
        synchronize_auto_labeling_data: false,
        auto_sync_dataset: true,
        data_sync_type: Some(1),
        create_time: time,
        update_time: time,
        iou_threshold: 0.5,
    }
}

pub fn write(copy_id: i64, expected_version: i64, labels: Vec<PlacedLabel>, state: &str, time: i64) -> CopyWrite {
    CopyWrite {
        copy_id,
        expected_version,
        labels,
        metadata: None,
        sample_usage: None,
        state: state.into(),
        update_time: time,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn history(
    dataset_id: &str,
    sample_id: &str,
    task_id: Option<&str>,
    worker_id: Option<&str>,
    actor: &User,
    time: i64,
    states: (&str, &str),
    label_after: &str,
    version_after: i64,
) -> HistoryRecord {
    HistoryRecord {
        id: 0,
        dataset_id: dataset_id.into(),
        sample_id: sample_id.into(),
        task_id: task_id.map(str::to_string),
        worker_id: worker_id.map(str::to_string),
        actor_user_id: actor.id.clone(),
        actor_email: actor.email.clone(),
        change_time: time,
        state_before: states.0.into(),
        state_after: states.1.into(),
        labels_before: json!([]).to_string(),
        labels_after: json!([{"name": label_after, "score": 0.5, "property": {"k": [1, 2]}}]).to_string(),
        version_after,
        step: HistoryStep::default(),
        copy_id: None,
    }
}

/// A history row as written (ids are given by the store).
pub fn without_id(h: &HistoryRecord) -> HistoryRecord {
    HistoryRecord { id: 0, ..h.clone() }
}

/// A sample without its labels (team sample reads carry copies, not dataset labels).
pub fn bare(s: &SampleRecord) -> SampleRecord {
    SampleRecord {
        labels: Vec::new(),
        ..s.clone()
    }
}

pub fn names(rows: &[WorkforceRecord]) -> Vec<&str> {
    rows.iter().map(|r| r.name.as_str()).collect()
}

pub fn ids(rows: &[WorkerRecord]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

pub fn counts(mut c: Vec<CopyCount>) -> Vec<(String, String, u64)> {
    c.sort_by(|a, b| (&a.worker_id, &a.state).cmp(&(&b.worker_id, &b.state)));
    c.into_iter().map(|c| (c.worker_id, c.state, c.count)).collect()
}

pub fn usage(mut u: Vec<LabelUsage>) -> Vec<(i64, u64, u64)> {
    u.sort_by_key(|u| u.label_id);
    u.into_iter().map(|u| (u.label_id, u.count, u.sample_count)).collect()
}

pub fn all_team_samples() -> TeamSampleQuery {
    TeamSampleQuery {
        limit: 100,
        ..TeamSampleQuery::default()
    }
}

/// A project with an owner, an object-detection dataset with labels `cat` and `dog`, `n`
/// samples (`i.png`: dog when i % 3 == 0, cat when i is odd) and one team of `m` labelers.
pub struct Fixture {
    pub project: Project,
    pub owner: User,
    pub dataset: DatasetRecord,
    pub cat: LabelDef,
    pub dog: LabelDef,
    pub samples: Vec<SampleRecord>,
    pub team: WorkforceRecord,
    pub labelers: Vec<WorkerRecord>,
}

pub async fn fixture(s: &dyn Store, n: usize, m: usize) -> Fixture {
    let (p, owner) = project(s).await;
    let d = dataset(&p.id, "team", DatasetType::ObjectDetection, 1);
    s.insert_dataset(
        &d,
        &[
            label("cat", LabelType::ObjectDetection),
            label("dog", LabelType::ObjectDetection),
        ],
    )
    .await
    .unwrap();
    let labels = s.list_labels(&d.id).await.unwrap();
    let (cat, dog) = (labels[0].clone(), labels[1].clone());
    let boxed = json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2], [3, 4]]});
    let samples: Vec<SampleRecord> = (0..n)
        .map(|i| {
            let mut placed_labels = Vec::new();
            if i % 3 == 0 {
                placed_labels.push(placed(&dog, boxed.clone()));
            }
            if i % 2 == 1 {
                placed_labels.push(placed(&cat, boxed.clone()));
            }
            sample(&d.id, &format!("{i}.png"), placed_labels)
        })
        .collect();
    s.insert_samples(&samples).await.unwrap();
    let team = workforce(&p.id, "labelers", 1);
    s.insert_workforce(&team).await.unwrap();
    let mut labelers = Vec::new();
    for j in 0..m {
        let u = user(s, &p.id, &format!("lab{j}@example.com")).await;
        let w = worker(&team.id, &u, Role::Labeler, 10 + j as i64);
        s.insert_worker(&w).await.unwrap();
        labelers.push(w);
    }
    Fixture {
        project: p,
        owner,
        dataset: d,
        cat,
        dog,
        samples,
        team,
        labelers,
    }
}

impl Fixture {
    /// Inserts a task with all labelers as members and starts it over every sample.
    pub async fn started(&self, s: &dyn Store, name: &str, labelers: &[String], repetition: u32) -> TaskRecord {
        let t = task(&self.dataset.id, name, 100, repetition as i32);
        let members: Vec<String> = self.labelers.iter().map(|w| w.id.clone()).collect();
        s.insert_task(&t, &members).await.unwrap();
        let n = s
            .start_task(
                &t.id,
                &self.dataset.id,
                &SampleQuery::default(),
                labelers,
                repetition,
                1,
                200,
            )
            .await
            .unwrap();
        assert_eq!(n, self.samples.len() as u64);
        s.get_task(&self.dataset.id, &t.id).await.unwrap()
    }

    /// The copies of the task's samples (in sample order), read back.
    pub async fn copies(&self, s: &dyn Store, task_id: &str) -> Vec<Vec<CopyRecord>> {
        let ids: Vec<String> = self.samples.iter().map(|x| x.id.clone()).collect();
        s.load_team_samples(task_id, &self.dataset.id, &ids)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.copies)
            .collect()
    }

    /// The labeler ids, in descending id order (unlike their storage order).
    pub fn labelers_desc(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.labelers.iter().map(|w| w.id.clone()).collect();
        ids.sort();
        ids.reverse();
        ids
    }
}
