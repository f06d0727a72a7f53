//! Review and acceptance over HTTP on every backend: the whole flow from labeling to labels in
//! the dataset (`flow`), every closing action from one starting state (`actions`), and the
//! refusals of bad input and out-of-turn calls, each leaving every copy as it was (`refusals`).

mod actions;
mod flow;
mod refusals;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use teamlabel_client::Method;

use crate::helpers::{add_member, call, expect, png_b64, token, Answer, TestApp};

pub const ANN: &str = "ann@example.com";
pub const BOB: &str = "bob@example.com";
pub const RITA: &str = "rita@example.com";

/// A started team task on a free-format dataset of images (100 x 80): two labelers (Ann, Bob),
/// a reviewer (Rita) when asked, a classification label pair and a detection label.
pub struct Fx<'t> {
    pub t: &'t TestApp,
    pub ds: String,
    pub task_id: String,
    /// `/datasets/{ds}/workforce-tasks/{task_id}`.
    pub task: String,
    pub samples: Vec<String>,
    pub ann: String,
    pub bob: String,
    pub rita: String,
    pub ann_id: String,
    pub bob_id: String,
}

/// One copy as the owner lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    pub sample: String,
    pub worker: String,
    pub state: String,
    pub labels: Value,
    pub body: Value,
}

/// Several fixtures may share one server: each gets names of its own.
static FIXTURES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub async fn setup<'t>(t: &'t TestApp, samples: usize, repetition: i32, reviewer: bool) -> Fx<'t> {
    let n = FIXTURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ds = t
        .dataset(
            &format!("photos-{n}"),
            900,
            json!([{"name": "cat", "type": 0}, {"name": "dog", "type": 0}, {"name": "car", "type": 1}]),
        )
        .await;
    let bodies: Vec<Value> = (0..samples)
        .map(|i| json!({"name": format!("{i}.png"), "data": png_b64(100, 80), "sample_type": 0}))
        .collect();
    let ids = t.samples(&ds, Value::Array(bodies)).await;
    let team = expect(
        t,
        "create team",
        &t.post("/workforces", json!({"workforce_name": format!("crew-{n}")}))
            .await,
        201,
    )["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ann_id = add_member(t, &team, ANN, 0).await;
    let bob_id = add_member(t, &team, BOB, 0).await;
    let mut workers = vec![json!({"email": ANN}), json!({"email": BOB})];
    if reviewer {
        add_member(t, &team, RITA, 1).await;
        workers.push(json!({"email": RITA}));
    }
    let created = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": "round-1", "repetition": repetition,
                   "workforces_config": {"workforces": [{"workforce_id": team, "workers": workers}]}}),
        )
        .await;
    let task_id = expect(t, "create task", &created, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = format!("/datasets/{ds}/workforce-tasks/{task_id}");
    expect(t, "start task", &t.post(&task, json!({})).await, 200);
    Fx {
        ds,
        task_id,
        task,
        samples: ids,
        ann: token(t, ANN).await,
        bob: token(t, BOB).await,
        rita: if reviewer { token(t, RITA).await } else { String::new() },
        ann_id,
        bob_id,
        t,
    }
}

