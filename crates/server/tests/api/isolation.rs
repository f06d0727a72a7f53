//! Isolation, generated from the policy table (`teamlabel_core::iam::policy::ROUTES`): every route
//! of the API is called by callers who must be refused — another project's owner, a labeler, a
//! reviewer, a team manager outside their team, nobody at all — with its path filled from one
//! fixture and a body the right caller would accept, so a refusal comes from authorization and
//! not from validation. Each row checks the status and ModelArts code and that project A's stored
//! state is exactly what it was; every failing row is reported at once.
//!
//! A route added to the table is covered without touching this file; an operation added to
//! `Op` does not compile here until `body` gives it a request body, and a new `{placeholder}`
//! fails every test until `fill` knows its value.

use serde_json::{json, Value};
use teamlabel_client::Method;

use crate::helpers::codes::*;
use crate::helpers::{add_member, difference, expect, png_b64, token, Answer, TestApp};
use teamlabel_core::iam::policy::{Access, Op, Route, ROUTES};

const OWNER: &str = "owner@example.com";
const OWNER_PASSWORD: &str = "correct horse battery staple";
/// The manager of the team (and a manager member of the task).
const MANAGER: &str = "mia@example.com";
/// A reviewer of the team and of the task.
const REVIEWER: &str = "rita@example.com";
/// Labeler A and labeler B of the task.
const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";
/// A labeler of the team who is in no task: the `{worker_id}` of the paths, deletable.
const SPARE: &str = "sam@example.com";
/// The only member of the second team, which has no manager.
const OUTSIDER: &str = "olga@example.com";

/// The values a path template is filled with, and the ids bodies refer to.
#[derive(Debug, Clone)]
struct Ids {
    project: String,
    dataset: String,
    sample: String,
    label: String,
    team: String,
    worker: String,
    task: String,
    access_key: String,
    /// A labeler of the task, for writes on behalf of a member.
    labeler: String,
}

/// Project A: a dataset with labels `cat` and `dog` and four image samples; a team with a
/// manager, a reviewer, labelers Ann and Bob and a spare labeler; a started task (repetition 1)
/// with Ann, Bob, the reviewer and the manager, where Ann and Bob each labeled one of their
/// samples; a second team nobody here manages; an AK/SK pair of the owner. Project B: its owner
/// and a dataset of its own.
struct Fixture {
    /// A's ids: `{sample_id}` is Ann's labeled sample, `{worker_id}` the spare labeler,
    /// `{label_name}` the label nobody used.
    a: Ids,
    /// A's ids with the second team and its member.
    other_team: Ids,
    ann: String,
    manager: String,
    reviewer: String,
    ann_worker: String,
    bob_worker: String,
    ann_samples: Vec<String>,
    bob_samples: Vec<String>,
    b_project: String,
    b_token: String,
    b_dataset: String,
    /// Everything of project A a stranger must never see: ids and member emails.
    secrets: Vec<String>,
}

impl Fixture {
    /// `/v2/{A}/datasets/{ds}/workforce-tasks/{task}` and the rest.
    fn task_path(&self, rest: &str) -> String {
        let a = &self.a;
        format!(
            "/v2/{}/datasets/{}/workforce-tasks/{}{rest}",
            a.project, a.dataset, a.task
        )
    }
}

/// Sends a request to a path from the root (`/v2/...`, `/v3.0/...`).
async fn send(t: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    t.send(method, path, token, body.map(|b| b.to_string().into_bytes()))
        .await
}

