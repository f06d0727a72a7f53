//! The store conformance suite for team labeling: teams, members, team tasks, their start, copy
//! and sample label writes and the annotation history, against SQLite always and against
//! PostgreSQL when `TEST_DATABASE_URL` is set (each run in a schema of its own). `SqliteStore`
//! is the reference; both backends must answer exactly the same.

use serde_json::json;
use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::enums::{DatasetType, LabelType, SampleStatus};
use teamlabel_core::error::{codes, ErrorKind};
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::{new_alnum19, new_hex32};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    CopyCount, CopyRecord, CopyWrite, DatasetRecord, HistoryRecord, LabelUsage, Labeler, Project, SampleQuery,
    SampleRecord, SampleWrite, Store, TaskRecord, TeamSampleQuery, TeamSampleRow, User, WorkerQuery, WorkerRecord,
    WorkforceQuery, WorkforceRecord,
};

// ---- setup, as in conformance.rs ----
mod common;

use common::*;

// ---- team records ----

const NONE: &str = "__NONE__";
const UNREVIEWED: &str = "__UNREVIEWED__";
const UNCHECK: &str = "__UNCHECK__";
const ACCEPTED: &str = "__ACCEPTED__";

async fn user(store: &dyn Store, project_id: &str, email: &str) -> User {
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

fn workforce(project_id: &str, name: &str, time: i64) -> WorkforceRecord {
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

fn worker(workforce_id: &str, user: &User, role: Role, time: i64) -> WorkerRecord {
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

fn task(dataset_id: &str, name: &str, time: i64, repetition: i32) -> TaskRecord {
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
    }
}

fn write(copy_id: i64, expected_version: i64, labels: Vec<PlacedLabel>, state: &str, time: i64) -> CopyWrite {
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
fn history(
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
        labels_before: json!([]),
        labels_after: json!([{"name": label_after, "score": 0.5, "property": {"k": [1, 2]}}]),
        version_after,
    }
}

/// A history row as written (ids are given by the store).
fn without_id(h: &HistoryRecord) -> HistoryRecord {
    HistoryRecord { id: 0, ..h.clone() }
}

/// A sample without its labels (team sample reads carry copies, not dataset labels).
fn bare(s: &SampleRecord) -> SampleRecord {
    SampleRecord {
        labels: Vec::new(),
        ..s.clone()
    }
}

fn names(rows: &[WorkforceRecord]) -> Vec<&str> {
    rows.iter().map(|r| r.name.as_str()).collect()
}

fn ids(rows: &[WorkerRecord]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

fn counts(mut c: Vec<CopyCount>) -> Vec<(String, String, u64)> {
    c.sort_by(|a, b| (&a.worker_id, &a.state).cmp(&(&b.worker_id, &b.state)));
    c.into_iter().map(|c| (c.worker_id, c.state, c.count)).collect()
}

fn usage(mut u: Vec<LabelUsage>) -> Vec<(i64, u64, u64)> {
    u.sort_by_key(|u| u.label_id);
    u.into_iter().map(|u| (u.label_id, u.count, u.sample_count)).collect()
}

fn all_team_samples() -> TeamSampleQuery {
    TeamSampleQuery {
        limit: 100,
        ..TeamSampleQuery::default()
    }
}

/// A project with an owner, an object-detection dataset with labels `cat` and `dog`, `n`
/// samples (`i.png`: dog when i % 3 == 0, cat when i is odd) and one team of `m` labelers.
struct Fixture {
    project: Project,
    owner: User,
    dataset: DatasetRecord,
    cat: LabelDef,
    dog: LabelDef,
    samples: Vec<SampleRecord>,
    team: WorkforceRecord,
    labelers: Vec<WorkerRecord>,
}

async fn fixture(s: &dyn Store, n: usize, m: usize) -> Fixture {
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
    async fn started(&self, s: &dyn Store, name: &str, labelers: &[String], repetition: u32) -> TaskRecord {
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
    async fn copies(&self, s: &dyn Store, task_id: &str) -> Vec<Vec<CopyRecord>> {
        let ids: Vec<String> = self.samples.iter().map(|x| x.id.clone()).collect();
        s.load_team_samples(task_id, &self.dataset.id, &ids)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.copies)
            .collect()
    }

    /// The labeler ids, in descending id order (unlike their storage order).
    fn labelers_desc(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.labelers.iter().map(|w| w.id.clone()).collect();
        ids.sort();
        ids.reverse();
        ids
    }
}

// ---- teams ----

#[tokio::test]
async fn workforces_are_stored_listed_sorted_searched_and_paged_within_their_project() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let (other, _) = project(s).await;
        let teams: Vec<WorkforceRecord> = ["beta", "a_team", "c100%", "x10y", "ateam"]
            .iter()
            .enumerate()
            .map(|(i, n)| workforce(&p.id, n, 10 + i as i64))
            .collect();
        for t in &teams {
            s.insert_workforce(t)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        }
        s.insert_workforce(&workforce(&other.id, "beta", 1))
            .await
            .unwrap_or_else(|e| panic!("{}: the same name in another project: {e}", b.name));
        let dup = s.insert_workforce(&workforce(&p.id, "beta", 99)).await.unwrap_err();
        assert_eq!(
            (dup.kind, dup.code),
            (ErrorKind::BadRequest, codes::WORKFORCE_EXISTS),
            "{}: duplicate name",
            b.name
        );

        assert_eq!(
            s.get_workforce(&p.id, &teams[0].id).await.unwrap(),
            teams[0],
            "{}",
            b.name
        );
        for (project_id, id) in [(&other.id, &teams[0].id), (&p.id, &new_alnum19())] {
            let err = s.get_workforce(project_id, id).await.unwrap_err();
            assert_eq!(
                (err.kind, err.code),
                (ErrorKind::NotFound, codes::WORKFORCE_NOT_FOUND),
                "{}: another project's team or no team",
                b.name
            );
        }

        let q = WorkforceQuery {
            limit: 10,
            ..WorkforceQuery::default()
        };
        let (total, rows) = s.list_workforces(&p.id, &q).await.unwrap();
        assert_eq!(total, 5, "{}", b.name);
        assert_eq!(
            names(&rows),
            vec!["ateam", "x10y", "c100%", "a_team", "beta"],
            "{}: newest first",
            b.name
        );
        assert_eq!(rows[4], teams[0], "{}", b.name);

        let oldest_first = WorkforceQuery {
            ascending: true,
            limit: 2,
            ..q.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &oldest_first).await.unwrap();
        assert_eq!((total, names(&rows)), (5, vec!["beta", "a_team"]), "{}", b.name);

        let by_name = WorkforceQuery {
            sort_by_name: true,
            ascending: true,
            ..q.clone()
        };
        let (_, rows) = s.list_workforces(&p.id, &by_name).await.unwrap();
        assert_eq!(
            names(&rows),
            vec!["a_team", "ateam", "beta", "c100%", "x10y"],
            "{}: by name, bytewise",
            b.name
        );
        let page = WorkforceQuery {
            offset: 1,
            limit: 2,
            ..by_name.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &page).await.unwrap();
        assert_eq!(
            (total, names(&rows)),
            (5, vec!["beta", "c100%"]),
            "{}: offset counts pages",
            b.name
        );
        let last_page = WorkforceQuery {
            offset: 2,
            limit: 2,
            ascending: false,
            ..by_name.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &last_page).await.unwrap();
        assert_eq!(
            (total, names(&rows)),
            (5, vec!["a_team"]),
            "{}: name desc, page 2",
            b.name
        );
        let beyond = WorkforceQuery {
            offset: 5,
            limit: 2,
            ..by_name.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &beyond).await.unwrap();
        assert_eq!((total, rows.len()), (5, 0), "{}", b.name);

        for (search, expected) in [
            ("_", vec!["a_team"]),
            ("0%", vec!["c100%"]),
            ("%", vec!["c100%"]),
            ("TEAM", vec!["a_team", "ateam"]),
            ("10", vec!["c100%", "x10y"]),
            ("zzz", vec![]),
        ] {
            let searched = WorkforceQuery {
                search_content: Some(search.into()),
                ..by_name.clone()
            };
            let (total, rows) = s.list_workforces(&p.id, &searched).await.unwrap();
            assert_eq!(
                (total, names(&rows)),
                (expected.len() as u64, expected),
                "{}: search {search:?} (% and _ literal, case-insensitive)",
                b.name
            );
        }

        // Only teams with a member chosen for the task.
        let d = dataset(&p.id, "d", DatasetType::ImageClassification, 1);
        s.insert_dataset(&d, &[]).await.unwrap();
        let u = user(s, &p.id, "m@example.com").await;
        let in_beta = worker(&teams[0].id, &u, Role::Labeler, 20);
        let in_ateam = worker(&teams[4].id, &u, Role::Reviewer, 21);
        s.insert_worker(&in_beta).await.unwrap();
        s.insert_worker(&in_ateam).await.unwrap();
        let t = task(&d.id, "t", 30, 1);
        s.insert_task(&t, std::slice::from_ref(&in_beta.id)).await.unwrap();
        let of_task = WorkforceQuery {
            task_id: Some(t.id.clone()),
            ..q.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &of_task).await.unwrap();
        assert_eq!(
            (total, rows.clone()),
            (
                1,
                vec![WorkforceRecord {
                    worker_count: 1,
                    ..teams[0].clone()
                }]
            ),
            "{}: task filter, worker_count",
            b.name
        );
        let none = WorkforceQuery {
            task_id: Some(new_alnum19()),
            ..q.clone()
        };
        assert_eq!(s.list_workforces(&p.id, &none).await.unwrap().0, 0, "{}", b.name);
        assert_eq!(
            s.list_workforces(&other.id, &q).await.unwrap().0,
            1,
            "{}: the other project's teams",
            b.name
        );
    }
}

#[tokio::test]
async fn workforces_are_updated_and_deleted_with_their_members() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let (other, _) = project(s).await;
        let team = workforce(&p.id, "team", 1);
        let taken = workforce(&p.id, "taken", 2);
        s.insert_workforce(&team).await.unwrap();
        s.insert_workforce(&taken).await.unwrap();

        let renamed = WorkforceRecord {
            name: "renamed".into(),
            description: "new words".into(),
            update_time: 50,
            ..team.clone()
        };
        s.update_workforce(&renamed).await.unwrap();
        assert_eq!(s.get_workforce(&p.id, &team.id).await.unwrap(), renamed, "{}", b.name);
        let clash = s
            .update_workforce(&WorkforceRecord {
                name: "taken".into(),
                ..renamed.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(
            clash.code,
            codes::WORKFORCE_EXISTS,
            "{}: rename onto a taken name",
            b.name
        );
        assert_eq!(s.get_workforce(&p.id, &team.id).await.unwrap(), renamed, "{}", b.name);
        let missing = s
            .update_workforce(&WorkforceRecord {
                project_id: other.id.clone(),
                ..renamed.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(
            (missing.kind, missing.code),
            (ErrorKind::NotFound, codes::WORKFORCE_NOT_FOUND),
            "{}: another project's team is not updated",
            b.name
        );

        let (u1, u2) = (
            user(s, &p.id, "u1@example.com").await,
            user(s, &p.id, "u2@example.com").await,
        );
        let w1 = worker(&team.id, &u1, Role::Labeler, 10);
        let w2 = worker(&team.id, &u2, Role::Manager, 11);
        let kept = worker(&taken.id, &u1, Role::Labeler, 12);
        for w in [&w1, &w2, &kept] {
            s.insert_worker(w).await.unwrap();
        }
        assert_eq!(
            s.get_workforce(&p.id, &team.id).await.unwrap().worker_count,
            2,
            "{}",
            b.name
        );

        let err = s.delete_workforce(&other.id, &team.id).await.unwrap_err();
        assert_eq!(
            (err.kind, err.code),
            (ErrorKind::NotFound, codes::WORKFORCE_NOT_FOUND),
            "{}: delete from another project",
            b.name
        );
        s.delete_workforce(&p.id, &team.id).await.unwrap();
        assert_eq!(
            s.get_workforce(&p.id, &team.id).await.unwrap_err().code,
            codes::WORKFORCE_NOT_FOUND,
            "{}",
            b.name
        );
        let gone = s.get_worker(&team.id, &w1.id).await.unwrap_err();
        assert_eq!(
            (gone.kind, gone.code),
            (ErrorKind::NotFound, codes::WORKER_NOT_FOUND),
            "{}: members go with the team",
            b.name
        );
        let (total, rows) = s
            .list_workers(
                &p.id,
                &WorkerQuery {
                    limit: 10,
                    ..WorkerQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((total, ids(&rows)), (1, vec![kept.id.as_str()]), "{}", b.name);
        assert_eq!(s.workers_of_user(&u2.id).await.unwrap(), vec![], "{}", b.name);
        assert_eq!(
            s.delete_workforce(&p.id, &team.id).await.unwrap_err().code,
            codes::WORKFORCE_NOT_FOUND,
            "{}: twice",
            b.name
        );
    }
}

// ---- members ----

#[tokio::test]
async fn workers_are_stored_listed_filtered_updated_and_deleted() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let (other, _) = project(s).await;
        let a = workforce(&p.id, "a", 1);
        let bb = workforce(&p.id, "b", 2);
        let elsewhere = workforce(&other.id, "a", 3);
        for f in [&a, &bb, &elsewhere] {
            s.insert_workforce(f).await.unwrap();
        }
        let carol = user(s, &p.id, "carol@example.com").await;
        let alice = user(s, &p.id, "alice@example.com").await;
        let bob = user(s, &p.id, "bob@example.com").await;
        let stranger = user(s, &other.id, "zed@example.com").await;
        let w1 = worker(&a.id, &carol, Role::Labeler, 10);
        let w2 = worker(&a.id, &alice, Role::Reviewer, 11);
        let w3 = worker(&a.id, &bob, Role::Labeler, 12);
        let w4 = worker(&bb.id, &carol, Role::Manager, 13);
        let w5 = worker(&elsewhere.id, &stranger, Role::Labeler, 14);
        for w in [&w1, &w2, &w3, &w4, &w5] {
            s.insert_worker(w).await.unwrap_or_else(|e| panic!("{}: {e}", b.name));
        }
        let dup = s
            .insert_worker(&WorkerRecord {
                id: new_hex32(),
                role: Role::Reviewer,
                ..w1.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(
            (dup.kind, dup.code),
            (ErrorKind::BadRequest, codes::WORKER_EXISTS),
            "{}: the same user twice in a team",
            b.name
        );

        assert_eq!(
            s.get_worker(&a.id, &w1.id).await.unwrap(),
            w1,
            "{}: email filled",
            b.name
        );
        let err = s.get_worker(&bb.id, &w1.id).await.unwrap_err();
        assert_eq!(
            (err.kind, err.code),
            (ErrorKind::NotFound, codes::WORKER_NOT_FOUND),
            "{}: another team's member",
            b.name
        );
        assert_eq!(
            s.get_workforce(&p.id, &a.id).await.unwrap().worker_count,
            3,
            "{}",
            b.name
        );

        let of_a = WorkerQuery {
            workforce_id: Some(a.id.clone()),
            limit: 10,
            ..WorkerQuery::default()
        };
        let (total, rows) = s.list_workers(&p.id, &of_a).await.unwrap();
        assert_eq!(total, 3, "{}", b.name);
        assert_eq!(
            rows,
            vec![w3.clone(), w2.clone(), w1.clone()],
            "{}: newest first",
            b.name
        );
        let asc = WorkerQuery {
            ascending: true,
            ..of_a.clone()
        };
        assert_eq!(
            ids(&s.list_workers(&p.id, &asc).await.unwrap().1),
            ids(&[w1.clone(), w2.clone(), w3.clone()]),
            "{}",
            b.name
        );
        let by_email = WorkerQuery {
            sort_by_email: true,
            ascending: true,
            ..of_a.clone()
        };
        assert_eq!(
            ids(&s.list_workers(&p.id, &by_email).await.unwrap().1),
            ids(&[w2.clone(), w3.clone(), w1.clone()]),
            "{}: alice, bob, carol",
            b.name
        );
        let by_email_desc = WorkerQuery {
            ascending: false,
            ..by_email.clone()
        };
        assert_eq!(
            ids(&s.list_workers(&p.id, &by_email_desc).await.unwrap().1),
            ids(&[w1.clone(), w3.clone(), w2.clone()]),
            "{}",
            b.name
        );

        // Project-wide: every team of the project, not another project's.
        let project_wide = WorkerQuery {
            sort_by_email: true,
            ascending: true,
            offset: 1,
            limit: 2,
            ..WorkerQuery::default()
        };
        let mut carols = [w1.id.clone(), w4.id.clone()];
        carols.sort();
        let (total, rows) = s.list_workers(&p.id, &project_wide).await.unwrap();
        assert_eq!(total, 4, "{}: project-wide", b.name);
        assert_eq!(
            ids(&rows),
            vec![carols[0].as_str(), carols[1].as_str()],
            "{}: page 1 of 2 by email, ties by id",
            b.name
        );
        let labelers = WorkerQuery {
            role: Some(Role::Labeler),
            ascending: true,
            limit: 10,
            ..WorkerQuery::default()
        };
        let (total, rows) = s.list_workers(&p.id, &labelers).await.unwrap();
        assert_eq!(
            (total, rows),
            (2, vec![w1.clone(), w3.clone()]),
            "{}: role filter",
            b.name
        );
        let managers_of_a = WorkerQuery {
            role: Some(Role::Manager),
            ..of_a.clone()
        };
        assert_eq!(s.list_workers(&p.id, &managers_of_a).await.unwrap().0, 0, "{}", b.name);

        // Update role and description.
        let promoted = WorkerRecord {
            role: Role::Reviewer,
            description: "lead".into(),
            update_time: 40,
            ..w3.clone()
        };
        s.update_worker(&promoted).await.unwrap();
        assert_eq!(s.get_worker(&a.id, &w3.id).await.unwrap(), promoted, "{}", b.name);
        let err = s
            .update_worker(&WorkerRecord {
                workforce_id: bb.id.clone(),
                ..promoted.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.code),
            (ErrorKind::NotFound, codes::WORKER_NOT_FOUND),
            "{}: update through another team",
            b.name
        );

        assert_eq!(
            s.workers_of_user(&carol.id).await.unwrap(),
            vec![w1.clone(), w4.clone()],
            "{}: every membership, oldest first",
            b.name
        );
        assert_eq!(s.workers_of_user(&new_hex32()).await.unwrap(), vec![], "{}", b.name);

        // Only members of the team are deleted; only they are answered.
        let deleted = s
            .delete_workers(&a.id, &[w3.id.clone(), new_hex32(), w4.id.clone(), w2.id.clone()])
            .await
            .unwrap();
        assert_eq!(deleted, vec![w3.id.clone(), w2.id.clone()], "{}", b.name);
        assert_eq!(s.get_worker(&bb.id, &w4.id).await.unwrap(), w4, "{}", b.name);
        assert_eq!(
            s.get_worker(&a.id, &w3.id).await.unwrap_err().code,
            codes::WORKER_NOT_FOUND,
            "{}",
            b.name
        );
        let (total, rows) = s.list_workers(&p.id, &of_a).await.unwrap();
        assert_eq!((total, rows), (1, vec![w1.clone()]), "{}", b.name);
        assert_eq!(
            s.delete_workers(&a.id, std::slice::from_ref(&w3.id)).await.unwrap(),
            Vec::<String>::new(),
            "{}: already gone",
            b.name
        );
    }
}

// ---- tasks ----

#[tokio::test]
async fn tasks_are_stored_listed_updated_and_found_by_member() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "d", DatasetType::ImageClassification, 1);
        let d2 = dataset(&p.id, "d2", DatasetType::ImageClassification, 2);
        s.insert_dataset(&d, &[]).await.unwrap();
        s.insert_dataset(&d2, &[]).await.unwrap();
        let team = workforce(&p.id, "team", 1);
        s.insert_workforce(&team).await.unwrap();
        let mut members = Vec::new();
        for (j, email) in ["x@example.com", "y@example.com", "z@example.com"].iter().enumerate() {
            let u = user(s, &p.id, email).await;
            let w = worker(&team.id, &u, Role::Labeler, 10 + j as i64);
            s.insert_worker(&w).await.unwrap();
            members.push((u, w));
        }
        let (w1, w2, w3) = (&members[0].1, &members[1].1, &members[2].1);

        let t1 = task(&d.id, "first 10%", 10, 1);
        let t2 = TaskRecord {
            sample_conditions: None,
            data_sync_type: None,
            synchronize_data: false,
            auto_sync_dataset: false,
            ..task(&d.id, "second", 20, 2)
        };
        let t3 = task(&d.id, "third", 30, 1);
        s.insert_task(&t1, &[w1.id.clone(), w2.id.clone()])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        s.insert_task(&t2, &[w3.id.clone(), w1.id.clone()]).await.unwrap();
        s.insert_task(&t3, &[]).await.unwrap();
        s.insert_task(&task(&d2.id, "second", 5, 1), &[])
            .await
            .unwrap_or_else(|e| panic!("{}: the same name in another dataset: {e}", b.name));
        let dup = s.insert_task(&task(&d.id, "second", 40, 1), &[]).await.unwrap_err();
        assert_eq!(
            (dup.kind, dup.code),
            (ErrorKind::BadRequest, codes::TASK_EXISTS),
            "{}: duplicate name",
            b.name
        );
        assert_eq!(
            s.list_tasks(&d.id, 0, 10).await.unwrap().0,
            3,
            "{}: nothing of the duplicate",
            b.name
        );

        assert_eq!(s.get_task(&d.id, &t1.id).await.unwrap(), t1, "{}", b.name);
        assert_eq!(s.get_task(&d.id, &t2.id).await.unwrap(), t2, "{}", b.name);
        for (dataset_id, id) in [(&d2.id, &t1.id), (&d.id, &new_alnum19())] {
            let err = s.get_task(dataset_id, id).await.unwrap_err();
            assert_eq!(
                (err.kind, err.code),
                (ErrorKind::NotFound, codes::TASK_NOT_FOUND),
                "{}: another dataset's task or no task",
                b.name
            );
        }

        let (total, rows) = s.list_tasks(&d.id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows),
            (3, vec![t3.clone(), t2.clone(), t1.clone()]),
            "{}: newest first",
            b.name
        );
        let (total, rows) = s.list_tasks(&d.id, 1, 2).await.unwrap();
        assert_eq!((total, rows), (3, vec![t1.clone()]), "{}: page 1 of 2", b.name);

        let mut of_t1 = vec![w1.clone(), w2.clone()];
        of_t1.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(s.task_workers(&t1.id).await.unwrap(), of_t1, "{}", b.name);
        assert_eq!(s.task_workers(&t3.id).await.unwrap(), vec![], "{}", b.name);

        // Update without new members keeps them.
        let updated = TaskRecord {
            name: "first renamed".into(),
            description: "changed".into(),
            status: 1,
            workforces_config: json!({"workforces": [{"workforce_id": team.id, "workers": []}]}),
            update_time: 60,
            ..t1.clone()
        };
        s.update_task(&updated, None).await.unwrap();
        assert_eq!(s.get_task(&d.id, &t1.id).await.unwrap(), updated, "{}", b.name);
        assert_eq!(s.task_workers(&t1.id).await.unwrap(), of_t1, "{}: members kept", b.name);
        // With new members, they replace the old.
        s.update_task(&updated, Some(std::slice::from_ref(&w3.id)))
            .await
            .unwrap();
        assert_eq!(s.task_workers(&t1.id).await.unwrap(), vec![w3.clone()], "{}", b.name);
        let clash = s
            .update_task(
                &TaskRecord {
                    name: "third".into(),
                    ..updated.clone()
                },
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(clash.code, codes::TASK_EXISTS, "{}: rename onto a taken name", b.name);
        let missing = s
            .update_task(
                &TaskRecord {
                    dataset_id: d2.id.clone(),
                    ..updated.clone()
                },
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(
            (missing.kind, missing.code),
            (ErrorKind::NotFound, codes::TASK_NOT_FOUND),
            "{}",
            b.name
        );
        assert_eq!(s.get_task(&d.id, &t1.id).await.unwrap(), updated, "{}", b.name);

        // Tasks of a user, with the membership: z is in t1 (now) and t2.
        let z = &members[2].0;
        let (total, rows) = s.list_user_tasks(&z.id, 0, 10, false, false, None).await.unwrap();
        assert_eq!(
            (total, rows),
            (2, vec![(t2.clone(), w3.clone()), (updated.clone(), w3.clone())]),
            "{}: newest first",
            b.name
        );
        let (total, rows) = s.list_user_tasks(&z.id, 0, 10, true, true, None).await.unwrap();
        let names: Vec<&str> = rows.iter().map(|(t, _)| t.name.as_str()).collect();
        assert_eq!(
            (total, names),
            (2, vec!["first renamed", "second"]),
            "{}: by name",
            b.name
        );
        let (total, rows) = s.list_user_tasks(&z.id, 1, 1, false, false, None).await.unwrap();
        assert_eq!(
            (total, rows.len(), rows[0].0.id.as_str()),
            (2, 1, t1.id.as_str()),
            "{}: page 1",
            b.name
        );
        let (total, rows) = s
            .list_user_tasks(&z.id, 0, 10, false, false, Some("SEC"))
            .await
            .unwrap();
        assert_eq!(
            (total, rows.len(), rows[0].0.id.as_str()),
            (1, 1, t2.id.as_str()),
            "{}: search",
            b.name
        );
        let (total, _) = s.list_user_tasks(&z.id, 0, 10, false, false, Some("%")).await.unwrap();
        assert_eq!(total, 0, "{}: % is literal", b.name);
        let x = &members[0].0;
        let (total, rows) = s.list_user_tasks(&x.id, 0, 10, false, false, None).await.unwrap();
        assert_eq!((total, rows), (1, vec![(t2.clone(), w1.clone())]), "{}", b.name);
        let y = &members[1].0;
        assert_eq!(
            s.list_user_tasks(&y.id, 0, 10, false, false, None).await.unwrap().0,
            0,
            "{}: y left t1 with the new members",
            b.name
        );

        assert_eq!(
            s.delete_task(&d2.id, &t1.id).await.unwrap_err().code,
            codes::TASK_NOT_FOUND,
            "{}: delete through another dataset",
            b.name
        );
        s.delete_task(&d.id, &t1.id).await.unwrap();
        assert_eq!(s.get_task(&d.id, &t1.id).await.unwrap_err().code, codes::TASK_NOT_FOUND);
        assert_eq!(s.task_workers(&t1.id).await.unwrap(), vec![], "{}", b.name);
        assert_eq!(s.list_tasks(&d.id, 0, 10).await.unwrap().0, 2, "{}", b.name);
    }
}

// ---- starting a task ----

#[tokio::test]
async fn start_task_assigns_sample_i_to_labeler_i_mod_n_in_the_given_order() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 5, 2).await;
        let order = f.labelers_desc();
        let t = task(&f.dataset.id, "t", 100, 1);
        s.insert_task(&t, &order).await.unwrap();
        // Paging is ignored.
        let paged = SampleQuery {
            offset: 3,
            limit: 1,
            ..SampleQuery::default()
        };
        let n = s
            .start_task(&t.id, &f.dataset.id, &paged, &order, 1, 1, 200)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(n, 5, "{}", b.name);
        assert_eq!(
            s.get_task(&f.dataset.id, &t.id).await.unwrap(),
            TaskRecord {
                status: 1,
                update_time: 200,
                ..t.clone()
            },
            "{}: status set",
            b.name
        );

        let copies = f.copies(s, &t.id).await;
        for (i, c) in copies.iter().enumerate() {
            assert_eq!(c.len(), 1, "{}: sample {i}", b.name);
            assert_eq!(
                (
                    c[0].worker_id.as_str(),
                    c[0].state.as_str(),
                    c[0].version,
                    c[0].labels.len(),
                    c[0].metadata.clone(),
                    c[0].sample_usage.clone(),
                    c[0].update_time
                ),
                (order[i % 2].as_str(), NONE, 0, 0, None, None, 200),
                "{}: sample {i} goes to labeler {}",
                b.name,
                i % 2
            );
        }
        assert_eq!(
            counts(s.task_copy_counts(&t.id).await.unwrap()),
            {
                let mut want = vec![
                    (order[0].clone(), NONE.to_string(), 3),
                    (order[1].clone(), NONE.to_string(), 2),
                ];
                want.sort();
                want
            },
            "{}",
            b.name
        );
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 5, "{}", b.name);
        assert_eq!(
            s.task_label_usage(&t.id).await.unwrap(),
            vec![],
            "{}: empty copies",
            b.name
        );

        // Not enough labelers for the repetition.
        let t2 = task(&f.dataset.id, "t2", 100, 3);
        s.insert_task(&t2, &order).await.unwrap();
        let err = s
            .start_task(&t2.id, &f.dataset.id, &SampleQuery::default(), &order, 3, 1, 200)
            .await
            .unwrap_err();
        assert_eq!(err.code, codes::TASK_START_FAILED, "{}", b.name);
        assert_eq!(s.task_sample_count(&t2.id).await.unwrap(), 0, "{}", b.name);
        assert_eq!(s.get_task(&f.dataset.id, &t2.id).await.unwrap().status, 6, "{}", b.name);
    }
}

