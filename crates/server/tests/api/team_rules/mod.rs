//! The rules of the team batch label update (`PUT .../workforce-tasks/{task}/data-annotations/samples`)
//! and of team, member and task management, table-driven against the real HTTP server on every
//! backend. Every row checks the HTTP status, the ModelArts code, a fragment of the message that
//! names the field or rule, and that nothing changed but what the row was meant to change.
//!
//! Not covered here: a write to an accepted sample (`ModelArts.4606`), which needs an acceptance
//! round (the `acceptance` module tests it); a label type the dataset does not allow (4413) cannot
//! happen in the free-format dataset used here, which allows every label type.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use teamlabel_client::Method;

use crate::helpers::codes::*;
use crate::helpers::{
    add_member, bytes, call, check_refused, check_refused_at, difference, expect, png_b64, token, with, Answer, TestApp,
};

/// A 32-hex id nothing has.
const UNKNOWN_HEX: &str = "0123456789abcdef0123456789abcdef";
/// A 19-alphanumeric id (datasets, teams, tasks) nothing has.
const UNKNOWN_ID19: &str = "NoSuchThing00000000";

const OWNER: &str = "owner@example.com";
const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";
const RITA: &str = "rita@example.com";
/// The text of Ann's text sample: 36 characters.
const ADA: &str = "Ada Lovelace wrote the first program";
/// The text of Bob's text sample: spans count Unicode scalar values, not bytes.
const ZOE: &str = "Zoë Ångström schrieb 数学";

/// Ann's samples and Bob's, interleaved when added, so with repetition 1 sample `2i` goes to Ann
/// (named first in the task) and sample `2i + 1` to Bob.
const ANN_SAMPLES: [&str; 9] = [
    "img", "text", "ref", "audio", "table", "video", "custom", "good", "img2",
];
const BOB_SAMPLES: [&str; 9] = [
    "bob_img",
    "bob_text",
    "bob_audio",
    "bob_ref",
    "bob_table",
    "bob_video",
    "bob_custom",
    "bob_good",
    "bob_img2",
];

/// A free-format dataset carries a label of every label type.
fn all_labels() -> Value {
    json!([
        {"name": "cat", "type": 0},
        {"name": "car", "type": 1},
        {"name": "road", "type": 3},
        {"name": "positive", "type": 100},
        {"name": "Location", "type": 101},
        {"name": "Person", "type": 103},
        {"name": "Book", "type": 103},
        {"name": "Author", "type": 102, "property": {"@modelarts:from_type": "Person", "@modelarts:to_type": "Book"}},
        {"name": "dog", "type": 200},
        {"name": "speech", "type": 201},
        {"name": "paragraph", "type": 202},
        {"name": "clip", "type": 600}
    ])
}

fn sample_body(key: &str) -> Value {
    let reference = |url: &str, sample_type: i32| json!({"source": url, "sample_type": sample_type});
    match key {
        "img" | "good" | "img2" | "bob_img" | "bob_good" | "bob_img2" => {
            json!({"data": png_b64(100, 80), "sample_type": 0})
        }
        "text" => reference(&format!("content://{ADA}"), 1),
        "bob_text" => reference(&format!("content://{ZOE}"), 1),
        "ref" => reference("http://x/ref.jpg", 0),
        "bob_ref" => reference("http://x/bob-ref.jpg", 0),
        "audio" => reference("http://x/a.wav", 2),
        "bob_audio" => reference("http://x/bob.wav", 2),
        "table" => reference("http://x/t.csv", 4),
        "bob_table" => reference("http://x/bob.csv", 4),
        "video" => reference("http://x/v.mp4", 6),
        "bob_video" => reference("http://x/bob.mp4", 6),
        "custom" => reference("http://x/c.bin", 9),
        "bob_custom" => reference("http://x/bob.bin", 9),
        other => panic!("no sample {other}"),
    }
}

/// A started team task on a free-format dataset: two labelers (Ann, Bob) and, when asked, a
/// reviewer (Rita); plus a sample added to the dataset after the start and one of another dataset.
struct Fx {
    ds: String,
    /// `/datasets/{ds}/workforce-tasks/{task_id}`.
    task: String,
    task_id: String,
    team: String,
    ids: HashMap<&'static str, String>,
    names: HashMap<String, &'static str>,
    ann_id: String,
    bob_id: String,
    rita_id: Option<String>,
    ann: String,
    bob: String,
    rita: Option<String>,
    /// In the dataset, not in the task (added after the start).
    late: String,
    foreign_ds: String,
    /// A sample of another dataset.
    foreign: String,
    /// The state of a labeled copy: `__UNREVIEWED__` with a reviewer, else `__UNCHECK__`.
    labeled: &'static str,
}