async fn create_team(t: &TestApp, name: &str) -> String {
    let a = t.post("/workforces", json!({"workforce_name": name})).await;
    expect(t, &format!("create team {name}"), &a, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The sample ids of the copies a labeler lists, all of which must be theirs.
async fn own_samples(t: &TestApp, task_path: &str, token: &str, worker: &str) -> Vec<String> {
    let path = format!("{task_path}/data-annotations/samples?limit=100");
    let list = expect(
        t,
        "list own copies",
        &send(t, "GET", &path, Some(token), None).await,
        200,
    );
    list["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(
                s["worker_id"], worker,
                "{}: a labeler lists only their copies",
                t.backend
            );
            s["sample_id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Builds the fixture (see `Fixture`) and checks the assignment: two samples each for Ann and Bob.
async fn setup(t: &TestApp) -> Fixture {
    let b = t.backend;
    let project = t.project_id.clone();
    t.app.set_password(&project, OWNER, OWNER_PASSWORD).await.unwrap();
    let ds = t
        .dataset("isolated", 0, json!([{"name": "cat"}, {"name": "dog"}]))
        .await;
    let samples = t
        .samples(
            &ds,
            json!([
                {"name": "a.png", "data": png_b64(4, 4)},
                {"name": "b.png", "data": png_b64(4, 4)},
                {"name": "c.png", "data": png_b64(4, 4)},
                {"name": "d.png", "data": png_b64(4, 4)}
            ]),
        )
        .await;

    let team = create_team(t, "annotators").await;
    let ann_worker = add_member(t, &team, ANN, 0).await;
    let bob_worker = add_member(t, &team, BOB, 0).await;
    let reviewer_worker = add_member(t, &team, REVIEWER, 1).await;
    let manager_worker = add_member(t, &team, MANAGER, 2).await;
    let spare = add_member(t, &team, SPARE, 0).await;
    let other_team = create_team(t, "reserve").await;
    let outsider = add_member(t, &other_team, OUTSIDER, 0).await;

    let workers: Vec<Value> = [ANN, BOB, REVIEWER, MANAGER]
        .iter()
        .map(|e| json!({"email": e}))
        .collect();
    let created = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": "round-1", "repetition": 1,
                   "workforces_config": {"workforces": [{"workforce_id": team, "workers": workers}]}}),
        )
        .await;
    let task = expect(t, "create task", &created, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task_path = format!("/v2/{project}/datasets/{ds}/workforce-tasks/{task}");
    expect(
        t,
        "start task",
        &send(t, "POST", &task_path, Some(&t.token), None).await,
        200,
    );

    let (ann, bob) = (token(t, ANN).await, token(t, BOB).await);
    let ann_samples = own_samples(t, &task_path, &ann, &ann_worker).await;
    let bob_samples = own_samples(t, &task_path, &bob, &bob_worker).await;
    assert_eq!((ann_samples.len(), bob_samples.len()), (2, 2), "{b}: two samples each");
    assert!(
        ann_samples.iter().all(|s| !bob_samples.contains(s)),
        "{b}: one copy per sample"
    );
    for (token, sample) in [(&ann, &ann_samples[0]), (&bob, &bob_samples[0])] {
        let batch = json!({"samples": [{"sample_id": sample, "labels": [{"name": "cat"}]}]});
        let path = format!("{task_path}/data-annotations/samples");
        let put = expect(t, "label", &send(t, "PUT", &path, Some(token), Some(&batch)).await, 200);
        assert_eq!(put["success"], true, "{b}: {put}");
    }

    let credential = send(
        t,
        "POST",
        "/v3.0/OS-CREDENTIAL/credentials",
        Some(&t.token),
        Some(&json!({"credential": {}})),
    )
    .await;
    let access_key = expect(t, "create AK/SK", &credential, 201)["credential"]["access"]
        .as_str()
        .unwrap()
        .to_string();

    let (b_project, b_token) = t.other_project().await;
    let theirs = send(
        t,
        "POST",
        &format!("/v2/{b_project}/datasets"),
        Some(&b_token),
        Some(&json!({"dataset_name": "theirs", "dataset_type": 0})),
    )
    .await;
    let b_dataset = expect(t, "B's dataset", &theirs, 201)["dataset_id"]
        .as_str()
        .unwrap()
        .to_string();

    let a = Ids {
        project,
        dataset: ds,
        sample: ann_samples[0].clone(),
        label: "dog".into(),
        team,
        worker: spare,
        task,
        access_key,
        labeler: ann_worker.clone(),
    };
    let other_team = Ids {
        team: other_team,
        worker: outsider,
        ..a.clone()
    };
    let mut secrets = vec![
        a.project.clone(),
        a.dataset.clone(),
        a.team.clone(),
        a.worker.clone(),
        a.task.clone(),
        a.access_key.clone(),
        other_team.team.clone(),
        other_team.worker.clone(),
        ann_worker.clone(),
        bob_worker.clone(),
        reviewer_worker,
        manager_worker,
    ];
    secrets.extend(samples);
    secrets.extend([ANN, BOB, REVIEWER, MANAGER, SPARE, OUTSIDER].map(String::from));
    Fixture {
        a,
        other_team,
        ann,
        manager: token(t, MANAGER).await,
        reviewer: token(t, REVIEWER).await,
        ann_worker,
        bob_worker,
        ann_samples,
        bob_samples,
        b_project,
        b_token,
        b_dataset,
        secrets,
    }
}

/// The names of a template's `{...}` placeholders, in order.
fn placeholders(template: &str) -> Vec<&str> {
    template
        .split('{')
        .skip(1)
        .map(|s| s.split('}').next().unwrap())
        .collect()
}

/// A route's path with every placeholder filled from `ids`.
fn fill(route: &Route, ids: &Ids) -> String {
    let mut path = route.path.to_string();
    for name in placeholders(route.path) {
        let value = match name {
            "project_id" => &ids.project,
            "dataset_id" => &ids.dataset,
            "sample_id" => &ids.sample,
            "label_name" => &ids.label,
            "workforce_id" => &ids.team,
            "worker_id" => &ids.worker,
            "workforce_task_id" => &ids.task,
            "access_key" => &ids.access_key,
            // Versions and tasks belong to the dataset: the dataset decides who may see them.
            "version_id" | "task_id" => "a1b2c3d4e5f6g7h8i9j",
            // Webhooks belong to the project: the project decides who may see them.
            "webhook_id" => "0123456789abcdef0123456789abcdef",
            "delivery_id" => "0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef",
            other => panic!(
                "{} {}: isolation.rs has no fixture value for {{{other}}}",
                route.method, route.path
            ),
        };
        path = path.replace(&format!("{{{name}}}"), value);
    }
    path
}

/// A body the right caller would have accepted, or `None` for a route without one. No wildcard
/// arm: a new operation does not compile until it gets a body here.
fn body(op: Op, ids: &Ids) -> Option<Value> {
    let body = match op {
        Op::Health
        | Op::OpenApi
        | Op::ListIdentityVersions
        | Op::GetIdentityVersion
        | Op::GetIdentityVersionAtSelf
        | Op::ListCredentials
        | Op::GetCredential
        | Op::DeleteCredential
        | Op::ListDatasets
        | Op::GetDataset
        | Op::DeleteDataset
        | Op::GetDatasetStats
        | Op::ListLabels
        | Op::DeleteLabel
        | Op::ListSamples
        | Op::GetSample
        | Op::GetSampleFile
        | Op::ListSampleHistory
        | Op::ListWorkforces
        | Op::GetWorkforce
        | Op::DeleteWorkforce
        | Op::ListAllWorkers
        | Op::ListWorkers
        | Op::GetWorker
        | Op::DeleteWorker
        | Op::ListWorkerTasks
        | Op::ListWorkforceTasks
        | Op::GetWorkforceTask
        | Op::DeleteWorkforceTask
        | Op::GetWorkforceTaskStats
        | Op::GetWorkforceTaskMetrics
        | Op::ListWorkforceTaskSamples
        | Op::GetWorkforceTaskSample
        | Op::GetWorkforceTaskSampleFile
        | Op::GetAcceptanceReport
        | Op::GetWorkforceTaskAgreement
        | Op::ListVersions
        | Op::GetVersion
        | Op::DeleteVersion
        | Op::ListImportTasks
        | Op::GetImportTask
        | Op::ListExportTasks
        | Op::GetExportTask
        | Op::DownloadExport
        | Op::GetSyncStatus
        | Op::ListWebhooks
        | Op::GetWebhook
        | Op::DeleteWebhook
        | Op::ListWebhookDeliveries
        | Op::RedeliverWebhook => return None,
        Op::CreateWebhook => json!({"url": "https://hooks.example.com/in", "events": ["copy.labeled"]}),
        Op::UpdateWebhook => json!({"description": "hacked"}),
        Op::SyncData => json!({}),
        Op::CreateVersion => json!({"version_name": "intruder"}),
        Op::CreateImportTask => json!({"import_path": "/in-bkt/hacked/"}),
        Op::CreateExportTask => json!({"path": "/out-bkt/hacked/"}),
        Op::IssueToken => json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": OWNER, "password": OWNER_PASSWORD}}},
            "scope": {"project": {"id": ids.project}}
        }}),
        Op::CreateCredential => json!({"credential": {}}),
        Op::CreateSecurityToken => json!({"auth": {"identity": {"methods": ["token"]}}}),
        Op::CreateDataset => json!({"dataset_name": "intruder", "dataset_type": 0}),
        Op::UpdateDataset => json!({"description": "hacked"}),
        Op::CreateLabels => json!({"labels": [{"name": "hacked"}]}),
        Op::UpdateLabels => json!({"labels": [{"name": ids.label, "property": {"@modelarts:color": "#000000"}}]}),
        Op::DeleteLabels => json!({"labels": [{"name": ids.label}]}),
        Op::UpdateLabel => json!({"@modelarts:color": "#000000"}),
        Op::AddSamples => json!({"samples": [{"source": "http://x/hacked.png"}]}),
        Op::UpdateSamples => json!({"samples": [{"sample_id": ids.sample, "labels": [{"name": "dog"}]}]}),
        Op::DeleteSamples => json!({"samples": [ids.sample]}),
        Op::CreateWorkforce => json!({"workforce_name": "intruders"}),
        Op::UpdateWorkforce => json!({"description": "hacked"}),
        Op::CreateWorker => json!({"emails": "intruder@example.com", "role": 0}),
        Op::BatchDeleteWorkers => json!({"workers": [ids.worker]}),
        Op::UpdateWorker => json!({"description": "hacked"}),
        Op::CreateWorkforceTask => json!({
            "task_name": "intruder", "repetition": 1,
            "workforces_config": {"workforces": [{"workforce_id": ids.team, "workers": [{"email": ANN}, {"email": BOB}]}]}
        }),
        Op::StartWorkforceTask => json!({}),
        Op::UpdateWorkforceTask => json!({"description": "hacked"}),
        Op::UpdateWorkforceTaskSamples => json!({"samples": [
            {"sample_id": ids.sample, "worker_id": ids.labeler, "labels": [{"name": "dog"}]}
        ]}),
        Op::ReviewSamples | Op::AcceptSamples => json!({"comments": [
            {"sample_id": ids.sample, "worker_id": ids.labeler, "accept": false, "comment": "hacked"}
        ]}),
        Op::StartAcceptance => json!({"sampling_rate": 1.0}),
        Op::UpdateAcceptance => json!({"action": 1}),
    };
    Some(body)
}