#[tokio::test]
async fn start_task_with_repetition_gives_each_sample_distinct_labelers() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 5, 3).await;
        // An order that is neither the ids' nor the insertion order.
        let order = vec![
            f.labelers[1].id.clone(),
            f.labelers[2].id.clone(),
            f.labelers[0].id.clone(),
        ];
        let t = f.started(s, "t", &order, 2).await;
        assert_eq!((t.status, t.update_time), (1, 200), "{}", b.name);
        let copies = f.copies(s, &t.id).await;
        for (i, c) in copies.iter().enumerate() {
            let mut got: Vec<&str> = c.iter().map(|c| c.worker_id.as_str()).collect();
            got.sort();
            let mut want = vec![order[(i * 2) % 3].as_str(), order[(i * 2 + 1) % 3].as_str()];
            want.sort();
            assert_eq!(got, want, "{}: sample {i}", b.name);
            let mut by_id: Vec<&str> = c.iter().map(|c| c.worker_id.as_str()).collect();
            by_id.dedup();
            assert_eq!(by_id.len(), 2, "{}: distinct labelers", b.name);
        }
        // Labeler 0 of the order: samples 0, 1, 3, 4; 1: 0, 2, 3; 2: 1, 2, 4.
        let mut want = vec![
            (order[0].clone(), NONE.to_string(), 4),
            (order[1].clone(), NONE.to_string(), 3),
            (order[2].clone(), NONE.to_string(), 3),
        ];
        want.sort();
        assert_eq!(counts(s.task_copy_counts(&t.id).await.unwrap()), want, "{}", b.name);
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 5, "{}", b.name);
    }
}