impl Fx<'_> {
    pub fn owner(&self) -> &str {
        &self.t.token
    }

    /// A labeler's batch update; answers the per-item results.
    pub async fn label(&self, who: &str, items: Value) -> Answer {
        call(
            self.t,
            who,
            Method::PUT,
            &format!("{}/data-annotations/samples", self.task),
            Some(json!({ "samples": items })),
        )
        .await
    }

    /// A labeler's batch update that must succeed item by item.
    pub async fn label_ok(&self, who: &str, items: Value) {
        let a = self.label(who, items).await;
        let body = expect(self.t, "label", &a, 200);
        assert_eq!(body["success"], true, "{}: {body}", self.t.backend);
    }

    pub async fn review(&self, who: &str, comments: Value) -> Answer {
        call(
            self.t,
            who,
            Method::POST,
            &format!("{}/data-annotations/review", self.task),
            Some(json!({ "comments": comments })),
        )
        .await
    }

    pub async fn start(&self, who: &str, body: Value) -> Answer {
        call(
            self.t,
            who,
            Method::POST,
            &format!("{}/acceptance", self.task),
            Some(body),
        )
        .await
    }

    pub async fn judge(&self, who: &str, comments: Value) -> Answer {
        call(
            self.t,
            who,
            Method::POST,
            &format!("{}/acceptance/batch-comment", self.task),
            Some(json!({ "comments": comments })),
        )
        .await
    }

    pub async fn close(&self, who: &str, query: &str, body: Value) -> Answer {
        call(
            self.t,
            who,
            Method::PUT,
            &format!("{}/acceptance/status{query}", self.task),
            Some(body),
        )
        .await
    }

    pub async fn report(&self, round: &str) -> Value {
        let a = call(
            self.t,
            self.owner(),
            Method::GET,
            &format!("{}/acceptance/report?checking_task_id={round}", self.task),
            None,
        )
        .await;
        expect(self.t, "report", &a, 200)
    }

    /// Every copy of the task, as the owner lists it (by sample, then worker).
    pub async fn copies(&self) -> Vec<Copy> {
        self.copies_in("__ALL__").await
    }

    pub async fn copies_in(&self, state: &str) -> Vec<Copy> {
        let mut out = Vec::new();
        for page in 0.. {
            let a = call(
                self.t,
                self.owner(),
                Method::GET,
                &format!(
                    "{}/data-annotations/samples?limit=100&offset={page}&sample_state={state}",
                    self.task
                ),
                None,
            )
            .await;
            let body = expect(self.t, "list copies", &a, 200);
            let rows = body["samples"].as_array().unwrap().clone();
            if rows.is_empty() {
                break;
            }
            out.extend(rows.into_iter().map(|s| Copy {
                sample: s["sample_id"].as_str().unwrap().to_string(),
                worker: s["worker_id"].as_str().unwrap().to_string(),
                state: s["sample_status"].as_str().unwrap().to_string(),
                labels: s["labels"].clone(),
                body: s,
            }));
        }
        out
    }

    /// (sample, worker) → state of every copy.
    pub async fn states(&self) -> BTreeMap<(String, String), String> {
        self.copies()
            .await
            .into_iter()
            .map(|c| ((c.sample, c.worker), c.state))
            .collect()
    }

    /// The dataset's own labels of each sample: the sorted label names (boxes with their
    /// feature).
    pub async fn dataset_labels(&self) -> BTreeMap<String, Vec<String>> {
        let a = self
            .t
            .get(&format!("/datasets/{}/data-annotations/samples?limit=100", self.ds))
            .await;
        let body = expect(self.t, "dataset samples", &a, 200);
        body["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["sample_id"].as_str().unwrap().to_string(), label_names(&s["labels"])))
            .collect()
    }

    pub async fn task_status(&self) -> i64 {
        let a = self.t.get(&self.task).await;
        expect(self.t, "task", &a, 200)["status"].as_i64().unwrap()
    }

    pub async fn history(&self, sample: &str) -> Vec<Value> {
        let a = self
            .t
            .get(&format!(
                "/datasets/{}/data-annotations/samples/{sample}/history?limit=100",
                self.ds
            ))
            .await;
        let mut rows = expect(self.t, "history", &a, 200)["history"]
            .as_array()
            .unwrap()
            .clone();
        rows.reverse();
        rows
    }
}

/// Sorted label names; a box is written `name@[[x1,y1],[x2,y2]]`.
pub fn label_names(labels: &Value) -> Vec<String> {
    let mut out: Vec<String> = labels
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|l| {
            let name = l["name"].as_str().unwrap_or("").to_string();
            match l["property"].get("@modelarts:feature") {
                Some(f) => format!("{name}@{f}"),
                None => name,
            }
        })
        .collect();
    out.sort();
    out
}

/// A classification label.
pub fn class(name: &str) -> Value {
    json!([{"name": name}])
}

/// A detection box.
pub fn car(x1: i64, y1: i64, x2: i64, y2: i64) -> Value {
    json!([{"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[x1, y1], [x2, y2]]}}])
}