/// What a row expects.
#[derive(Debug, Clone)]
enum Want {
    /// Refused with this status and ModelArts code.
    Refused(u16, &'static str),
    /// 404 with any ModelArts code.
    NotFound,
    /// 403 `ModelArts.4600`, or 404 with any ModelArts code.
    Hidden,
    /// A 2xx answer naming none of these strings.
    Success { hiding: Vec<String> },
}

/// An answer, shortened for a failure message.
fn shown(a: &Answer) -> String {
    let text = if a.body.is_null() {
        String::from_utf8_lossy(&a.bytes).into_owned()
    } else {
        a.body.to_string()
    };
    let short: String = text.chars().take(300).collect();
    format!("{} {short}", a.status)
}

impl Want {
    fn check(&self, a: &Answer) -> Result<(), String> {
        match self {
            Want::Refused(status, code) if a.status == *status && a.code() == *code => Ok(()),
            Want::Refused(status, code) => Err(format!("expected {status} {code}, got {}", shown(a))),
            Want::NotFound if a.status == 404 && a.code().starts_with("ModelArts.") => Ok(()),
            Want::NotFound => Err(format!("expected 404 with a ModelArts code, got {}", shown(a))),
            Want::Hidden if (a.status, a.code()) == (403, FORBIDDEN) => Ok(()),
            Want::Hidden => Want::NotFound.check(a).map_err(|_| {
                format!(
                    "expected 403 {FORBIDDEN} or 404 with a ModelArts code, got {}",
                    shown(a)
                )
            }),
            // 300: `GET /` lists the identity versions with Keystone's Multiple Choices.
            Want::Success { .. } if !(200..=300).contains(&a.status) => {
                Err(format!("expected a 2xx answer, got {}", shown(a)))
            }
            Want::Success { hiding } => {
                let text = String::from_utf8_lossy(&a.bytes);
                match hiding.iter().find(|s| text.contains(s.as_str())) {
                    Some(s) => Err(format!("the answer names project A's {s:?}: {}", shown(a))),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The refusal a route answers a caller it does not admit (`policy::authorize`).
fn denial(route: &Route) -> Want {
    match (route.op, route.access) {
        (Op::CreateWorkforceTask, _) => Want::Refused(401, MEMBER_CREATES_TASK),
        (
            _,
            Access::TaskManager | Access::TaskMember | Access::TaskLabeler | Access::TaskReviewer | Access::TaskOwner,
        ) => Want::Refused(403, FORBIDDEN),
        _ => Want::Refused(403, NOT_AUTHORIZED),
    }
}

/// One call of a table: the route, who calls it and how, and what it must answer.
struct Row {
    route: &'static Route,
    who: String,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    want: Want,
}

fn row(route: &'static Route, who: &str, ids: &Ids, token: Option<&str>, want: Want) -> Row {
    Row {
        route,
        who: who.to_string(),
        path: fill(route, ids),
        token: token.map(str::to_string),
        body: body(route.op, ids),
        want,
    }
}

async fn read(t: &TestApp, path: &str) -> Value {
    let a = t.get(path).await;
    expect(t, &format!("GET {path}"), &a, 200)
}

fn ids_of<'a>(list: &'a Value, key: &str, id: &str) -> Vec<&'a str> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|x| x[id].as_str().unwrap())
        .collect()
}

/// Everything project A holds that a request could change, read with A's owner token:
/// datasets, labels, samples with their labels and history, tasks with every copy (labels,
/// state, version), teams with their members, and the AK/SK pairs.
async fn project_state(t: &TestApp) -> Value {
    let datasets = read(t, "/datasets?limit=100&with_labels=true").await;
    let mut each = Vec::new();
    for ds in ids_of(&datasets, "datasets", "dataset_id") {
        let samples = read(t, &format!("/datasets/{ds}/data-annotations/samples?limit=100")).await;
        let mut history = Vec::new();
        for s in ids_of(&samples, "samples", "sample_id") {
            history.push(read(t, &format!("/datasets/{ds}/data-annotations/samples/{s}/history")).await);
        }
        let tasks = read(t, &format!("/datasets/{ds}/workforce-tasks")).await;
        let mut task_states = Vec::new();
        for task in ids_of(&tasks, "tasks", "task_id") {
            let path = format!("/datasets/{ds}/workforce-tasks/{task}");
            task_states.push(json!({
                "task": read(t, &format!("{path}?label_stats=true")).await,
                "copies": read(t, &format!("{path}/data-annotations/samples?limit=100")).await,
            }));
        }
        each.push(json!({
            "dataset": read(t, &format!("/datasets/{ds}")).await,
            "labels": read(t, &format!("/datasets/{ds}/data-annotations/labels")).await,
            "samples": samples,
            "history": history,
            "tasks": tasks,
            "task_states": task_states,
        }));
    }
    let teams = read(t, "/workforces?limit=100").await;
    let mut members = Vec::new();
    for team in ids_of(&teams, "workforces", "workforce_id") {
        members.push(read(t, &format!("/workforces/{team}/workers?limit=100")).await);
    }
    let credentials = send(t, "GET", "/v3.0/OS-CREDENTIAL/credentials", Some(&t.token), None).await;
    json!({
        "datasets": datasets,
        "each": each,
        "teams": teams,
        "members": members,
        "credentials": expect(t, "list credentials", &credentials, 200),
    })
}

/// Compares project A with a snapshot taken before; answers the difference and moves the
/// snapshot on, so one change is reported once.
async fn changed(t: &TestApp, before: &mut Value) -> Option<String> {
    let after = project_state(t).await;
    if after == *before {
        return None;
    }
    let diff = difference(before, &after, "").unwrap_or_default();
    *before = after;
    Some(format!("project A's stored state changed: {diff}"))
}

/// Sends every row, checks each answer and that project A is unchanged after it. Every row
/// runs; the failures are reported together at the end.
async fn run_rows(t: &TestApp, test: &str, rows: &[Row]) {
    let mut before = project_state(t).await;
    let mut failures = Vec::new();
    for r in rows {
        let a = send(t, r.route.method, &r.path, r.token.as_deref(), r.body.as_ref()).await;
        let mut why: Vec<String> = r.want.check(&a).err().into_iter().collect();
        why.extend(changed(t, &mut before).await);
        if !why.is_empty() {
            failures.push(format!(
                "{} {} as {} (sent {} {}): {}",
                r.route.method,
                r.route.path,
                r.who,
                r.route.method,
                r.path,
                why.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} {test}: {} of {} rows failed:\n{}",
        t.backend,
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_route_with_an_id_refuses_another_projects_caller_and_changes_nothing() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t).await;
        let b_token = Some(fx.b_token.as_str());
        // A's ids under B's project, and under B's project and dataset.
        let in_b = Ids {
            project: fx.b_project.clone(),
            ..fx.a.clone()
        };
        let in_b_dataset = Ids {
            dataset: fx.b_dataset.clone(),
            ..in_b.clone()
        };
        let mine = || Want::Success {
            hiding: fx.secrets.clone(),
        };
        let mut rows = Vec::new();
        for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
            let names = placeholders(route.path);
            if names.is_empty() {
                // No id to misuse: B's owner acts on B's own data and sees nothing of A's.
                rows.push(row(route, "project B's owner", &fx.a, b_token, mine()));
            } else if names[0] == "project_id" {
                rows.push(row(
                    route,
                    "project B's owner on project A's path",
                    &fx.a,
                    b_token,
                    Want::Refused(403, INVALID_PROJECT),
                ));
                if names.len() == 1 {
                    // The project is the only id: under B's project this is B's own data.
                    rows.push(row(route, "project B's owner under project B", &in_b, b_token, mine()));
                    continue;
                }
                rows.push(row(
                    route,
                    "project B's owner with A's ids under project B",
                    &in_b,
                    b_token,
                    Want::NotFound,
                ));
                if names.contains(&"dataset_id") && names.len() > 2 {
                    rows.push(row(
                        route,
                        "project B's owner with A's ids under B's own dataset",
                        &in_b_dataset,
                        b_token,
                        Want::NotFound,
                    ));
                }
            } else {
                // An id without a project in the path: A's ids are unknown to B.
                rows.push(row(
                    route,
                    "project B's owner with A's ids",
                    &fx.a,
                    b_token,
                    Want::NotFound,
                ));
            }
        }
        run_rows(&t, "another project's caller", &rows).await;
    }
}

#[tokio::test]
async fn members_are_refused_every_route_beyond_their_role_and_nothing_changes() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t).await;
        let (a, other_team) = (&fx.a, &fx.other_team);
        let labeler = Some(fx.ann.as_str());
        let reviewer = Some(fx.reviewer.as_str());
        let manager = Some(fx.manager.as_str());
        // A member of the team who is not in the task.
        let spare = token(&t, SPARE).await;
        let outside = Some(spare.as_str());
        let mut rows = Vec::new();
        for route in ROUTES {
            let want = denial(route);
            match route.access {
                Access::Owner => {
                    rows.push(row(route, "labeler A", a, labeler, want.clone()));
                    rows.push(row(route, "the reviewer", a, reviewer, want.clone()));
                    rows.push(row(route, "the team manager", a, manager, want));
                }
                Access::TeamManager => {
                    rows.push(row(route, "labeler A", a, labeler, want.clone()));
                    rows.push(row(route, "the reviewer", a, reviewer, want.clone()));
                    rows.push(row(route, "the manager of another team", other_team, manager, want));
                }
                Access::TaskManager => {
                    rows.push(row(route, "labeler A", a, labeler, want.clone()));
                    rows.push(row(route, "the reviewer", a, reviewer, want.clone()));
                    rows.push(row(route, "a team member outside the task", a, outside, want));
                }
                Access::TaskMember => {
                    rows.push(row(route, "a team member outside the task", a, outside, want));
                }
                Access::TaskLabeler => {
                    rows.push(row(route, "the reviewer", a, reviewer, want.clone()));
                    rows.push(row(route, "a team member outside the task", a, outside, want));
                }
                Access::TaskReviewer => {
                    rows.push(row(route, "labeler A", a, labeler, want.clone()));
                    rows.push(row(route, "a team member outside the task", a, outside, want));
                }
                Access::TaskOwner => {
                    rows.push(row(route, "labeler A", a, labeler, want.clone()));
                    rows.push(row(route, "the reviewer", a, reviewer, want.clone()));
                    rows.push(row(route, "the task's manager", a, manager, want));
                }
                Access::Public | Access::AnyUser => {}
            }
        }
        run_rows(&t, "members outside their rights", &rows).await;
    }
}

/// A refused write of another labeler's copy: the item fails with 4600 inside a 200, or the
/// whole batch is 403 4600.
fn item_refused(a: &Answer) -> Result<(), String> {
    let item = &a.body["results"][0];
    let refused = match a.status {
        403 => a.code() == FORBIDDEN,
        200 => a.body["success"] == false && item["success"] == false && item["error_code"] == FORBIDDEN,
        _ => false,
    };
    if refused {
        Ok(())
    } else {
        Err(format!(
            "expected the item to fail with {FORBIDDEN} (200 with success false, or 403), got {}",
            shown(a)
        ))
    }
}

#[tokio::test]
async fn labelers_cannot_read_or_write_each_others_samples() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t).await;
        let ann = Some(fx.ann.as_str());
        let (bob_sample, bob_worker) = (&fx.bob_samples[0], &fx.bob_worker);
        let samples = fx.task_path("/data-annotations/samples");
        let bobs_copy = format!("{samples}/{bob_sample}?worker_id={bob_worker}");
        let copy_before = expect(
            &t,
            "Bob's copy",
            &send(&t, "GET", &bobs_copy, Some(&t.token), None).await,
            200,
        );
        assert_eq!(copy_before["labels"][0]["name"], "cat", "{}: {copy_before}", t.backend);
        let mut before = project_state(&t).await;
        let mut failures = Vec::new();

        let reads = [
            ("Bob's sample", format!("{samples}/{bob_sample}"), Want::Hidden),
            (
                "Bob's sample naming Bob",
                bobs_copy.clone(),
                Want::Refused(403, FORBIDDEN),
            ),
            (
                "the list of Bob's samples",
                format!("{samples}?worker_id={bob_worker}"),
                Want::Refused(403, FORBIDDEN),
            ),
        ];
        for (what, path, want) in reads {
            let a = send(&t, "GET", &path, ann, None).await;
            if let Err(why) = want.check(&a) {
                failures.push(format!("GET {path} (labeler A reads {what}): {why}"));
            }
        }

        failures.extend(changed(&t, &mut before).await);

        let relabel = json!([{"name": "dog"}]);
        let writes = [
            (
                "Bob's sample",
                json!({"samples": [{"sample_id": bob_sample, "labels": relabel}]}),
            ),
            (
                "Bob's sample naming Bob's worker id",
                json!({"samples": [{"sample_id": bob_sample, "worker_id": bob_worker, "labels": relabel}]}),
            ),
            (
                "Bob's sample for Bob's email",
                json!({"email": BOB, "samples": [{"sample_id": bob_sample, "labels": relabel}]}),
            ),
        ];
        for (what, batch) in &writes {
            let a = send(&t, "PUT", &samples, ann, Some(batch)).await;
            let mut why: Vec<String> = item_refused(&a).err().into_iter().collect();
            why.extend(changed(&t, &mut before).await);
            if !why.is_empty() {
                failures.push(format!("PUT {samples} (labeler A writes {what}): {}", why.join("; ")));
            }
        }
        let copy_after = expect(
            &t,
            "Bob's copy",
            &send(&t, "GET", &bobs_copy, Some(&t.token), None).await,
            200,
        );
        if copy_after != copy_before {
            failures.push(format!(
                "Bob's copy changed: {}",
                difference(&copy_before, &copy_after, "").unwrap_or_default()
            ));
        }

        // Ann's own list holds her copies, and only hers.
        let list = send(&t, "GET", &format!("{samples}?limit=100"), ann, None).await;
        let listed: Vec<(&str, &str)> = list.body["samples"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|s| {
                        (
                            s["sample_id"].as_str().unwrap_or(""),
                            s["worker_id"].as_str().unwrap_or(""),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut ids: Vec<&str> = listed.iter().map(|(s, _)| *s).collect();
        ids.sort_unstable();
        let mut want: Vec<&str> = fx.ann_samples.iter().map(String::as_str).collect();
        want.sort_unstable();
        if list.status != 200 || ids != want || listed.iter().any(|(_, w)| *w != fx.ann_worker) {
            failures.push(format!(
                "GET {samples} (labeler A's own list): expected exactly A's copies {want:?} of worker {}, got {}",
                fx.ann_worker,
                shown(&list)
            ));
        }
        assert!(
            failures.is_empty(),
            "{}: {} checks failed:\n{}",
            t.backend,
            failures.len(),
            failures.join("\n")
        );
    }
}

#[tokio::test]
async fn public_routes_answer_without_credentials_and_every_other_route_is_401() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t).await;
        let rows: Vec<Row> = ROUTES
            .iter()
            .map(|route| {
                let want = match route.access {
                    Access::Public => Want::Success { hiding: Vec::new() },
                    Access::AnyUser
                    | Access::Owner
                    | Access::TeamManager
                    | Access::TaskManager
                    | Access::TaskMember
                    | Access::TaskLabeler
                    | Access::TaskReviewer
                    | Access::TaskOwner => Want::Refused(401, TOKEN_MISSING),
                };
                row(route, "a caller without credentials", &fx.a, None, want)
            })
            .collect();
        run_rows(&t, "no credentials", &rows).await;
    }
}