#[tokio::test]
async fn start_task_assigns_only_the_samples_matching_the_filter() {
    for b in backends().await {
        let s = b.store.as_ref();
        // Samples: 0 dog, 1 cat, 2 -, 3 cat+dog, 4 -, 5 cat.
        let f = fixture(s, 6, 2).await;
        let order = f.labelers_desc();
        let members: Vec<String> = f.labelers.iter().map(|w| w.id.clone()).collect();
        let cases: Vec<(SampleQuery, Vec<usize>)> = vec![
            (
                SampleQuery {
                    label_groups: vec![vec![f.cat.id]],
                    ..SampleQuery::default()
                },
                vec![1, 3, 5],
            ),
            (
                SampleQuery {
                    label_groups: vec![vec![f.cat.id, f.dog.id]],
                    ..SampleQuery::default()
                },
                vec![0, 1, 3, 5],
            ),
            (
                SampleQuery {
                    label_groups: vec![vec![f.cat.id], vec![f.dog.id]],
                    ..SampleQuery::default()
                },
                vec![3],
            ),
            (
                SampleQuery {
                    name: Some("2.png".into()),
                    ..SampleQuery::default()
                },
                vec![2],
            ),
            (
                SampleQuery {
                    label_groups: vec![vec![]],
                    ..SampleQuery::default()
                },
                vec![],
            ),
        ];
        for (k, (query, chosen)) in cases.into_iter().enumerate() {
            let t = task(&f.dataset.id, &format!("t{k}"), 100, 1);
            s.insert_task(&t, &members).await.unwrap();
            let n = s
                .start_task(&t.id, &f.dataset.id, &query, &order, 1, 1, 300)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert_eq!(n, chosen.len() as u64, "{}: case {k}", b.name);
            assert_eq!(s.get_task(&f.dataset.id, &t.id).await.unwrap().status, 1, "{}", b.name);
            let (total, rows) = s.list_team_samples(&t.id, &all_team_samples()).await.unwrap();
            let got: Vec<(&str, &str)> = rows
                .iter()
                .map(|r| (r.sample.id.as_str(), r.copy.worker_id.as_str()))
                .collect();
            let want: Vec<(&str, &str)> = chosen
                .iter()
                .enumerate()
                .map(|(i, &sample)| (f.samples[sample].id.as_str(), order[i % 2].as_str()))
                .collect();
            assert_eq!(total, chosen.len() as u64, "{}: case {k}", b.name);
            assert_eq!(got, want, "{}: case {k}: i counts among the matching samples", b.name);
        }
    }
}