impl Fx {
    fn id(&self, key: &str) -> String {
        self.ids[key].clone()
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).copied().unwrap_or(id)
    }

    fn samples_path(&self) -> String {
        format!("{}/data-annotations/samples", self.task)
    }
}

async fn member_id(t: &TestApp, team: &str, email: &str) -> String {
    let a = t.get(&format!("/workforces/{team}/workers?limit=100")).await;
    let body = expect(t, "list members", &a, 200);
    body["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["email"] == email)
        .and_then(|w| w["worker_id"].as_str())
        .unwrap_or_else(|| panic!("{}: no member {email}: {body}", t.backend))
        .to_string()
}

fn team_config(team: &str, emails: &[&str]) -> Value {
    let workers: Vec<Value> = emails.iter().map(|e| json!({"email": e})).collect();
    json!({"workforces": [{"workforce_id": team, "workers": workers}]})
}

async fn create_task(t: &TestApp, ds: &str, name: &str, team: &str, emails: &[&str]) -> String {
    let a = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": name, "repetition": 1, "workforces_config": team_config(team, emails)}),
        )
        .await;
    expect(t, &format!("create task {name}"), &a, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn setup(t: &TestApp, with_reviewer: bool) -> Fx {
    let b = t.backend;
    let ds = t.dataset("free", 900, all_labels()).await;
    let keys: Vec<&'static str> = ANN_SAMPLES
        .iter()
        .zip(BOB_SAMPLES.iter())
        .flat_map(|(a, b)| [*a, *b])
        .collect();
    let bodies: Vec<Value> = keys.iter().map(|k| sample_body(k)).collect();
    let created = t.samples(&ds, Value::Array(bodies)).await;
    let ids: HashMap<&'static str, String> = keys.iter().copied().zip(created).collect();
    let names = ids.iter().map(|(k, v)| (v.clone(), *k)).collect();

    let team_answer = t.post("/workforces", json!({"workforce_name": "annotators"})).await;
    let team = expect(t, "create team", &team_answer, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut emails = vec![ANN, BOB];
    add_member(t, &team, ANN, 0).await;
    add_member(t, &team, BOB, 0).await;
    if with_reviewer {
        add_member(t, &team, RITA, 1).await;
        emails.push(RITA);
    }
    let task_id = create_task(t, &ds, "round-1", &team, &emails).await;
    let task = format!("/datasets/{ds}/workforce-tasks/{task_id}");
    expect(t, "start", &t.post(&task, json!({})).await, 200);

    let late = t
        .samples(&ds, json!([{"source": "http://x/late.jpg", "sample_type": 0}]))
        .await
        .remove(0);
    let foreign_ds = t.dataset("other", 0, json!([{"name": "cat"}])).await;
    let foreign = t
        .samples(&foreign_ds, json!([{"source": "http://x/foreign.jpg"}]))
        .await
        .remove(0);
    let fx = Fx {
        ds,
        task,
        task_id,
        ann_id: member_id(t, &team, ANN).await,
        bob_id: member_id(t, &team, BOB).await,
        rita_id: if with_reviewer {
            Some(member_id(t, &team, RITA).await)
        } else {
            None
        },
        ann: token(t, ANN).await,
        bob: token(t, BOB).await,
        rita: if with_reviewer {
            Some(token(t, RITA).await)
        } else {
            None
        },
        team,
        ids,
        names,
        late,
        foreign_ds,
        foreign,
        labeled: if with_reviewer { "__UNREVIEWED__" } else { "__UNCHECK__" },
    };

    // The assignment is the documented one: Ann has exactly her samples, Bob his.
    for (token, keys, worker) in [(&fx.ann, &ANN_SAMPLES, &fx.ann_id), (&fx.bob, &BOB_SAMPLES, &fx.bob_id)] {
        let path = format!("{}?limit=100", fx.samples_path());
        let mine = expect(t, "list own", &call(t, token, Method::GET, &path, None).await, 200);
        let mut got: Vec<&str> = mine["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                assert_eq!(s["worker_id"], worker.as_str(), "{b}");
                fx.name(s["sample_id"].as_str().unwrap())
            })
            .collect();
        got.sort_unstable();
        let mut want = keys.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{b}: sample i goes to labeler i mod 2");
    }
    fx
}

/// Every copy of the task as the owner reads it, by sample id (repetition 1: one copy each).
async fn copies(t: &TestApp, fx: &Fx) -> BTreeMap<String, Value> {
    let a = t.get(&format!("{}?limit=100", fx.samples_path())).await;
    let body = expect(t, "list copies", &a, 200);
    let list = body["samples"].as_array().unwrap();
    assert_eq!(list.len(), ANN_SAMPLES.len() * 2, "{}: {body}", t.backend);
    list.iter()
        .map(|s| (s["sample_id"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

fn geo(name: &str, shape: &str, feature: Value) -> Value {
    json!({"name": name, "property": {"@modelarts:shape": shape, "@modelarts:feature": feature}})
}

fn span(name: &str, start: i64, end: i64) -> Value {
    json!({"name": name, "property": {"@modelarts:start_index": start, "@modelarts:end_index": end}})
}

fn entity(id: &str, name: &str, start: i64, end: i64) -> Value {
    with(&span(name, start, end), json!({"id": id, "type": 103}))
}

fn relation(from: Value, to: Value) -> Value {
    json!({"id": "R1", "name": "Author", "type": 102, "property": {"@modelarts:from": from, "@modelarts:to": to}})
}

fn paragraph(start: Value, end: Value) -> Value {
    json!({"name": "paragraph", "property": {
        "@modelarts:content": "hello", "@modelarts:start_time": start, "@modelarts:end_time": end
    }})
}

fn with_prop(label: Value, key: &str, value: Value) -> Value {
    let mut l = label;
    l["property"][key] = value;
    l
}

mod batches;
mod label_rules;
mod management;
mod requests;

/// A row of a table of whole-request refusals: case, token, method, path below the project, raw
/// body, status, code, message fragment.
type Refusal = (
    String,
    String,
    Method,
    String,
    Option<Vec<u8>>,
    u16,
    &'static str,
    String,
);

/// Sends every row and checks the refusal and that `state` reads the same after it.
async fn run_refusals<F, Fut>(t: &TestApp, rows: &[Refusal], state: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    run_refusals_checked(t, rows, check_refused, state).await
}

/// As `run_refusals`, with `check` judging each answer.
async fn run_refusals_checked<F, Fut>(
    t: &TestApp,
    rows: &[Refusal],
    check: fn(&Answer, u16, &str, &str) -> Result<(), String>,
    state: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut before = state().await;
    let mut failures = Vec::new();
    for (case, token, method, path, body, status, code, fragment) in rows {
        let token = (!token.is_empty()).then_some(token.as_str());
        let a = t.send(method.clone(), &t.path(path), token, body.clone()).await;
        let mut why = Vec::new();
        if let Err(e) = check(&a, *status, code, fragment) {
            why.push(e);
        }
        let after = state().await;
        if let Some(d) = difference(&before, &after, "") {
            why.push(format!("the refused request changed stored state: {d}"));
            before = after;
        }
        if !why.is_empty() {
            failures.push(format!("{case} ({method} {path}): {}", why.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{}: {} of {} rows failed:\n{}",
        t.backend,
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Teams with their members and the tasks of the given datasets, for "nothing changed" checks.
async fn team_state(t: &TestApp, datasets: &[&str]) -> Value {
    let teams = expect(t, "teams", &t.get("/workforces?limit=100").await, 200);
    let mut members = Vec::new();
    for team in teams["workforces"].as_array().unwrap() {
        let id = team["workforce_id"].as_str().unwrap();
        members.push(expect(
            t,
            "members",
            &t.get(&format!("/workforces/{id}/workers?limit=100")).await,
            200,
        ));
    }
    let mut tasks = Vec::new();
    for ds in datasets {
        tasks.push(expect(
            t,
            "tasks",
            &t.get(&format!("/datasets/{ds}/workforce-tasks")).await,
            200,
        ));
    }
    json!({"teams": teams, "members": members, "tasks": tasks})
}