// ---- copy writes ----

#[tokio::test]
async fn copy_writes_replace_labels_set_state_and_bump_the_version() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 3, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;

        // Only existing ids, in request order, each once, with their copies.
        let asked = vec![
            f.samples[2].id.clone(),
            new_hex32(),
            f.samples[0].id.clone(),
            f.samples[2].id.clone(),
        ];
        let loaded = s.load_team_samples(&t.id, &f.dataset.id, &asked).await.unwrap();
        let got: Vec<SampleRecord> = loaded.iter().map(|x| bare(&x.sample)).collect();
        assert_eq!(got, vec![bare(&f.samples[2]), bare(&f.samples[0])], "{}", b.name);
        assert_eq!(
            loaded.iter().map(|x| x.copies.len()).collect::<Vec<_>>(),
            vec![1, 1],
            "{}",
            b.name
        );
        assert!(
            s.load_team_samples(&t.id, &new_alnum19(), &asked)
                .await
                .unwrap()
                .is_empty(),
            "{}: another dataset",
            b.name
        );
        let c0 = loaded[1].copies[0].clone();
        assert_eq!(
            c0,
            CopyRecord {
                id: c0.id,
                worker_id: order[0].clone(),
                state: NONE.into(),
                version: 0,
                labels: vec![],
                metadata: None,
                sample_usage: None,
                update_time: 200,
            },
            "{}: an empty copy",
            b.name
        );

        let boxed = json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2], [3, 4]]});
        let cat = PlacedLabel {
            instance_id: Some("i1".into()),
            score: None,
            annotated_by: None,
            ..placed(&f.cat, boxed.clone())
        };
        let first = CopyWrite {
            metadata: Some(obj(json!({"k": 1, "nested": {"a": [true, null]}}))),
            sample_usage: Some("TRAIN".into()),
            ..write(c0.id, 0, vec![cat.clone()], UNREVIEWED, 50)
        };
        let h1 = history(
            &f.dataset.id,
            &f.samples[0].id,
            Some(&t.id),
            Some(&order[0]),
            &f.owner,
            50,
            (NONE, UNREVIEWED),
            "cat",
            1,
        );
        s.write_copies(&[first], std::slice::from_ref(&h1))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let after = &f.copies(s, &t.id).await[0][0];
        assert_eq!(
            after,
            &CopyRecord {
                id: c0.id,
                worker_id: order[0].clone(),
                state: UNREVIEWED.into(),
                version: 1,
                labels: vec![cat.clone()],
                metadata: Some(obj(json!({"k": 1, "nested": {"a": [true, null]}}))),
                sample_usage: Some("TRAIN".into()),
                update_time: 50,
            },
            "{}",
            b.name
        );

        // Labels replace; metadata and usage left out keep the old.
        let dogs = vec![placed(&f.dog, boxed.clone()), placed(&f.dog, json!({"x": 1}))];
        let h2 = history(
            &f.dataset.id,
            &f.samples[0].id,
            Some(&t.id),
            Some(&order[0]),
            &f.owner,
            60,
            (UNREVIEWED, UNCHECK),
            "dog",
            2,
        );
        s.write_copies(&[write(c0.id, 1, dogs.clone(), UNCHECK, 60)], std::slice::from_ref(&h2))
            .await
            .unwrap();
        let after = &f.copies(s, &t.id).await[0][0];
        assert_eq!(
            after,
            &CopyRecord {
                id: c0.id,
                worker_id: order[0].clone(),
                state: UNCHECK.into(),
                version: 2,
                labels: dogs.clone(),
                metadata: Some(obj(json!({"k": 1, "nested": {"a": [true, null]}}))),
                sample_usage: Some("TRAIN".into()),
                update_time: 60,
            },
            "{}: metadata None keeps the old",
            b.name
        );
        // The other copies are untouched.
        let copies = f.copies(s, &t.id).await;
        assert_eq!(
            (
                copies[1][0].version,
                copies[1][0].state.as_str(),
                copies[1][0].labels.len()
            ),
            (0, NONE, 0),
            "{}",
            b.name
        );

        // An empty label set clears.
        s.write_copies(&[write(c0.id, 2, vec![], UNREVIEWED, 70)], &[])
            .await
            .unwrap();
        let after = &f.copies(s, &t.id).await[0][0];
        assert_eq!(
            (after.version, after.labels.len(), after.state.as_str()),
            (3, 0, UNREVIEWED),
            "{}",
            b.name
        );
        s.write_copies(&[write(c0.id, 3, dogs.clone(), UNREVIEWED, 80)], &[])
            .await
            .unwrap();

        assert_eq!(
            counts(s.task_copy_counts(&t.id).await.unwrap()),
            {
                let mut want = vec![
                    (order[0].clone(), NONE.to_string(), 1),
                    (order[0].clone(), UNREVIEWED.to_string(), 1),
                    (order[1].clone(), NONE.to_string(), 1),
                ];
                want.sort();
                want
            },
            "{}",
            b.name
        );
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 3, "{}", b.name);
        assert_eq!(
            usage(s.task_label_usage(&t.id).await.unwrap()),
            vec![(f.dog.id, 2, 1)],
            "{}: copy labels, not dataset labels",
            b.name
        );

        // History rows were appended, newest first.
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[0].id, 0, 10).await.unwrap();
        assert_eq!(total, 2, "{}", b.name);
        assert_eq!(
            rows.iter().map(without_id).collect::<Vec<_>>(),
            vec![h2.clone(), h1.clone()],
            "{}",
            b.name
        );
        assert!(rows[0].id > rows[1].id, "{}: ids grow", b.name);
        // Dataset-level labels are not touched by copy writes.
        let s0 = s.get_sample(&f.dataset.id, &f.samples[0].id).await.unwrap();
        assert_eq!(s0, f.samples[0], "{}", b.name);
    }
}

#[tokio::test]
async fn a_stale_copy_write_writes_nothing_of_its_batch() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let copies = f.copies(s, &t.id).await;
        let (c0, c1) = (copies[0][0].id, copies[1][0].id);
        // c0 at version 1.
        s.write_copies(&[write(c0, 0, vec![placed(&f.cat, json!({}))], UNREVIEWED, 10)], &[])
            .await
            .unwrap();
        let before = f.copies(s, &t.id).await;

        let h = |sample: usize, time: i64| {
            history(
                &f.dataset.id,
                &f.samples[sample].id,
                Some(&t.id),
                Some(&order[sample % 2]),
                &f.owner,
                time,
                (NONE, UNREVIEWED),
                "dog",
                1,
            )
        };
        // A valid write before the stale one, then after it; copy ids in both orders.
        let batches = [
            vec![
                write(c1, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
                write(c0, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
            ],
            vec![
                write(c0, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
                write(c1, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
            ],
            vec![
                write(c0, 1, vec![placed(&f.dog, json!({}))], UNCHECK, 20),
                write(c1, 5, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
            ],
            vec![
                write(c1, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
                write(c1, 0, vec![placed(&f.cat, json!({}))], UNREVIEWED, 20),
            ],
        ];
        for (k, batch) in batches.iter().enumerate() {
            let err = s.write_copies(batch, &[h(1, 20), h(0, 20)]).await.unwrap_err();
            assert_eq!(
                (err.kind, err.code),
                (ErrorKind::Conflict, codes::VERSION_CONFLICT),
                "{}: batch {k}",
                b.name
            );
            assert_eq!(
                f.copies(s, &t.id).await,
                before,
                "{}: batch {k}: nothing written",
                b.name
            );
            for sample in &f.samples {
                assert_eq!(
                    s.list_history(&f.dataset.id, &sample.id, 0, 10).await.unwrap().0,
                    0,
                    "{}: batch {k}: no history",
                    b.name
                );
            }
        }
        // A copy that does not exist is a conflict too.
        let err = s
            .write_copies(&[write(c1 + 1000, 0, vec![], UNREVIEWED, 20)], &[h(1, 20)])
            .await
            .unwrap_err();
        assert_eq!(err.code, codes::VERSION_CONFLICT, "{}", b.name);
        assert_eq!(
            s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap().0,
            0
        );
        assert_eq!(
            usage(s.task_label_usage(&t.id).await.unwrap()),
            vec![(f.cat.id, 1, 1)],
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn the_same_copy_written_twice_in_one_call_ends_with_the_second_write() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let c = f.copies(s, &t.id).await[1][0].clone();
        s.write_copies(&[write(c.id, 0, vec![], UNREVIEWED, 5)], &[])
            .await
            .unwrap();
        let v = 1;
        let second = vec![placed(&f.dog, json!({"n": 2})), placed(&f.cat, json!({"n": 3}))];
        let batch = vec![
            CopyWrite {
                metadata: Some(obj(json!({"first": true}))),
                ..write(c.id, v, vec![placed(&f.cat, json!({"n": 1}))], UNREVIEWED, 10)
            },
            CopyWrite {
                sample_usage: Some("EVAL".into()),
                ..write(c.id, v + 1, second.clone(), UNCHECK, 11)
            },
        ];
        let hs = vec![
            history(
                &f.dataset.id,
                &f.samples[1].id,
                Some(&t.id),
                Some(&c.worker_id),
                &f.owner,
                10,
                (UNREVIEWED, UNREVIEWED),
                "cat",
                v + 1,
            ),
            history(
                &f.dataset.id,
                &f.samples[1].id,
                Some(&t.id),
                Some(&c.worker_id),
                &f.owner,
                11,
                (UNREVIEWED, UNCHECK),
                "dog",
                v + 2,
            ),
        ];
        s.write_copies(&batch, &hs)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let after = f.copies(s, &t.id).await[1][0].clone();
        assert_eq!(
            after,
            CopyRecord {
                id: c.id,
                worker_id: c.worker_id.clone(),
                state: UNCHECK.into(),
                version: v + 2,
                labels: second.clone(),
                metadata: Some(obj(json!({"first": true}))),
                sample_usage: Some("EVAL".into()),
                update_time: 11,
            },
            "{}",
            b.name
        );
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap();
        assert_eq!(total, 2, "{}", b.name);
        assert_eq!(
            rows.iter().map(without_id).collect::<Vec<_>>(),
            vec![hs[1].clone(), hs[0].clone()],
            "{}: in the order given, newest first",
            b.name
        );
        assert_eq!(
            usage(s.task_label_usage(&t.id).await.unwrap()),
            {
                let mut want = vec![(f.cat.id, 1, 1), (f.dog.id, 1, 1)];
                want.sort();
                want
            },
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn a_member_has_open_work_until_every_copy_is_accepted_or_the_task_is_finished() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 3, 3).await;
        let order: Vec<String> = f.labelers.iter().take(2).map(|w| w.id.clone()).collect();
        let idle = &f.labelers[2].id;
        assert!(
            !s.worker_has_open_work(&order[0]).await.unwrap(),
            "{}: no copies",
            b.name
        );
        let t = f.started(s, "t", &order, 1).await;
        assert!(s.worker_has_open_work(&order[0]).await.unwrap(), "{}", b.name);
        assert!(s.worker_has_open_work(&order[1]).await.unwrap(), "{}", b.name);
        assert!(
            !s.worker_has_open_work(idle).await.unwrap(),
            "{}: a member without copies",
            b.name
        );

        // Labeler 0 has samples 0 and 2.
        let copies = f.copies(s, &t.id).await;
        s.write_copies(&[write(copies[0][0].id, 0, vec![], ACCEPTED, 10)], &[])
            .await
            .unwrap();
        assert!(
            s.worker_has_open_work(&order[0]).await.unwrap(),
            "{}: one copy left",
            b.name
        );
        s.write_copies(&[write(copies[2][0].id, 0, vec![], UNCHECK, 10)], &[])
            .await
            .unwrap();
        assert!(
            s.worker_has_open_work(&order[0]).await.unwrap(),
            "{}: not accepted",
            b.name
        );
        s.write_copies(&[write(copies[2][0].id, 1, vec![], ACCEPTED, 11)], &[])
            .await
            .unwrap();
        assert!(
            !s.worker_has_open_work(&order[0]).await.unwrap(),
            "{}: all accepted",
            b.name
        );
        assert!(s.worker_has_open_work(&order[1]).await.unwrap(), "{}", b.name);

        // A finished task (status 3) leaves no open work.
        s.update_task(&TaskRecord { status: 3, ..t.clone() }, None)
            .await
            .unwrap();
        assert!(
            !s.worker_has_open_work(&order[1]).await.unwrap(),
            "{}: task finished",
            b.name
        );
        s.update_task(&TaskRecord { status: 2, ..t.clone() }, None)
            .await
            .unwrap();
        assert!(
            s.worker_has_open_work(&order[1]).await.unwrap(),
            "{}: status 2 is open",
            b.name
        );
    }
}

// ---- listing team samples ----

/// What a listing case is about, its query and the (sample, member) pairs it answers.
type ListCase = (&'static str, TeamSampleQuery, Vec<(String, String)>);

#[tokio::test]
async fn team_samples_are_listed_filtered_paged_and_ordered_by_sample_then_member() {
    for b in backends().await {
        let s = b.store.as_ref();
        // Samples: 0 dog, 1 cat, 2 -, 3 cat+dog (dataset labels, which the copy filters ignore).
        let f = fixture(s, 4, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 2).await;
        let mut by_id = f.labelers.clone();
        by_id.sort_by(|a, b| a.id.cmp(&b.id));
        let labelers: Vec<Labeler> = by_id
            .iter()
            .map(|w| Labeler {
                worker_id: w.id.clone(),
                email: w.email.clone(),
                role: w.role,
            })
            .collect();

        let key = |rows: &[TeamSampleRow]| -> Vec<(String, String)> {
            rows.iter()
                .map(|r| (r.sample.id.clone(), r.copy.worker_id.clone()))
                .collect()
        };
        let pairs: Vec<(String, String)> = f
            .samples
            .iter()
            .flat_map(|x| by_id.iter().map(move |w| (x.id.clone(), w.id.clone())))
            .collect();

        let (total, rows) = s.list_team_samples(&t.id, &all_team_samples()).await.unwrap();
        assert_eq!(total, 8, "{}", b.name);
        assert_eq!(key(&rows), pairs, "{}: by sample, then member id", b.name);
        for r in &rows {
            assert_eq!(r.labelers, labelers, "{}: every labeler of the sample", b.name);
            let want = f.samples.iter().find(|x| x.id == r.sample.id).unwrap();
            assert_eq!(bare(&r.sample), bare(want), "{}", b.name);
            assert_eq!(
                (r.copy.state.as_str(), r.copy.version, r.copy.labels.len()),
                (NONE, 0, 0),
                "{}",
                b.name
            );
        }

        let page = TeamSampleQuery {
            offset: 1,
            limit: 3,
            ..TeamSampleQuery::default()
        };
        let (total, rows) = s.list_team_samples(&t.id, &page).await.unwrap();
        assert_eq!(
            (total, key(&rows)),
            (8, pairs[3..6].to_vec()),
            "{}: page 1 of 3",
            b.name
        );

        let mine = TeamSampleQuery {
            worker_id: Some(by_id[1].id.clone()),
            ..all_team_samples()
        };
        let (total, rows) = s.list_team_samples(&t.id, &mine).await.unwrap();
        let want: Vec<(String, String)> = pairs.iter().filter(|(_, w)| *w == by_id[1].id).cloned().collect();
        assert_eq!((total, key(&rows)), (4, want), "{}: one member", b.name);
        assert_eq!(
            rows[0].labelers, labelers,
            "{}: labelers are all, whatever the filter",
            b.name
        );

        let one = TeamSampleQuery {
            sample_id: Some(f.samples[2].id.clone()),
            ..all_team_samples()
        };
        let (total, rows) = s.list_team_samples(&t.id, &one).await.unwrap();
        assert_eq!((total, key(&rows)), (2, pairs[4..6].to_vec()), "{}: one sample", b.name);

        // Label some copies: (s1, m0) cat, (s2, m1) cat+dog, (s3, m0) dog.
        let copies = f.copies(s, &t.id).await;
        let copy_of = |sample: usize, member: usize| -> CopyRecord {
            copies[sample]
                .iter()
                .find(|c| c.worker_id == by_id[member].id)
                .unwrap()
                .clone()
        };
        let (c10, c21, c30) = (copy_of(1, 0), copy_of(2, 1), copy_of(3, 0));
        let cat = placed(&f.cat, json!({}));
        let dog = placed(&f.dog, json!({}));
        s.write_copies(
            &[
                write(c10.id, 0, vec![cat.clone()], UNREVIEWED, 10),
                write(c21.id, 0, vec![cat.clone(), dog.clone()], UNREVIEWED, 10),
                write(c30.id, 0, vec![dog.clone()], ACCEPTED, 10),
            ],
            &[],
        )
        .await
        .unwrap();

        let filtered = |states: Option<Vec<&str>>, groups: Vec<Vec<i64>>| TeamSampleQuery {
            states: states.map(|v| v.into_iter().map(str::to_string).collect()),
            label_groups: groups,
            ..all_team_samples()
        };
        let pair = |sample: usize, member: usize| (f.samples[sample].id.clone(), by_id[member].id.clone());
        let cases: Vec<ListCase> = vec![
            (
                "unreviewed",
                filtered(Some(vec![UNREVIEWED]), vec![]),
                vec![pair(1, 0), pair(2, 1)],
            ),
            (
                "unreviewed or accepted",
                filtered(Some(vec![UNREVIEWED, ACCEPTED]), vec![]),
                vec![pair(1, 0), pair(2, 1), pair(3, 0)],
            ),
            ("no states", filtered(Some(vec![]), vec![]), vec![]),
            (
                "none",
                filtered(Some(vec![NONE]), vec![]),
                vec![pair(0, 0), pair(0, 1), pair(1, 1), pair(2, 0), pair(3, 1)],
            ),
            (
                "cat",
                filtered(None, vec![vec![f.cat.id]]),
                vec![pair(1, 0), pair(2, 1)],
            ),
            (
                "cat or dog",
                filtered(None, vec![vec![f.cat.id, f.dog.id]]),
                vec![pair(1, 0), pair(2, 1), pair(3, 0)],
            ),
            (
                "cat and dog",
                filtered(None, vec![vec![f.cat.id], vec![f.dog.id]]),
                vec![pair(2, 1)],
            ),
            ("empty group", filtered(None, vec![vec![]]), vec![]),
            (
                "dog, accepted",
                filtered(Some(vec![ACCEPTED]), vec![vec![f.dog.id]]),
                vec![pair(3, 0)],
            ),
        ];
        for (what, query, want) in cases {
            let (total, rows) = s.list_team_samples(&t.id, &query).await.unwrap();
            assert_eq!((total, key(&rows)), (want.len() as u64, want), "{}: {what}", b.name);
        }
        let one_mine = TeamSampleQuery {
            worker_id: Some(by_id[1].id.clone()),
            sample_id: Some(f.samples[2].id.clone()),
            ..all_team_samples()
        };
        let (total, rows) = s.list_team_samples(&t.id, &one_mine).await.unwrap();
        assert_eq!(total, 1, "{}", b.name);
        assert_eq!(
            rows[0].copy,
            CopyRecord {
                id: c21.id,
                worker_id: by_id[1].id.clone(),
                state: UNREVIEWED.into(),
                version: 1,
                labels: vec![cat.clone(), dog.clone()],
                metadata: None,
                sample_usage: None,
                update_time: 10,
            },
            "{}: the copy with its labels",
            b.name
        );
        assert_eq!(
            s.list_team_samples(&new_alnum19(), &all_team_samples())
                .await
                .unwrap()
                .0,
            0,
            "{}: another task",
            b.name
        );
    }
}

// ---- dataset-level writes and history ----

#[tokio::test]
async fn sample_writes_replace_dataset_labels_with_version_checks() {
    for b in backends().await {
        let s = b.store.as_ref();
        // Samples: 0 dog, 1 cat, 2 -.
        let f = fixture(s, 3, 0).await;
        let (s0, s1, s2) = (&f.samples[0], &f.samples[1], &f.samples[2]);

        let loaded = s
            .load_samples(
                &f.dataset.id,
                &[s2.id.clone(), new_hex32(), s0.id.clone(), s2.id.clone()],
            )
            .await
            .unwrap();
        assert_eq!(
            loaded,
            vec![s2.clone(), s0.clone()],
            "{}: with labels, in request order",
            b.name
        );
        assert_eq!(
            s.load_samples(&new_alnum19(), std::slice::from_ref(&s0.id))
                .await
                .unwrap(),
            vec![],
            "{}: another dataset",
            b.name
        );

        let sw = |x: &SampleRecord, expected: i64, labels: Vec<PlacedLabel>, time: i64| SampleWrite {
            dataset_id: f.dataset.id.clone(),
            sample_id: x.id.clone(),
            expected_version: expected,
            labels,
            metadata: obj(json!({"@modelarts:size": [1, 2, 3], "w": time})),
            sample_usage: None,
            status: SampleStatus::ManualAnnotation,
            update_time: time,
        };
        let h = |x: &SampleRecord, time: i64, version_after: i64| {
            history(
                &f.dataset.id,
                &x.id,
                None,
                None,
                &f.owner,
                time,
                ("UN_ANNOTATION", "MANUAL_ANNOTATION"),
                "cat",
                version_after,
            )
        };
        let cat = placed(&f.cat, json!({"@modelarts:shape": "bndbox"}));
        let dog = placed(&f.dog, json!({}));

        let first = SampleWrite {
            sample_usage: Some("TEST".into()),
            ..sw(s2, 0, vec![cat.clone(), dog.clone()], 50)
        };
        let h1 = h(s2, 50, 1);
        s.write_samples(&[first], std::slice::from_ref(&h1))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let want = SampleRecord {
            labels: vec![cat.clone(), dog.clone()],
            metadata: obj(json!({"@modelarts:size": [1, 2, 3], "w": 50})),
            sample_usage: Some("TEST".into()),
            status: SampleStatus::ManualAnnotation,
            update_time: 50,
            version: 1,
            ..s2.clone()
        };
        assert_eq!(s.get_sample(&f.dataset.id, &s2.id).await.unwrap(), want, "{}", b.name);

        // Usage left out keeps the old; labels and status replace.
        let cleared = SampleWrite {
            status: SampleStatus::UnAnnotation,
            ..sw(s2, 1, vec![], 60)
        };
        let h2 = h(s2, 60, 2);
        s.write_samples(&[cleared], std::slice::from_ref(&h2)).await.unwrap();
        let want = SampleRecord {
            labels: vec![],
            metadata: obj(json!({"@modelarts:size": [1, 2, 3], "w": 60})),
            status: SampleStatus::UnAnnotation,
            update_time: 60,
            version: 2,
            ..want
        };
        assert_eq!(s.get_sample(&f.dataset.id, &s2.id).await.unwrap(), want, "{}", b.name);

        // A stale write: nothing of the batch, not the valid write before it, nor history.
        for batch in [
            vec![sw(s0, 0, vec![cat.clone()], 70), sw(s2, 1, vec![dog.clone()], 70)],
            vec![sw(s2, 1, vec![dog.clone()], 70), sw(s0, 0, vec![cat.clone()], 70)],
            vec![sw(s1, 0, vec![dog.clone()], 70), sw(s1, 0, vec![cat.clone()], 70)],
            vec![
                sw(s0, 0, vec![cat.clone()], 70),
                SampleWrite {
                    dataset_id: new_alnum19(),
                    ..sw(s1, 0, vec![cat.clone()], 70)
                },
            ],
        ] {
            let err = s
                .write_samples(&batch, &[h(s0, 70, 1), h(s2, 70, 3)])
                .await
                .unwrap_err();
            assert_eq!(
                (err.kind, err.code),
                (ErrorKind::Conflict, codes::VERSION_CONFLICT),
                "{}",
                b.name
            );
            assert_eq!(
                s.load_samples(&f.dataset.id, &[s0.id.clone(), s1.id.clone(), s2.id.clone()])
                    .await
                    .unwrap(),
                vec![s0.clone(), s1.clone(), want.clone()],
                "{}: nothing written",
                b.name
            );
            assert_eq!(
                s.list_history(&f.dataset.id, &s0.id, 0, 10).await.unwrap().0,
                0,
                "{}",
                b.name
            );
            assert_eq!(
                s.list_history(&f.dataset.id, &s2.id, 0, 10).await.unwrap().0,
                2,
                "{}",
                b.name
            );
        }

        // The same sample twice in one call, at v and v + 1.
        let twice = vec![
            sw(s1, 0, vec![dog.clone()], 80),
            sw(s1, 1, vec![cat.clone(), cat.clone()], 81),
        ];
        s.write_samples(&twice, &[h(s1, 80, 1), h(s1, 81, 2)])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(
            s.get_sample(&f.dataset.id, &s1.id).await.unwrap(),
            SampleRecord {
                labels: vec![cat.clone(), cat.clone()],
                metadata: obj(json!({"@modelarts:size": [1, 2, 3], "w": 81})),
                status: SampleStatus::ManualAnnotation,
                update_time: 81,
                version: 2,
                ..s1.clone()
            },
            "{}",
            b.name
        );
        let mut usage_now = usage(s.label_usage(&f.dataset.id).await.unwrap());
        usage_now.sort();
        let mut want_usage = vec![(f.cat.id, 2, 1), (f.dog.id, 1, 1)];
        want_usage.sort();
        assert_eq!(usage_now, want_usage, "{}: s0 dog, s1 cat cat", b.name);

        let (total, rows) = s.list_history(&f.dataset.id, &s2.id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows.iter().map(without_id).collect::<Vec<_>>()),
            (2, vec![h2.clone(), h1.clone()]),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn history_is_listed_newest_first_with_paging_and_a_total() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let t = f.started(s, "t", &[f.labelers[0].id.clone()], 1).await;
        let copy = f.copies(s, &t.id).await[0][0].clone();
        let mut written = Vec::new();
        for v in 0..5_i64 {
            let h = history(
                &f.dataset.id,
                &f.samples[0].id,
                Some(&t.id),
                Some(&copy.worker_id),
                &f.owner,
                100 + v,
                (NONE, UNREVIEWED),
                &format!("l{v}"),
                v + 1,
            );
            s.write_copies(
                &[write(copy.id, v, vec![], UNREVIEWED, 100 + v)],
                std::slice::from_ref(&h),
            )
            .await
            .unwrap();
            written.push(h);
        }
        // Another sample's and another dataset's rows are not listed.
        let other = history(
            &f.dataset.id,
            &f.samples[1].id,
            None,
            None,
            &f.owner,
            1,
            (NONE, NONE),
            "x",
            1,
        );
        let elsewhere = history(
            &new_alnum19(),
            &f.samples[0].id,
            None,
            None,
            &f.owner,
            1,
            (NONE, NONE),
            "x",
            1,
        );
        s.write_samples(&[], &[other, elsewhere]).await.unwrap();

        written.reverse();
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[0].id, 0, 10).await.unwrap();
        assert_eq!(total, 5, "{}", b.name);
        assert_eq!(rows.iter().map(without_id).collect::<Vec<_>>(), written, "{}", b.name);
        assert!(rows.windows(2).all(|w| w[0].id > w[1].id), "{}: ids descend", b.name);
        let (total, page) = s.list_history(&f.dataset.id, &f.samples[0].id, 1, 2).await.unwrap();
        assert_eq!((total, page), (5, rows[2..4].to_vec()), "{}: page 1 of 2", b.name);
        let (total, page) = s.list_history(&f.dataset.id, &f.samples[0].id, 2, 2).await.unwrap();
        assert_eq!((total, page), (5, rows[4..].to_vec()), "{}: last page", b.name);
        let (total, page) = s.list_history(&f.dataset.id, &f.samples[0].id, 3, 2).await.unwrap();
        assert_eq!((total, page.len()), (5, 0), "{}", b.name);
        assert_eq!(
            s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap().0,
            1
        );
        assert_eq!(s.list_history(&f.dataset.id, &new_hex32(), 0, 10).await.unwrap().0, 0);
    }
}

// ---- cascades ----

#[tokio::test]
async fn deleting_a_sample_or_a_task_removes_copies_but_keeps_history() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 3, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 2).await;
        let copies = f.copies(s, &t.id).await;
        let c = copies[1][0].clone();
        let h = history(
            &f.dataset.id,
            &f.samples[1].id,
            Some(&t.id),
            Some(&c.worker_id),
            &f.owner,
            10,
            (NONE, UNREVIEWED),
            "cat",
            1,
        );
        s.write_copies(
            &[write(c.id, 0, vec![placed(&f.cat, json!({}))], UNREVIEWED, 10)],
            std::slice::from_ref(&h),
        )
        .await
        .unwrap();
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 3, "{}", b.name);

        // A sample goes with its copies.
        let deleted = s
            .delete_samples(&f.dataset.id, &[f.samples[1].id.clone()])
            .await
            .unwrap();
        assert_eq!(deleted.len(), 1, "{}", b.name);
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 2, "{}", b.name);
        let (total, rows) = s.list_team_samples(&t.id, &all_team_samples()).await.unwrap();
        assert_eq!(total, 4, "{}: copies of the deleted sample are gone", b.name);
        assert!(rows.iter().all(|r| r.sample.id != f.samples[1].id), "{}", b.name);
        let n: u64 = s.task_copy_counts(&t.id).await.unwrap().iter().map(|c| c.count).sum();
        assert_eq!(n, 4, "{}", b.name);
        assert_eq!(s.task_label_usage(&t.id).await.unwrap(), vec![], "{}", b.name);
        let ids: Vec<String> = f.samples.iter().map(|x| x.id.clone()).collect();
        let loaded = s.load_team_samples(&t.id, &f.dataset.id, &ids).await.unwrap();
        assert_eq!(
            loaded.iter().map(|x| x.sample.id.as_str()).collect::<Vec<_>>(),
            vec![f.samples[0].id.as_str(), f.samples[2].id.as_str()],
            "{}",
            b.name
        );
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows.iter().map(without_id).collect::<Vec<_>>()),
            (1, vec![h.clone()]),
            "{}: history outlives the sample",
            b.name
        );

        // A task goes with its copies and members; history stays.
        let h0 = history(
            &f.dataset.id,
            &f.samples[0].id,
            Some(&t.id),
            Some(&order[0]),
            &f.owner,
            20,
            (NONE, NONE),
            "dog",
            1,
        );
        s.write_copies(&[], std::slice::from_ref(&h0)).await.unwrap();
        assert!(s.worker_has_open_work(&order[0]).await.unwrap(), "{}", b.name);
        s.delete_task(&f.dataset.id, &t.id).await.unwrap();
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 0, "{}", b.name);
        assert_eq!(s.task_copy_counts(&t.id).await.unwrap(), vec![], "{}", b.name);
        assert_eq!(s.list_team_samples(&t.id, &all_team_samples()).await.unwrap().0, 0);
        assert_eq!(s.task_workers(&t.id).await.unwrap(), vec![], "{}", b.name);
        assert!(!s.worker_has_open_work(&order[0]).await.unwrap(), "{}", b.name);
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[0].id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows.iter().map(without_id).collect::<Vec<_>>()),
            (1, vec![h0.clone()]),
            "{}: history outlives the task",
            b.name
        );
        assert_eq!(
            s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap().0,
            1
        );
        // The samples and members themselves stay.
        assert_eq!(
            s.get_sample(&f.dataset.id, &f.samples[0].id).await.unwrap(),
            f.samples[0]
        );
        assert_eq!(s.get_worker(&f.team.id, &order[0]).await.unwrap().id, order[0]);
    }
}

#[tokio::test]
async fn deleting_a_workforce_removes_its_task_memberships_and_copies() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 2).await;
        let other_team = workforce(&f.project.id, "others", 2);
        s.insert_workforce(&other_team).await.unwrap();
        let u = user(s, &f.project.id, "other@example.com").await;
        let outsider = worker(&other_team.id, &u, Role::Labeler, 30);
        s.insert_worker(&outsider).await.unwrap();
        let t = task(&f.dataset.id, "t", 100, 1);
        let members = vec![f.labelers[0].id.clone(), f.labelers[1].id.clone(), outsider.id.clone()];
        s.insert_task(&t, &members).await.unwrap();
        s.start_task(&t.id, &f.dataset.id, &SampleQuery::default(), &members, 1, 1, 200)
            .await
            .unwrap();
        assert_eq!(s.task_workers(&t.id).await.unwrap().len(), 3, "{}", b.name);

        s.delete_workforce(&f.project.id, &f.team.id).await.unwrap();
        assert_eq!(
            s.task_workers(&t.id).await.unwrap(),
            vec![outsider.clone()],
            "{}",
            b.name
        );
        assert_eq!(
            counts(s.task_copy_counts(&t.id).await.unwrap()),
            Vec::<(String, String, u64)>::new(),
            "{}: samples 0 and 1 went to the deleted team's members",
            b.name
        );
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 0, "{}", b.name);
        assert_eq!(
            s.get_task(&f.dataset.id, &t.id).await.unwrap().status,
            1,
            "{}: the task stays",
            b.name
        );
    }
}
