//! The rules of the team batch label update (`PUT .../workforce-tasks/{task}/data-annotations/samples`)
//! and of team, member and task management, table-driven against the real HTTP server on every
//! backend. Every row checks the HTTP status, the ModelArts code, a fragment of the message that
//! names the field or rule, and that nothing changed but what the row was meant to change.
//!
//! Not covered: a write to an accepted sample (`ModelArts.4606`) cannot be reached over HTTP, as
//! no API accepts team samples yet; a label type the dataset does not allow (4413) cannot happen
//! in the free-format dataset used here, which allows every label type.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde_json::{json, Value};

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

#[derive(Clone, Copy, PartialEq, Debug)]
enum Who {
    Ann,
    Owner,
}

enum Outcome {
    /// Applied: the copy's labels are the item's (by name, in order), its state follows them,
    /// its version is one up, and each `(JSON pointer, value)` holds on the copy.
    Applied(Vec<(String, Value)>),
    /// Refused with this code and a message containing this fragment.
    Refused(&'static str, String),
}

/// A row of the per-item table: the item is sent second, after a known-good item for Ann's
/// `good` sample, in one batch.
struct Row {
    case: String,
    who: Who,
    /// Top-level keys of the body besides `samples` (the batch `email`).
    top: Value,
    item: Value,
    outcome: Outcome,
    /// The code the good item fails with too (a batch-wide `email` applies to it as well).
    good_fails: Option<&'static str>,
}

fn pass(case: impl Into<String>, item: Value) -> Row {
    Row {
        case: case.into(),
        who: Who::Ann,
        top: json!({}),
        item,
        outcome: Outcome::Applied(Vec::new()),
        good_fails: None,
    }
}

fn fail(case: impl Into<String>, item: Value, code: &'static str, fragment: impl Into<String>) -> Row {
    Row {
        outcome: Outcome::Refused(code, fragment.into()),
        ..pass(case, item)
    }
}

impl Row {
    fn by(self, who: Who) -> Self {
        Row { who, ..self }
    }

    fn top(self, top: Value) -> Self {
        Row { top, ..self }
    }

    fn then(mut self, pointer: impl Into<String>, value: Value) -> Self {
        match &mut self.outcome {
            Outcome::Applied(checks) => checks.push((pointer.into(), value)),
            Outcome::Refused(..) => panic!("{}: only applied rows check the copy", self.case),
        }
        self
    }

    fn good_fails(self, code: &'static str) -> Self {
        Row {
            good_fails: Some(code),
            ..self
        }
    }
}

/// Checks the answer of one row: HTTP 200, one result per item answering its sample, the item's
/// outcome, and the first failure on top.
fn check_answer(a: &Answer, row: &Row, good_id: &str, target: Option<&str>) -> Vec<String> {
    let mut why = Vec::new();
    if a.status != 200 {
        return vec![format!("HTTP {} (body {})", a.status, a.body)];
    }
    let Some(results) = a.body["results"].as_array().filter(|r| r.len() == 2) else {
        return vec![format!("expected two results: {}", a.body)];
    };
    if results[0]["sample_id"] != good_id || results[1]["sample_id"].as_str() != target {
        why.push(format!("results do not answer their items' sample_id: {}", a.body));
    }
    match row.good_fails {
        None if results[0]["success"] != true => why.push(format!("the good item failed: {}", results[0])),
        Some(code) if results[0]["error_code"] != code => {
            why.push(format!("the good item should fail with {code}: {}", results[0]))
        }
        _ => {}
    }
    let item = &results[1];
    let mut first_failure = row.good_fails.map(|_| &results[0]);
    match &row.outcome {
        Outcome::Applied(_) => {
            if item["success"] != true || item.get("error_code").is_some() {
                why.push(format!("expected the item applied, got {item}"));
            }
        }
        Outcome::Refused(code, fragment) => {
            let msg = item["error_msg"].as_str().unwrap_or("");
            if item["success"] != false || item["error_code"] != *code || !msg.contains(fragment.as_str()) {
                why.push(format!(
                    "expected {code} with a message containing {fragment:?}, got {item}"
                ));
            } else if !msg.starts_with("samples[1]: ") {
                why.push(format!("the message should name samples[1]: {msg:?}"));
            }
            first_failure = first_failure.or(Some(item));
        }
    }
    match first_failure {
        None => {
            if a.body["success"] != true || a.body.get("error_code").is_some() {
                why.push(format!("expected success on top: {}", a.body));
            }
        }
        Some(first) => {
            if a.body["success"] != false
                || a.body["error_code"] != first["error_code"]
                || a.body["error_msg"] != first["error_msg"]
            {
                why.push(format!("the first failure should stand on top: {}", a.body));
            }
        }
    }
    why
}

/// Checks that exactly the copies the row should change changed, and how.
fn check_copies(
    fx: &Fx,
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
    row: &Row,
    item: &Value,
    target: Option<&str>,
) -> Vec<String> {
    let mut why = Vec::new();
    let good_id = fx.id("good");
    let good_item = json!({"labels": [{"name": "cat"}]});
    let no_checks: Vec<(String, Value)> = Vec::new();
    for (id, old) in before {
        let Some(new) = after.get(id) else {
            why.push(format!("the copy of {} is gone", fx.name(id)));
            continue;
        };
        let applied = if *id == good_id {
            row.good_fails.is_none().then_some((&good_item, &no_checks))
        } else if Some(id.as_str()) == target {
            match &row.outcome {
                Outcome::Applied(checks) => Some((item, checks)),
                Outcome::Refused(..) => None,
            }
        } else {
            None
        };
        let Some((sent, checks)) = applied else {
            if let Some(d) = difference(old, new, "") {
                why.push(format!("the copy of {} changed: {d}", fx.name(id)));
            }
            continue;
        };
        let name = fx.name(id);
        if new["version"].as_i64() != old["version"].as_i64().map(|v| v + 1) {
            why.push(format!(
                "the version of {name} should be one up: {} -> {}",
                old["version"], new["version"]
            ));
        }
        let want: Vec<&Value> = sent["labels"]
            .as_array()
            .map_or(Vec::new(), |l| l.iter().map(|l| &l["name"]).collect());
        let got: Vec<&Value> = new["labels"]
            .as_array()
            .map_or(Vec::new(), |l| l.iter().map(|l| &l["name"]).collect());
        if want != got {
            why.push(format!(
                "the labels of {name} should be {want:?}, got {}",
                new["labels"]
            ));
        }
        let state = if want.is_empty() { "__NONE__" } else { fx.labeled };
        if new["sample_status"] != state {
            why.push(format!(
                "the state of {name} should be {state}, got {}",
                new["sample_status"]
            ));
        }
        for k in [
            "sample_name",
            "sample_type",
            "source",
            "worker_id",
            "labelers",
            "sample_time",
            "sample_size",
        ] {
            if old[k] != new[k] {
                why.push(format!("{k} of {name} changed: {} -> {}", old[k], new[k]));
            }
        }
        for (pointer, value) in checks {
            if new.pointer(pointer) != Some(value) {
                why.push(format!(
                    "{name}{pointer} should be {value}, got {:?}",
                    new.pointer(pointer)
                ));
            }
        }
    }
    why
}

/// Sends every row (each with the good item first) and checks the answer and the copies after it.
/// Every row runs; the failures are reported together at the end.
async fn run_item_rows(t: &TestApp, fx: &Fx, rows: &[Row]) {
    let url = t.url(&fx.samples_path());
    let good_id = fx.id("good");
    let mut before = copies(t, fx).await;
    let mut failures = Vec::new();
    for row in rows {
        let mut item = row.item.clone();
        let target = item["sample_id"].as_str().map(str::to_string);
        if let Some(copy) = target.as_ref().and_then(|id| before.get(id)) {
            let v = copy["version"].as_i64().unwrap();
            match item["version"].as_str() {
                Some("$current") => item["version"] = json!(v),
                Some("$stale") => item["version"] = json!(if v > 0 { v - 1 } else { v + 1 }),
                _ => {}
            }
            if item["source"] == "$listed" {
                item["source"] = copy["source"].clone();
            }
        }
        let good = match row.who {
            Who::Ann => json!({"sample_id": good_id, "labels": [{"name": "cat"}]}),
            Who::Owner => json!({"sample_id": good_id, "worker_id": fx.ann_id, "labels": [{"name": "cat"}]}),
        };
        let mut body = row.top.clone();
        body["samples"] = json!([good, item]);
        let token = match row.who {
            Who::Ann => fx.ann.as_str(),
            Who::Owner => t.token.as_str(),
        };
        let a = t
            .send(Method::PUT, &url, Some(token), Some(body.to_string().into_bytes()))
            .await;
        let mut why = check_answer(&a, row, &good_id, target.as_deref());
        let after = copies(t, fx).await;
        why.extend(check_copies(fx, &before, &after, row, &item, target.as_deref()));
        if !why.is_empty() {
            failures.push(format!("{} ({:?} sends {item}): {}", row.case, row.who, why.join("; ")));
        }
        before = after;
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

/// One row per label rule and per enum value of the team batch update.
fn label_rows(fx: &Fx) -> Vec<Row> {
    let mut rows = Vec::new();
    rows.extend(label_type_rows(fx));
    rows.extend(shape_rows(fx));
    rows.extend(sample_field_rows(fx));
    rows.extend(property_rows(fx));
    rows.extend(label_field_rows(fx));
    rows.extend(text_and_audio_rows(fx));
    rows.extend(ownership_rows(fx));
    rows
}

/// Every label type passes on a sample it fits.
fn label_type_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let car = |shape: &str, feature: Value| geo("car", shape, feature);
    #[rustfmt::skip]
    let rows = vec![
        // Every label type passes on a sample it fits.
        pass("type 0 image classification", one("img", json!({"name": "cat", "type": 0})))
            .then("/labels/0/type", json!(0)),
        pass("type 1 detection", one("img", with(&car("bndbox", json!([[10, 10], [60, 50]])), json!({"type": 1}))))
            .then("/labels/0/property/@modelarts:feature", json!([[10, 10], [60, 50]]))
            .then("/labels/0/type", json!(1)),
        pass("type 3 segmentation with a polygon", one("img", geo("road", "polygon", json!([[0, 0], [50, 0], [50, 40]]))))
            .then("/labels/0/type", json!(3)),
        pass("type 3 segmentation without geometry", one("img", json!({"name": "road", "type": 3}))),
        pass("type 100 text classification", one("text", json!({"name": "positive", "type": 100})))
            .then("/labels/0/type", json!(100)),
        pass("type 101 entity span", one("text", with(&span("Location", 0, 12), json!({"type": 101}))))
            .then("/labels/0/property/@modelarts:end_index", json!(12)),
        pass("type 102 relation between two 103 entities", on("text", json!([entity("E1", "Person", 0, 12), entity("E2", "Book", 19, 36), relation(json!("E1"), json!("E2"))])))
            .then("/labels/2/type", json!(102))
            .then("/labels/2/id", json!("R1"))
            .then("/labels/2/property/@modelarts:to", json!("E2"))
            .then("/labels/0/type", json!(103)),
        pass("type 200 sound classification", one("audio", json!({"name": "dog", "type": 200}))),
        pass("type 201 speech content", one("audio", json!({"name": "speech", "type": 201, "property": {"@modelarts:content": "hello"}})))
            .then("/labels/0/property/@modelarts:content", json!("hello")),
        pass("type 202 speech paragraph", one("audio", with_prop(paragraph(json!("00:00:01.000"), json!("00:00:02.500")), "@modelarts:source", json!("speaker-1"))))
            .then("/labels/0/property/@modelarts:end_time", json!("00:00:02.500")),
        pass("type 600 video", one("video", json!({"name": "clip", "type": 600}))),
        pass("type 600 video with a box", one("video", geo("clip", "bndbox", json!([[1, 1], [5, 5]])))),
    ];
    rows
}

/// Every shape, valid and invalid, coordinates against the 100 x 80 image, and the image size.
fn shape_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let car = |shape: &str, feature: Value| geo("car", shape, feature);
    let mut rows = Vec::new();
    // Every shape, valid and invalid, and coordinates against the 100 x 80 image.
    #[rustfmt::skip]
    let shapes: Vec<(&str, Value, Option<&str>)> = vec![
        ("bndbox", json!([[10, 10], [60, 50]]), None),
        ("bndbox", json!([[0, 0], [100, 80]]), None),
        ("bndbox", json!([[60, 50], [10, 10]]), Some("a bndbox is [[x1, y1], [x2, y2]] with x1 < x2 and y1 < y2")),
        ("bndbox", json!([[10, 50], [60, 10]]), Some("a bndbox is [[x1, y1], [x2, y2]] with x1 < x2 and y1 < y2")),
        ("bndbox", json!([[10, 10], [10, 50]]), Some("a bndbox is [[x1, y1], [x2, y2]] with x1 < x2 and y1 < y2")),
        ("bndbox", json!([[10, 10]]), Some("a bndbox needs exactly 2 points, got 1")),
        ("bndbox", json!([[10, 10], [20, 20], [30, 30]]), Some("a bndbox needs exactly 2 points, got 3")),
        ("polygon", json!([[0, 0], [50, 0], [50, 40]]), None),
        ("polygon", json!([[0, 0], [50, 0], [50, 40], [0, 40]]), None),
        ("polygon", json!([[0, 0], [50, 0]]), Some("a polygon needs at least 3 points, got 2")),
        ("polyline", json!([[0, 0], [50, 40]]), None),
        ("polyline", json!([[0, 0], [50, 40], [60, 10]]), None),
        ("polyline", json!([[0, 0]]), Some("a polyline needs at least 2 points, got 1")),
        ("line", json!([[0, 0], [50, 40]]), None),
        ("line", json!([[0, 0], [50, 40], [60, 40]]), Some("a line needs exactly 2 points, got 3")),
        ("line", json!([[0, 0]]), Some("a line needs exactly 2 points, got 1")),
        ("dashed", json!([[0, 0], [50, 40]]), None),
        ("dashed", json!([[0, 0], [1, 1], [2, 2]]), Some("a dashed needs exactly 2 points, got 3")),
        ("point", json!([[50, 40]]), None),
        ("point", json!([[50, 40], [60, 40]]), Some("a point needs exactly 1 point, got 2")),
        ("point", json!([]), Some("a point needs exactly 1 point, got 0")),
        ("circle", json!([[50, 40], [10]]), None),
        ("circle", json!([[50, 40], [0]]), Some("the radius of a circle must be > 0, got 0")),
        ("circle", json!([[50, 40], [-5]]), Some("the radius of a circle must be > 0, got -5")),
        ("circle", json!([[50, 40]]), Some("@modelarts:feature of a circle must be [[x, y], [radius]]")),
        ("circle", json!([[50, 40], [10, 20]]), Some("@modelarts:feature of a circle must be [[x, y], [radius]]")),
        ("square", json!([[0, 0], [10, 10]]), Some("@modelarts:shape \"square\" is not a shape")),
        ("bndbox", json!([[-1, 10], [60, 50]]), Some("@modelarts:feature[0] has a negative coordinate")),
        ("polygon", json!([[0, 0], [50, -2], [50, 40]]), Some("@modelarts:feature[1] has a negative coordinate")),
        ("bndbox", json!([[10, 10], [101, 50]]), Some("@modelarts:feature[1] (101, 50) lies outside the image (100 x 80)")),
        ("bndbox", json!([[10, 10], [60, 81]]), Some("@modelarts:feature[1] (60, 81) lies outside the image (100 x 80)")),
        ("point", json!([[150, 10]]), Some("@modelarts:feature[0] (150, 10) lies outside the image (100 x 80)")),
        ("circle", json!([[150, 10], [5]]), Some("@modelarts:feature[0] (150, 10) lies outside the image (100 x 80)")),
        ("polyline", json!([["a", 1], [5, 5]]), Some("@modelarts:feature[0] must be a point [x, y] of two numbers")),
        ("polyline", json!([[1, 1, 1], [5, 5]]), Some("@modelarts:feature[0] must be a point")),
        ("bndbox", json!("10,10,60,50"), Some("@modelarts:feature must be a list of points")),
    ];
    for (shape, feature, fragment) in shapes {
        let case = format!("{shape} {feature}");
        let item = one("img", car(shape, feature.clone()));
        rows.push(match fragment {
            None => pass(case, item)
                .then("/labels/0/property/@modelarts:shape", json!(shape))
                .then("/labels/0/property/@modelarts:feature", feature),
            Some(f) => fail(case, item, LABEL_RULE, format!("labels[0]: {f}")),
        });
    }
    #[rustfmt::skip]
    rows.extend([
        fail("segmentation polygon outside the image", one("img", geo("road", "polygon", json!([[0, 0], [150, 0], [50, 40]]))), LABEL_RULE, "lies outside the image"),
        fail("segmentation shape without feature", one("img", json!({"name": "road", "property": {"@modelarts:shape": "polygon"}})), LABEL_RULE, "a polygon needs @modelarts:feature"),
        fail("detection without a shape", one("img", json!({"name": "car", "property": {"@modelarts:feature": [[1, 1], [5, 5]]}})), LABEL_RULE, "@modelarts:shape is required"),
        fail("detection without any geometry", one("img", json!({"name": "car"})), LABEL_RULE, "@modelarts:shape is required"),
        fail("detection without a feature", one("img", json!({"name": "car", "property": {"@modelarts:shape": "bndbox"}})), LABEL_RULE, "a bndbox needs @modelarts:feature"),
        fail("shape not a string", one("img", json!({"name": "car", "property": {"@modelarts:shape": 5, "@modelarts:feature": [[1, 1], [5, 5]]}})), LABEL_RULE, "@modelarts:shape must be a string"),
        // The image size: a reference sample has none until the item gives one.
        fail("detection on a reference image without @modelarts:size", one("ref", car("bndbox", json!([[1, 1], [40, 30]]))), SIZE_UNKNOWN, "needs metadata.@modelarts:size"),
        pass("segmentation on a reference image without size", one("ref", geo("road", "polygon", json!([[0, 0], [500, 0], [500, 400]])))),
        fail("detection past the size the item gives", with(&one("ref", car("bndbox", json!([[1, 1], [60, 30]]))), json!({"metadata": {"@modelarts:size": [50, 40]}})), LABEL_RULE, "lies outside the image (50 x 40)"),
        pass("detection with @modelarts:size in the item's metadata", with(&one("ref", car("bndbox", json!([[1, 1], [40, 30]]))), json!({"metadata": {"@modelarts:size": [50, 40]}})))
            .then("/metadata/@modelarts:size", json!([50, 40])),
        pass("detection on the reference image once its copy has a size", one("ref", car("bndbox", json!([[2, 2], [50, 40]])))),
        fail("metadata @modelarts:size [0, 40]", with(&one("img2", cat.clone()), json!({"metadata": {"@modelarts:size": [0, 40]}})), INVALID, "metadata.@modelarts:size must be"),
    ]);
    rows
}

/// sample_type, sample_usage and score: the values allowed and the values refused.
fn sample_field_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let mut rows = Vec::new();
    // sample_type: the stored type passes, another or an unknown one is refused.
    for (key, code) in [
        ("img", 0),
        ("text", 1),
        ("audio", 2),
        ("table", 4),
        ("video", 6),
        ("custom", 9),
    ] {
        rows.push(pass(
            format!("sample_type {code} on its sample"),
            with(&one(key, cat.clone()), json!({"sample_type": code})),
        ));
    }
    for (key, code, fragment) in [
        ("img", 1, "sample_type 1 does not match the sample's type 0"),
        ("text", 0, "sample_type 0 does not match the sample's type 1"),
        ("audio", 6, "sample_type 6 does not match the sample's type 2"),
        ("table", 9, "sample_type 9 does not match the sample's type 4"),
        ("custom", 4, "sample_type 4 does not match the sample's type 9"),
        ("img", 7, "sample_type: 7 is not a valid sample_type"),
        ("img", -1, "sample_type: -1 is not a valid sample_type"),
    ] {
        rows.push(fail(
            format!("sample_type {code} on {key}"),
            with(&one(key, cat.clone()), json!({"sample_type": code})),
            INVALID,
            fragment,
        ));
    }

    // sample_usage: the four values in any case; anything else is refused.
    for (sent, stored) in [
        ("TRAIN", "TRAIN"),
        ("EVAL", "EVAL"),
        ("TEST", "TEST"),
        ("INFERENCE", "INFERENCE"),
        ("train", "TRAIN"),
        ("Eval", "EVAL"),
        ("test", "TEST"),
        ("inference", "INFERENCE"),
    ] {
        rows.push(
            pass(
                format!("sample_usage {sent}"),
                with(&one("img2", cat.clone()), json!({"sample_usage": sent})),
            )
            .then("/sample_usage", json!(stored)),
        );
    }
    for bad in ["VALIDATE", "", "TRAINING"] {
        rows.push(fail(
            format!("sample_usage {bad:?}"),
            with(&one("img2", cat.clone()), json!({"sample_usage": bad})),
            INVALID,
            format!("sample_usage must be one of TRAIN, EVAL, TEST, INFERENCE, got {bad:?}"),
        ));
    }

    // score within [0, 1].
    for (score, stored) in [(json!(0), json!(0.0)), (json!(1), json!(1.0)), (json!(0.5), json!(0.5))] {
        rows.push(
            pass(
                format!("score {score}"),
                one("img2", json!({"name": "cat", "score": score})),
            )
            .then("/labels/0/score", stored),
        );
    }
    for score in [-0.1, 1.1] {
        rows.push(fail(
            format!("score {score}"),
            one("img2", json!({"name": "cat", "score": score})),
            LABEL_RULE,
            format!("labels[0].score must be within [0, 1], got {score}"),
        ));
    }
    rows
}

/// Hard-example properties of a label and the sample metadata.
fn property_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let mut rows = Vec::new();
    // Hard-example properties of a label.
    #[rustfmt::skip]
    let hard: Vec<(&str, Value, Option<&str>)> = vec![
        ("@modelarts:hard", json!("0"), None),
        ("@modelarts:hard", json!("1"), None),
        ("@modelarts:hard", json!("true"), None),
        ("@modelarts:hard", json!("false"), None),
        ("@modelarts:hard", json!(true), None),
        ("@modelarts:hard", json!(1), None),
        ("@modelarts:hard", json!("2"), Some("@modelarts:hard must be \"0\", \"1\", \"true\" or \"false\"")),
        ("@modelarts:hard", json!("yes"), Some("@modelarts:hard must be")),
        ("@modelarts:hard", json!(2), Some("@modelarts:hard must be")),
        ("@modelarts:hard_coefficient", json!("0.5"), None),
        ("@modelarts:hard_coefficient", json!(0.5), None),
        ("@modelarts:hard_coefficient", json!("0"), None),
        ("@modelarts:hard_coefficient", json!(1), None),
        ("@modelarts:hard_coefficient", json!("1.5"), Some("@modelarts:hard_coefficient must be a number in [0, 1], got \"1.5\"")),
        ("@modelarts:hard_coefficient", json!(-0.1), Some("@modelarts:hard_coefficient must be a number in [0, 1]")),
        ("@modelarts:hard_coefficient", json!("x"), Some("@modelarts:hard_coefficient must be a number in [0, 1]")),
        ("@modelarts:hard_reasons", json!("0-30"), None),
        ("@modelarts:hard_reasons", json!("3-20-21"), None),
        ("@modelarts:hard_reasons", json!("7"), None),
        ("@modelarts:hard_reasons", json!("31"), Some("@modelarts:hard_reasons: reason id 31 is outside 0 to 30")),
        ("@modelarts:hard_reasons", json!("0-31"), Some("@modelarts:hard_reasons: reason id 31 is outside 0 to 30")),
        ("@modelarts:hard_reasons", json!("a"), Some("@modelarts:hard_reasons: \"a\" is not a reason id")),
        ("@modelarts:hard_reasons", json!("3--4"), Some("@modelarts:hard_reasons: \"\" is not a reason id")),
        ("@modelarts:hard_reasons", json!(5), Some("@modelarts:hard_reasons must be reason ids joined by '-'")),
    ];
    for (key, value, fragment) in hard {
        let case = format!("label {key} {value}");
        let item = one("img2", with_prop(cat.clone(), key, value.clone()));
        rows.push(match fragment {
            None => pass(case, item).then(
                match key {
                    "@modelarts:hard" => "/labels/0/property/@modelarts:hard",
                    "@modelarts:hard_coefficient" => "/labels/0/property/@modelarts:hard_coefficient",
                    _ => "/labels/0/property/@modelarts:hard_reasons",
                },
                value,
            ),
            Some(f) => fail(case, item, LABEL_RULE, format!("labels[0]: {f}")),
        });
    }

    // Sample metadata: replaced when given, its @modelarts: keys checked.
    #[rustfmt::skip]
    let metadata: Vec<(Value, Option<&str>)> = vec![
        (json!({"@modelarts:hard_reasons": [0, 30]}), None),
        (json!({"@modelarts:hard_reasons": [31]}), Some("metadata.@modelarts:hard_reasons: reason id 31 is outside 0 to 30")),
        (json!({"@modelarts:hard_reasons": "3-4"}), Some("metadata.@modelarts:hard_reasons must be a list of reason ids")),
        (json!({"@modelarts:hard_coefficient": 0.5}), None),
        (json!({"@modelarts:hard_coefficient": 2}), Some("metadata.@modelarts:hard_coefficient must be a number in [0, 1]")),
        (json!({"@modelarts:hard": 1}), None),
        (json!({"@modelarts:hard": true}), None),
        (json!({"@modelarts:hard": 2}), Some("metadata.@modelarts:hard must be 0 or 1")),
        (json!({"@modelarts:colour": "white"}), Some("metadata: unknown key @modelarts:colour")),
        (json!({"colour": "white"}), None),
    ];
    for (meta, fragment) in metadata {
        let case = format!("metadata {meta}");
        let item = with(&one("img2", cat.clone()), json!({"metadata": meta.clone()}));
        rows.push(match fragment {
            None => {
                let (k, v) = meta.as_object().unwrap().iter().next().unwrap();
                pass(case, item)
                    .then(format!("/metadata/{k}"), v.clone())
                    .then("/metadata/@modelarts:size", json!([100, 80, 3]))
            }
            Some(f) => fail(case, item, INVALID, f),
        });
    }
    rows
}

/// annotated_by, instance ids, names, types and property keys of labels; spans in the text.
fn label_field_rows(fx: &Fx) -> Vec<Row> {
    let zoe_len = ZOE.chars().count() as i64;
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let car = |shape: &str, feature: Value| geo("car", shape, feature);
    let mut rows = Vec::new();
    // annotated_by, instance ids, names and types of labels.
    #[rustfmt::skip]
    rows.extend([
        fail("1001 labels on one sample", on("img2", Value::Array(vec![cat.clone(); 1001])), INVALID, "labels: at most 1000 labels per sample, got 1001"),
        pass("annotated_by human", one("img2", json!({"name": "cat", "annotated_by": "human"})))
            .then("/labels/0/annotated_by", json!("human")),
        pass("annotated_by auto", one("img2", json!({"name": "cat", "annotated_by": "auto"}))),
        pass("annotated_by modelarts/<producer>", one("img2", json!({"name": "cat", "annotated_by": "modelarts/auto-label"}))),
        fail("annotated_by robot", one("img2", json!({"name": "cat", "annotated_by": "robot"})), LABEL_RULE, "labels[0].annotated_by must be human, auto or modelarts/<producer>"),
        fail("annotated_by a producer name of 65 characters", one("img2", json!({"name": "cat", "annotated_by": format!("modelarts/{}", "p".repeat(55))})), LABEL_RULE, "annotated_by must be"),
        fail("an empty label id", one("img2", json!({"name": "cat", "id": ""})), LABEL_RULE, "labels[0].id must be 1 to 64 characters"),
        fail("a label id of 65 characters", one("img2", json!({"name": "cat", "id": "i".repeat(65)})), LABEL_RULE, "labels[0].id must be 1 to 64 characters"),
        fail("two labels with one id", on("img2", json!([{"name": "cat", "id": "L1"}, {"name": "road", "id": "L1"}])), LABEL_RULE, "labels[1].id \"L1\" is used by two labels"),
        fail("a label without a name", one("img2", json!({"type": 0})), INVALID, "labels[0].name is required"),
        fail("label type 999", one("img2", json!({"name": "cat", "type": 999})), INVALID, "labels[0].type: 999 is not a valid label type"),
        fail("an unknown label", one("img2", json!({"name": "unicorn"})), LABEL_NOT_FOUND, "labels[0]: Label not found: unicorn"),
        fail("an unknown label after a good one", on("img2", json!([{"name": "cat"}, {"name": "unicorn"}])), LABEL_NOT_FOUND, "labels[1]: Label not found: unicorn"),
        fail("label names are case-sensitive", one("img2", json!({"name": "Cat"})), LABEL_NOT_FOUND, "Label not found: Cat"),
        fail("a type other than the dataset label's", one("img2", json!({"name": "cat", "type": 1})), LABEL_NOT_FOUND, "labels[0]: Label not found: cat (type 1)"),
        fail("a triplet entity given as a named entity", one("text", with(&span("Person", 0, 3), json!({"type": 101}))), LABEL_NOT_FOUND, "Label not found: Person (type 101)"),
        // Property keys that do not fit the label's type.
        fail("an unknown @modelarts: key on a label", one("img2", with_prop(cat.clone(), "@modelarts:colour", json!("red"))), LABEL_RULE, "labels[0]: property @modelarts:colour does not apply to a label of type 0"),
        fail("a geometry key on a classification label", one("img2", with_prop(cat.clone(), "@modelarts:shape", json!("bndbox"))), LABEL_RULE, "property @modelarts:shape does not apply to a label of type 0"),
        fail("a span key on a classification label", one("text", with_prop(json!({"name": "positive"}), "@modelarts:start_index", json!(0))), LABEL_RULE, "property @modelarts:start_index does not apply to a label of type 100"),
        fail("a span key on a detection label", one("img", with_prop(car("bndbox", json!([[1, 1], [5, 5]])), "@modelarts:start_index", json!(0))), LABEL_RULE, "property @modelarts:start_index does not apply to a label of type 1; allowed: @modelarts:shape, @modelarts:feature"),
        fail("a geometry key on an entity", one("text", with_prop(span("Location", 0, 3), "@modelarts:shape", json!("point"))), LABEL_RULE, "property @modelarts:shape does not apply to a label of type 101"),
        fail("a time on speech content", one("audio", json!({"name": "speech", "property": {"@modelarts:start_time": "00:00:01.000"}})), LABEL_RULE, "property @modelarts:start_time does not apply to a label of type 201"),
        fail("a relation end on an entity", one("text", with_prop(span("Location", 0, 3), "@modelarts:from", json!("E1"))), LABEL_RULE, "property @modelarts:from does not apply to a label of type 101"),
        pass("a property key of the caller's own is kept", one("img2", with_prop(cat.clone(), "colour", json!("red"))))
            .then("/labels/0/property/colour", json!("red")),
    ]);

    // Spans inside the 36-character text.
    for (start, end) in [(0, 12), (0, 36), (35, 36)] {
        rows.push(
            pass(
                format!("span {start}..{end}"),
                one("text", span("Location", start, end)),
            )
            .then("/labels/0/property/@modelarts:start_index", json!(start)),
        );
    }
    for (start, end, fragment) in [
        (
            0,
            37,
            "@modelarts:end_index (37) is past the end of the text (36 characters)",
        ),
        (-1, 5, "@modelarts:start_index must be >= 0, got -1"),
        (
            5,
            5,
            "@modelarts:start_index (5) must be less than @modelarts:end_index (5)",
        ),
        (
            6,
            5,
            "@modelarts:start_index (6) must be less than @modelarts:end_index (5)",
        ),
    ] {
        rows.push(fail(
            format!("span {start}..{end}"),
            one("text", span("Location", start, end)),
            LABEL_RULE,
            format!("labels[0]: {fragment}"),
        ));
    }
    #[rustfmt::skip]
    rows.extend([
        fail("an entity span past the text", one("text", entity("E1", "Person", 30, 40)), LABEL_RULE, "@modelarts:end_index (40) is past the end of the text"),
        fail("a span without its end", one("text", json!({"name": "Location", "property": {"@modelarts:start_index": 0}})), LABEL_RULE, "an entity label needs @modelarts:end_index"),
        fail("a span start given as a string", one("text", json!({"name": "Location", "property": {"@modelarts:start_index": "0", "@modelarts:end_index": 3}})), LABEL_RULE, "@modelarts:start_index must be an integer"),
        fail("a span end given as a float", one("text", json!({"name": "Location", "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 3.0}})), LABEL_RULE, "@modelarts:end_index must be an integer"),
        pass("a span to the end of a non-ASCII text", with(&one("bob_text", span("Location", 0, zoe_len)), json!({"worker_id": fx.bob_id})))
            .by(Who::Owner),
        fail("a span one past the end of a non-ASCII text", with(&one("bob_text", span("Location", 0, zoe_len + 1)), json!({"worker_id": fx.bob_id})), LABEL_RULE, format!("@modelarts:end_index ({}) is past the end of the text ({zoe_len} characters)", zoe_len + 1))
            .by(Who::Owner),
    ]);
    rows
}

/// Triplets, speech paragraphs, and the sample source as listed.
fn text_and_audio_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let mut rows = Vec::new();
    // Triplets: relations point at 103 entities of the sample, of the types the label names.
    let e1 = entity("E1", "Person", 0, 12);
    let e2 = entity("E2", "Book", 19, 36);
    #[rustfmt::skip]
    rows.extend([
        fail("a relation to a missing entity", on("text", json!([e1, e2, relation(json!("E1"), json!("E9"))])), TRIPLET_ENTITY_MISSING, "labels[2]: @modelarts:to \"E9\" is not the id of an entity label (type 103)"),
        fail("a relation alone", on("text", json!([relation(json!("E1"), json!("E2"))])), TRIPLET_ENTITY_MISSING, "@modelarts:from \"E1\" is not the id of an entity label"),
        fail("a relation without its to", on("text", json!([e1, e2, {"id": "R1", "name": "Author", "property": {"@modelarts:from": "E1"}}])), TRIPLET_ENTITY_MISSING, "labels[2]: a relationship needs @modelarts:to"),
        fail("a relation to a named entity (101)", on("text", json!([e1, with(&span("Location", 19, 36), json!({"id": "E3"})), relation(json!("E1"), json!("E3"))])), TRIPLET_ENTITY_MISSING, "\"E3\" is not the id of an entity label (type 103)"),
        fail("a relation end that is not an id", on("text", json!([e1, e2, relation(json!(5), json!("E2"))])), LABEL_RULE, "@modelarts:from must be the id of an entity label"),
        fail("a relation with its ends swapped", on("text", json!([e1, e2, relation(json!("E2"), json!("E1"))])), LABEL_RULE, "relationship \"Author\" needs @modelarts:from to be a \"Person\" entity, got \"Book\""),
        fail("a relation to an entity of the wrong type", on("text", json!([e1, e2, entity("E3", "Person", 13, 18), relation(json!("E1"), json!("E3"))])), LABEL_RULE, "needs @modelarts:to to be a \"Book\" entity, got \"Person\""),
    ]);

    // Speech paragraphs: hh:mm:ss.SSS times, start before end.
    #[rustfmt::skip]
    rows.extend([
        pass("paragraph times", one("audio", paragraph(json!("00:59:59.999"), json!("01:00:00.000")))),
        pass("paragraph times near 100 hours", one("audio", paragraph(json!("99:59:59.998"), json!("99:59:59.999")))),
        fail("paragraph start after end", one("audio", paragraph(json!("00:00:02.000"), json!("00:00:01.000"))), LABEL_RULE, "labels[0]: @modelarts:start_time must be before @modelarts:end_time"),
        fail("paragraph start equal to end", one("audio", paragraph(json!("00:00:01.000"), json!("00:00:01.000"))), LABEL_RULE, "@modelarts:start_time must be before @modelarts:end_time"),
        fail("paragraph start 1:00", one("audio", paragraph(json!("1:00"), json!("00:00:02.000"))), LABEL_RULE, "@modelarts:start_time \"1:00\" is not a time hh:mm:ss.SSS"),
        fail("paragraph start with 60 minutes", one("audio", paragraph(json!("00:60:00.000"), json!("01:00:00.000"))), LABEL_RULE, "@modelarts:start_time \"00:60:00.000\" is not a time"),
        fail("paragraph end with a comma", one("audio", paragraph(json!("00:00:01.000"), json!("00:00:02,000"))), LABEL_RULE, "@modelarts:end_time \"00:00:02,000\" is not a time"),
        fail("paragraph start a number", one("audio", paragraph(json!(1), json!("00:00:02.000"))), LABEL_RULE, "@modelarts:start_time must be a string hh:mm:ss.SSS"),
        fail("paragraph without an end", one("audio", json!({"name": "paragraph", "property": {"@modelarts:start_time": "00:00:01.000"}})), LABEL_RULE, "a speech paragraph label needs @modelarts:end_time"),
        fail("paragraph content a number", one("audio", with_prop(paragraph(json!("00:00:01.000"), json!("00:00:02.000")), "@modelarts:content", json!(5))), LABEL_RULE, "@modelarts:content must be a string"),
        fail("paragraph source a number", one("audio", with_prop(paragraph(json!("00:00:01.000"), json!("00:00:02.000")), "@modelarts:source", json!(5))), LABEL_RULE, "@modelarts:source must be a string"),
        fail("speech content a number", one("audio", json!({"name": "speech", "property": {"@modelarts:content": 5}})), LABEL_RULE, "@modelarts:content must be a string"),
    ]);

    // source: must be the sample's source as listed.
    #[rustfmt::skip]
    rows.extend([
        pass("source of an uploaded image as listed", with(&one("img", cat.clone()), json!({"source": "$listed"}))),
        fail("source of another file", with(&one("img", cat.clone()), json!({"source": "http://elsewhere/x.png"})), INVALID, "source does not match the sample's source"),
        pass("source of a text as listed", with(&one("text", cat.clone()), json!({"source": format!("content://{ADA}")}))),
        fail("source of another text", with(&one("text", cat.clone()), json!({"source": "content://Ada Lovelace"})), INVALID, "source does not match the sample's source"),
        pass("source of a reference as listed", with(&one("ref", cat.clone()), json!({"source": "http://x/ref.jpg"}))),
        fail("source of another reference", with(&one("ref", cat.clone()), json!({"source": "http://x/ref.jpeg"})), INVALID, "source does not match the sample's source \"http://x/ref.jpg\""),
    ]);
    rows
}

/// Which sample and whose copy; absent, null or empty labels; versions against lost updates.
fn ownership_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let mut rows = Vec::new();
    // Which sample and whose copy.
    let bob_sample = |key: &str, extra: Value| with(&one(key, cat.clone()), extra);
    #[rustfmt::skip]
    rows.extend([
        fail("sample_id missing", json!({"labels": [cat]}), INVALID, "sample_id is required"),
        fail("sample_id not an id", json!({"sample_id": "abc", "labels": [cat]}), SAMPLE_NOT_FOUND, "Sample not found: abc"),
        fail("an unknown sample", json!({"sample_id": UNKNOWN_HEX, "labels": [cat]}), SAMPLE_NOT_FOUND, format!("Sample not found: {UNKNOWN_HEX}")),
        fail("a sample of another dataset", json!({"sample_id": fx.foreign, "labels": [cat]}), SAMPLE_NOT_FOUND, format!("Sample not found: {}", fx.foreign)),
        fail("a sample of the dataset that is not in the task", json!({"sample_id": fx.late, "labels": [cat]}), SAMPLE_NOT_FOUND, format!("Sample not found in this task: {}", fx.late)),
        fail("a sample assigned to the other labeler", bob_sample("bob_img", json!({})), FORBIDDEN, format!("sample {} is not assigned to {ANN}", fx.id("bob_img"))),
        pass("the labeler names herself by worker_id", bob_sample("img", json!({"worker_id": fx.ann_id}))),
        fail("the labeler names the other labeler by worker_id", bob_sample("bob_img", json!({"worker_id": fx.bob_id})), FORBIDDEN, "worker_id names another member; a labeler writes only their own labels"),
        fail("the labeler names the other labeler by worker_id on her own sample", bob_sample("img", json!({"worker_id": fx.bob_id})), FORBIDDEN, "worker_id names another member"),
        fail("the labeler names an unknown worker", bob_sample("img", json!({"worker_id": UNKNOWN_HEX})), FORBIDDEN, "worker_id names another member"),
        fail("the labeler names the other labeler by the batch email", bob_sample("bob_img", json!({})), FORBIDDEN, "email names another member; a labeler writes only their own labels")
            .top(json!({"email": BOB}))
            .good_fails(FORBIDDEN),
        pass("the labeler names herself by the batch email, in capitals", bob_sample("img", json!({})))
            .top(json!({"email": ANN.to_uppercase()})),
        pass("the owner writes for Bob by worker_id", bob_sample("bob_img", json!({"worker_id": fx.bob_id})))
            .by(Who::Owner),
        pass("the owner writes for Bob by the batch email", bob_sample("bob_text", json!({})))
            .by(Who::Owner)
            .top(json!({"email": BOB})),
        fail("the owner names Bob for Ann's sample", bob_sample("img", json!({"worker_id": fx.bob_id})), FORBIDDEN, format!("sample {} is not assigned to {BOB}", fx.id("img")))
            .by(Who::Owner),
        fail("the owner names nobody", bob_sample("bob_img", json!({})), INVALID, "worker_id is required")
            .by(Who::Owner),
        fail("the owner names an unknown worker", bob_sample("bob_img", json!({"worker_id": UNKNOWN_HEX})), FORBIDDEN, format!("worker {UNKNOWN_HEX} is not a labeler of this task"))
            .by(Who::Owner),
        fail("the owner's batch email names a stranger", bob_sample("bob_img", json!({})), FORBIDDEN, "zed@example.com is not a labeler of this task")
            .by(Who::Owner)
            .top(json!({"email": "zed@example.com"})),
    ]);
    if let Some(rita) = &fx.rita_id {
        rows.push(
            fail(
                "the owner names the reviewer",
                bob_sample("bob_img", json!({"worker_id": rita})),
                FORBIDDEN,
                "is not a labeler of this task",
            )
            .by(Who::Owner),
        );
    }

    // Absent, null or empty labels delete the member's labels; versions guard lost updates.
    let set = |case: &str| pass(case, one("img2", json!({"name": "road"})));
    #[rustfmt::skip]
    rows.extend([
        set("labels set before deleting"),
        pass("labels absent delete", json!({"sample_id": fx.id("img2")})).then("/labels", json!([])),
        set("labels set again"),
        pass("labels null delete", json!({"sample_id": fx.id("img2"), "labels": null}))
            .then("/labels", json!([])),
        set("labels set once more"),
        pass("labels [] delete", on("img2", json!([]))).then("/labels", json!([])),
        pass("the current version", with(&one("img2", cat.clone()), json!({"version": "$current"}))),
        fail("a stale version", with(&one("img2", json!({"name": "road"})), json!({"version": "$stale"})), VERSION_CONFLICT, "is not the stored version"),
        fail("a version from the future", with(&one("img2", json!({"name": "road"})), json!({"version": 999})), VERSION_CONFLICT, "version 999 is not the stored version"),
    ]);
    rows
}

#[tokio::test]
async fn every_label_rule_fails_only_its_item_and_leaves_that_copy_unchanged() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, true).await;
        let rows = label_rows(&fx);
        run_item_rows(&t, &fx, &rows).await;
        // The dataset's own labels are untouched by team writes.
        let plain = t
            .get(&format!(
                "/datasets/{}/data-annotations/samples/{}",
                fx.ds,
                fx.id("img")
            ))
            .await;
        assert_eq!(plain.body["labels"], json!([]), "{}: {}", t.backend, plain.body);
    }
}

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
        let a = t.send(method.clone(), &t.url(path), token, body.clone()).await;
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

#[tokio::test]
async fn whole_request_failures_answer_one_error_and_change_nothing() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, true).await;
        let img = fx.id("img");
        let team = &fx.team;
        // A task not started yet, a task of another dataset, and a project user outside the task.
        let unstarted = create_task(&t, &fx.ds, "round-2", team, &[ANN, BOB]).await;
        let elsewhere = create_task(&t, &fx.foreign_ds, "elsewhere", team, &[ANN, BOB]).await;
        add_member(&t, team, "zed@example.com", 0).await;
        let zed = token(&t, "zed@example.com").await;
        let (_, other_token) = t.other_project().await;

        let path = fx.samples_path();
        let good = json!({"samples": [{"sample_id": img, "labels": [{"name": "cat"}]}]});
        let many: Vec<Value> = (0..1001).map(|_| json!({"sample_id": img, "labels": []})).collect();
        let big = format!(
            r#"{{"samples": [{{"sample_id": "{img}", "labels": [{{"name": "cat", "property": {{"pad": "{}"}}}}]}}]}}"#,
            "A".repeat(13 * 1024 * 1024)
        );
        let ann = fx.ann.clone();
        let row =
            |case: &str, token: &str, path: &str, body: Option<Vec<u8>>, status, code, fragment: &str| -> Refusal {
                (
                    case.into(),
                    token.into(),
                    Method::PUT,
                    path.into(),
                    body,
                    status,
                    code,
                    fragment.into(),
                )
            };
        #[rustfmt::skip]
        let mut rows: Vec<Refusal> = vec![
            row("not JSON", &ann, &path, Some(b"labels please".to_vec()), 400, BAD_JSON, "Incorrect JSON format"),
            row("truncated JSON", &ann, &path, Some(b"{\"samples\": [".to_vec()), 400, BAD_JSON, "Incorrect JSON format"),
            row("empty body", &ann, &path, Some(Vec::new()), 400, EMPTY_REQUEST, "Empty request"),
            row("samples an object", &ann, &path, bytes(json!({"samples": {}})), 400, INVALID, "samples: invalid type"),
            row("an item null", &ann, &path, bytes(json!({"samples": [null]})), 400, INVALID, "samples[0]: invalid type: null"),
            row("sample_id a number", &ann, &path, bytes(json!({"samples": [{"sample_id": 5}]})), 400, INVALID, "samples[0].sample_id: invalid type"),
            row("labels a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "labels": "cat"}]})), 400, INVALID, "samples[0].labels: invalid type"),
            row("score a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "labels": [{"name": "cat", "score": "high"}]}]})), 400, INVALID, "samples[0].labels[0].score: invalid type"),
            row("label type a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "labels": [{"name": "cat", "type": "0"}]}]})), 400, INVALID, "samples[0].labels[0].type: invalid type"),
            row("version a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "version": "1"}]})), 400, INVALID, "samples[0].version: invalid type"),
            row("sample_type a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "sample_type": "0"}]})), 400, INVALID, "samples[0].sample_type: invalid type"),
            row("metadata a list", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "metadata": []}]})), 400, INVALID, "samples[0].metadata: invalid type"),
            row("1001 samples", &ann, &path, bytes(json!({"samples": many})), 400, INVALID, "samples: at most 1000 samples per request, got 1001"),
            row("13 MiB body", &ann, &path, Some(big.into_bytes()), 413, BODY_TOO_LARGE, "size exceeds"),
            row("batch email not an email", &ann, &path, bytes(with(&good, json!({"email": "ann"}))), 400, INVALID, "email is not a valid email address"),
            row("atomic=maybe", &ann, &format!("{path}?atomic=maybe"), bytes(good.clone()), 400, INVALID, "atomic"),
            row("unknown dataset", &ann, &format!("/datasets/{UNKNOWN_ID19}/workforce-tasks/{}/data-annotations/samples", fx.task_id), bytes(good.clone()), 404, DATASET_NOT_FOUND, UNKNOWN_ID19),
            row("unknown task", &ann, &format!("/datasets/{}/workforce-tasks/{UNKNOWN_ID19}/data-annotations/samples", fx.ds), bytes(good.clone()), 404, TASK_NOT_FOUND, "Workforce task does not exist"),
            row("a task of another dataset", &ann, &format!("/datasets/{}/workforce-tasks/{elsewhere}/data-annotations/samples", fx.ds), bytes(good.clone()), 404, TASK_NOT_FOUND, "Workforce task does not exist"),
            row("a task not started, by a labeler", &ann, &format!("/datasets/{}/workforce-tasks/{unstarted}/data-annotations/samples", fx.ds), bytes(good.clone()), 403, FORBIDDEN, "it is in status 6"),
            row("a task not started, by the owner", &t.token, &format!("/datasets/{}/workforce-tasks/{unstarted}/data-annotations/samples", fx.ds), bytes(json!({"email": ANN, "samples": [{"sample_id": img, "labels": []}]})), 403, FORBIDDEN, "it is in status 6"),
            row("a reviewer writing", fx.rita.as_deref().unwrap(), &path, bytes(good.clone()), 403, FORBIDDEN, "labeler of the task (own copies); you (rita@example.com) are not"),
            row("a project user outside the task", &zed, &path, bytes(good.clone()), 403, FORBIDDEN, "labeler of the task (own copies); you (zed@example.com) are not"),
            row("a token of another project", &other_token, &path, bytes(good.clone()), 403, INVALID_PROJECT, "does not match the token"),
            row("no token", "", &path, bytes(good.clone()), 401, TOKEN_MISSING, "Token doesn't exist"),
            row("an unknown token", "not-a-token", &path, bytes(good.clone()), 401, TOKEN_INVALID, ""),
        ];
        let (tr, fxr) = (&t, &fx);
        // Reading: a labeler reads only her own copies.
        rows.push((
            "a labeler reading the other labeler's copies".into(),
            ann.clone(),
            Method::GET,
            format!("{path}?worker_id={}", fx.bob_id),
            None,
            403,
            FORBIDDEN,
            "a labeler reads only their own samples".into(),
        ));
        rows.push((
            "a labeler reading a sample of the other labeler".into(),
            ann.clone(),
            Method::GET,
            format!("{path}/{}", fx.id("bob_img")),
            None,
            404,
            SAMPLE_NOT_FOUND,
            "Sample not found".into(),
        ));
        run_refusals(&t, &rows, move || async move { json!(copies(tr, fxr).await) }).await;

        // The same good body is applied once the refusals are over: nothing above was a no-op
        // because of the body itself.
        let a = call(&t, &fx.ann, Method::PUT, &path, Some(good.clone())).await;
        assert_eq!(a.body["success"], true, "{}: {}", t.backend, a.body);
        // An empty batch is a success that changes nothing.
        let before = copies(&t, &fx).await;
        let a = call(&t, &fx.ann, Method::PUT, &path, Some(json!({"samples": []}))).await;
        assert_eq!(
            (a.status, &a.body),
            (200, &json!({"success": true, "results": []})),
            "{}",
            t.backend
        );
        assert_eq!(before, copies(&t, &fx).await, "{}", t.backend);
    }
}

/// The history of a sample as the owner reads it.
async fn history(t: &TestApp, fx: &Fx, key: &str) -> Value {
    let path = format!(
        "/datasets/{}/data-annotations/samples/{}/history?limit=100",
        fx.ds,
        fx.id(key)
    );
    expect(t, "history", &t.get(&path).await, 200)
}

/// Without `atomic`: the same sample twice applies in order and the last wins; a batch mixing
/// valid and invalid items applies the valid ones, each item has its result and the first
/// failure stands on top.
async fn non_atomic_batches_apply_each_good_item_in_order(t: &TestApp, fx: &Fx) {
    let b = t.backend;
    let path = fx.samples_path();
    let put = |token: &str, path: String, body: Value| {
        let token = token.to_string();
        async move { call(t, &token, Method::PUT, &path, Some(body)).await }
    };
    let item = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let bndbox = geo("car", "bndbox", json!([[10, 10], [60, 50]]));
    // The same sample twice: applied in order, the last wins, each item has its result.
    let before = copies(t, fx).await;
    let a = put(
        &fx.ann,
        path.clone(),
        json!({"samples": [item("img", json!([{"name": "cat"}])), item("img", json!([bndbox]))]}),
    )
    .await;
    assert_eq!(a.status, 200, "{b}: {}", a.body);
    assert_eq!(a.body["success"], true, "{b}: {}", a.body);
    let results = a.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{b}");
    assert!(
        results
            .iter()
            .all(|r| r["success"] == true && r["sample_id"] == fx.id("img").as_str()),
        "{b}: {}",
        a.body
    );
    let after = copies(t, fx).await;
    let (old, new) = (&before[&fx.id("img")], &after[&fx.id("img")]);
    assert_eq!(
        new["version"].as_i64(),
        old["version"].as_i64().map(|v| v + 2),
        "{b}: {new}"
    );
    assert_eq!(new["labels"].as_array().unwrap().len(), 1, "{b}: {new}");
    assert_eq!(new["labels"][0]["name"], "car", "{b}: the last item wins");
    assert_eq!(
        new["sample_status"], "__UNCHECK__",
        "{b}: no reviewer: labeled copies wait for acceptance"
    );
    let h = history(t, fx, "img").await;
    assert_eq!(h["total_number"], 2, "{b}: one history row per applied item: {h}");
    assert_eq!(h["history"][0]["labels_after"][0]["name"], "car", "{b}: {h}");
    assert_eq!(
        h["history"][0]["labels_before"][0]["name"], "cat",
        "{b}: the second item sees the first: {h}"
    );
    assert_eq!(h["history"][1]["labels_after"][0]["name"], "cat", "{b}: {h}");
    assert_eq!(h["history"][0]["version"], new["version"], "{b}: {h}");
    for (id, copy) in &before {
        if *id != fx.id("img") {
            assert_eq!(copy, &after[id], "{b}: only img changed");
        }
    }

    // A batch mixing valid and invalid items: the valid ones apply, each item has its result,
    // the first failure stands on top.
    let before = copies(t, fx).await;
    let mixed = json!({"samples": [
        item("text", json!([{"name": "positive"}])),
        item("img2", json!([{"name": "unicorn"}])),
        item("audio", json!([{"name": "dog"}])),
        {"sample_id": UNKNOWN_HEX, "labels": []},
        item("bob_img", json!([{"name": "cat"}])),
        item("ref", json!([bndbox])),
        item("video", json!([{"name": "clip"}]))
    ]});
    let a = put(&fx.ann, path.clone(), mixed).await;
    assert_eq!(a.status, 200, "{b}: {}", a.body);
    let expected: [(bool, &str); 7] = [
        (true, ""),
        (false, LABEL_NOT_FOUND),
        (true, ""),
        (false, SAMPLE_NOT_FOUND),
        (false, FORBIDDEN),
        (false, SIZE_UNKNOWN),
        (true, ""),
    ];
    let results = a.body["results"].as_array().unwrap();
    assert_eq!(results.len(), expected.len(), "{b}: {}", a.body);
    for (i, (r, (ok, code))) in results.iter().zip(expected).enumerate() {
        assert_eq!(r["success"], ok, "{b}: results[{i}]: {}", a.body);
        if !ok {
            assert_eq!(r["error_code"], code, "{b}: results[{i}]: {}", a.body);
            let msg = r["error_msg"].as_str().unwrap();
            assert!(msg.starts_with(&format!("samples[{i}]: ")), "{b}: {msg}");
        }
    }
    assert_eq!(results[3]["sample_id"], UNKNOWN_HEX, "{b}");
    assert_eq!(
        (&a.body["success"], &a.body["error_code"], &a.body["error_msg"]),
        (&json!(false), &json!(LABEL_NOT_FOUND), &results[1]["error_msg"]),
        "{b}: {}",
        a.body
    );
    let after = copies(t, fx).await;
    for (id, copy) in &before {
        let applied = ["text", "audio", "video"].contains(&fx.name(id));
        let version = |c: &Value| c["version"].as_i64().unwrap();
        if applied {
            assert_eq!(version(&after[id]), version(copy) + 1, "{b}: {} applied", fx.name(id));
        } else {
            assert_eq!(copy, &after[id], "{b}: {} unchanged", fx.name(id));
        }
    }
}

#[tokio::test]
async fn batches_apply_in_order_and_an_atomic_batch_applies_nothing_if_one_item_fails() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let fx = setup(&t, false).await;
        let path = fx.samples_path();
        let tr = &t;
        let put = |token: &str, path: String, body: Value| {
            let token = token.to_string();
            async move { call(tr, &token, Method::PUT, &path, Some(body)).await }
        };
        let item = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});

        non_atomic_batches_apply_each_good_item_in_order(&t, &fx).await;

        // Atomic: one bad item and nothing applies; the others are marked not applied.
        let before = copies(&t, &fx).await;
        let history_before = history(&t, &fx, "img2").await["total_number"].clone();
        let atomic_path = format!("{path}?atomic=true");
        let a = put(
            &fx.ann,
            atomic_path.clone(),
            json!({"samples": [item("img2", json!([{"name": "cat"}])), item("text", json!([span("Location", 0, 99)])), item("audio", json!([]))]}),
        )
        .await;
        assert_eq!(a.status, 400, "{b}: {}", a.body);
        assert_eq!(a.body["success"], false, "{b}");
        assert_eq!(
            a.body["error_code"], LABEL_RULE,
            "{b}: the real failure on top: {}",
            a.body
        );
        assert!(a.msg().contains("past the end of the text"), "{b}: {}", a.body);
        for i in [0, 2] {
            let r = &a.body["results"][i];
            assert_eq!(r["error_code"], NOT_APPLIED, "{b}: results[{i}]: {}", a.body);
            assert!(r["error_msg"].as_str().unwrap().contains("not applied"), "{b}: {r}");
        }
        assert_eq!(a.body["results"][0]["sample_id"], fx.id("img2").as_str(), "{b}");
        assert_eq!(a.body["results"][1]["error_code"], LABEL_RULE, "{b}");
        assert_eq!(
            before,
            copies(&t, &fx).await,
            "{b}: an atomic batch with a failure applies nothing"
        );
        assert_eq!(
            history(&t, &fx, "img2").await["total_number"],
            history_before,
            "{b}: and records no history"
        );

        // Atomic with a stale version: refused as a whole.
        let stale = before[&fx.id("text")]["version"].as_i64().unwrap() - 1;
        let a = put(
            &fx.ann,
            atomic_path.clone(),
            json!({"samples": [item("img2", json!([{"name": "cat"}])), with(&item("text", json!([])), json!({"version": stale}))]}),
        )
        .await;
        assert_eq!((a.status, a.code()), (400, VERSION_CONFLICT), "{b}: {}", a.body);
        assert_eq!(before, copies(&t, &fx).await, "{b}: nothing applied");

        // Atomic and all good: applied, 200.
        let a = put(
            &fx.ann,
            atomic_path,
            json!({"samples": [item("img2", json!([{"name": "cat"}])), item("text", json!([]))]}),
        )
        .await;
        assert_eq!((a.status, &a.body["success"]), (200, &json!(true)), "{b}: {}", a.body);
        let after = copies(&t, &fx).await;
        assert_eq!(after[&fx.id("img2")]["labels"][0]["name"], "cat", "{b}");
        assert_eq!(after[&fx.id("text")]["sample_status"], "__NONE__", "{b}");

        // ?atomic=false is the default: the good item applies.
        let a = put(
            &fx.ann,
            format!("{path}?atomic=false"),
            json!({"samples": [item("img2", json!([{"name": "road"}])), item("img", json!([{"name": "unicorn"}]))]}),
        )
        .await;
        assert_eq!((a.status, &a.body["success"]), (200, &json!(false)), "{b}: {}", a.body);
        assert_eq!(
            copies(&t, &fx).await[&fx.id("img2")]["labels"][0]["name"],
            "road",
            "{b}"
        );

        // A lost update: Ann reads her copy, the owner changes it for her, Ann's write with the
        // version she read fails and changes nothing.
        let one_path = format!("{path}/{}", fx.id("img2"));
        let read = expect(
            &t,
            "read own copy",
            &call(&t, &fx.ann, Method::GET, &one_path, None).await,
            200,
        );
        let owner_write = json!({"samples": [{"sample_id": fx.id("img2"), "worker_id": fx.ann_id, "labels": [{"name": "positive"}]}]});
        let a = put(&t.token, path.clone(), owner_write).await;
        assert_eq!(a.body["success"], true, "{b}: {}", a.body);
        let mine =
            json!({"samples": [{"sample_id": fx.id("img2"), "version": read["version"], "labels": [{"name": "cat"}]}]});
        let a = put(&fx.ann, path.clone(), mine).await;
        assert_eq!(a.status, 200, "{b}: {}", a.body);
        assert_eq!(a.body["results"][0]["error_code"], VERSION_CONFLICT, "{b}: {}", a.body);
        let now = copies(&t, &fx).await[&fx.id("img2")].clone();
        assert_eq!(
            now["labels"][0]["name"], "positive",
            "{b}: the owner's write stands: {now}"
        );
        assert_eq!(
            now["version"].as_i64(),
            read["version"].as_i64().map(|v| v + 1),
            "{b}: {now}"
        );
        let h = history(&t, &fx, "img2").await;
        assert_eq!(h["history"][0]["actor_email"], OWNER, "{b}: {h}");
    }
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

#[tokio::test]
async fn bad_team_member_and_task_requests_are_refused_and_change_nothing() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, true).await;
        let team = fx.team.clone();
        let owner = t.token.clone();
        let ann = fx.ann.clone();
        // A second team holding the owner as a member, a manager in the first team, a dataset
        // without labels and a task (Bob only) not started yet.
        let reserve = expect(
            &t,
            "team",
            &t.post("/workforces", json!({"workforce_name": "reserve"})).await,
            201,
        )["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        add_member(&t, &reserve, OWNER, 0).await;
        let owner_member = member_id(&t, &reserve, OWNER).await;
        add_member(&t, &team, "mia@example.com", 2).await;
        let bare = t.dataset("bare", 900, json!([])).await;
        let round2 = create_task(&t, &fx.ds, "round-2", &team, &[BOB]).await;
        let round2_path = format!("/datasets/{}/workforce-tasks/{round2}", fx.ds);
        let tasks = format!("/datasets/{}/workforce-tasks", fx.ds);
        let members = format!("/workforces/{team}/workers");
        let task_ok =
            json!({"task_name": "round-3", "repetition": 1, "workforces_config": team_config(&team, &[ANN, BOB])});
        let task = |extra: Value| bytes(with(&task_ok, extra));
        let cfg_workers =
            |workers: Value| json!({"workforces_config": {"workforces": [{"workforce_id": team, "workers": workers}]}});

        let r = |case: &str,
                 token: &str,
                 method: Method,
                 path: &str,
                 body: Option<Vec<u8>>,
                 status,
                 code,
                 fragment: &str|
         -> Refusal {
            (
                case.into(),
                token.into(),
                method,
                path.into(),
                body,
                status,
                code,
                fragment.into(),
            )
        };
        #[rustfmt::skip]
        let rows: Vec<Refusal> = vec![
            // Teams.
            r("team name missing", &owner, Method::POST, "/workforces", bytes(json!({})), 400, INVALID, "workforce_name is required"),
            r("team name empty", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": ""})), 400, INVALID, "workforce_name must be 1 to 64 characters long, got 0"),
            r("team name of 65 characters", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "t".repeat(65)})), 400, INVALID, "workforce_name must be 1 to 64"),
            r("team name not ASCII", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "équipe"})), 400, INVALID, "workforce_name may contain only letters, digits, '_' and '-'; found 'é'"),
            r("team name with a space", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "a b"})), 400, INVALID, "workforce_name may contain only letters, digits, '_' and '-'; found ' '"),
            r("team name a number", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": 5})), 400, INVALID, "workforce_name: invalid type"),
            r("team description with <", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "new", "description": "a<b"})), 400, INVALID, "description must not contain '<'"),
            r("duplicate team name", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "annotators"})), 400, WORKFORCE_EXISTS, "already exists"),
            r("renaming a team to a taken name", &owner, Method::PUT, &format!("/workforces/{reserve}"), bytes(json!({"workforce_name": "annotators"})), 400, WORKFORCE_EXISTS, "already exists"),
            r("renaming a team to a bad name", &owner, Method::PUT, &format!("/workforces/{reserve}"), bytes(json!({"workforce_name": "a/b"})), 400, INVALID, "workforce_name may contain only"),
            r("an unknown team", &owner, Method::GET, &format!("/workforces/{UNKNOWN_ID19}"), None, 404, WORKFORCE_NOT_FOUND, "The workforce does not exist"),
            r("members of an unknown team", &owner, Method::POST, &format!("/workforces/{UNKNOWN_ID19}/workers"), bytes(json!({"emails": "new@example.com", "role": 0})), 404, WORKFORCE_NOT_FOUND, UNKNOWN_ID19),
            r("deleting a team whose members have work", &owner, Method::DELETE, &format!("/workforces/{team}"), None, 400, WORKER_HAS_TASK, "has unfinished work in a team task"),
            r("a labeler listing teams", &ann, Method::GET, "/workforces", None, 403, NOT_AUTHORIZED, "(GET /v2/{project_id}/workforces) operation: it is for the owner"),
            r("a labeler creating a team", &ann, Method::POST, "/workforces", bytes(json!({"workforce_name": "mine"})), 403, NOT_AUTHORIZED, "(POST /v2/{project_id}/workforces) operation: it is for the owner"),
            // Members.
            r("member email invalid", &owner, Method::POST, &members, bytes(json!({"emails": "not-an-email", "role": 0})), 400, INVALID, "emails is not a valid email address: \"not-an-email\""),
            r("member email without a dot in the host", &owner, Method::POST, &members, bytes(json!({"emails": "x@localhost", "role": 0})), 400, INVALID, "emails is not a valid email address"),
            r("member email missing", &owner, Method::POST, &members, bytes(json!({"role": 0})), 400, INVALID, "emails is required"),
            r("member emails a list", &owner, Method::POST, &members, bytes(json!({"emails": ["x@example.com"], "role": 0})), 400, INVALID, "emails: invalid type"),
            r("member role 3", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": 3})), 400, INVALID, "role must be 0 (labeler), 1 (reviewer) or 2 (team manager), got 3"),
            r("member role \"x\"", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": "x"})), 400, INVALID, "role must be 0 (labeler), 1 (reviewer) or 2 (team manager), got \"x\""),
            r("member role -1", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": -1})), 400, INVALID, "role must be 0"),
            r("member role missing", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com"})), 400, INVALID, "role is required"),
            r("duplicate member", &owner, Method::POST, &members, bytes(json!({"emails": ANN, "role": 1})), 400, WORKER_EXISTS, "already exists"),
            r("second manager", &owner, Method::POST, &members, bytes(json!({"emails": "max@example.com", "role": 2})), 400, ONE_MANAGER, "manager should be one"),
            r("second manager, role as a string", &owner, Method::POST, &members, bytes(json!({"emails": "max@example.com", "role": "2"})), 400, ONE_MANAGER, "manager should be one"),
            r("making a second manager", &owner, Method::PUT, &format!("{members}/{}", fx.bob_id), bytes(json!({"role": 2})), 400, ONE_MANAGER, "manager should be one"),
            r("changing a member to role 3", &owner, Method::PUT, &format!("{members}/{}", fx.bob_id), bytes(json!({"role": 3})), 400, INVALID, "role must be 0"),
            r("an unknown member", &owner, Method::GET, &format!("{members}/{UNKNOWN_HEX}"), None, 404, WORKER_NOT_FOUND, "The worker does not exist"),
            r("deleting an unknown member", &owner, Method::DELETE, &format!("{members}/{UNKNOWN_HEX}"), None, 404, WORKER_NOT_FOUND, UNKNOWN_HEX),
            r("deleting a member with unfinished work", &owner, Method::DELETE, &format!("{members}/{}", fx.ann_id), None, 400, WORKER_HAS_TASK, "Can not delete worker who has task: ann@example.com"),
            r("deleting oneself", &owner, Method::DELETE, &format!("/workforces/{reserve}/workers/{owner_member}"), None, 400, DELETE_YOURSELF, "Can not delete yourself"),
            r("a labeler adding a member", &ann, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": 0})), 403, NOT_AUTHORIZED, "it is for the owner, manager of the team"),
            // Tasks.
            r("a task on a dataset without labels", &owner, Method::POST, &format!("/datasets/{bare}/workforce-tasks"), task(json!({})), 400, LABELS_NOT_SET, "Dataset labels not set"),
            r("a task name taken", &owner, Method::POST, &tasks, task(json!({"task_name": "round-1"})), 400, TASK_EXISTS, "already exists"),
            r("a task name missing", &owner, Method::POST, &tasks, task(json!({"task_name": null})), 400, INVALID, "task_name is required"),
            r("a task name with a slash", &owner, Method::POST, &tasks, task(json!({"task_name": "a/b"})), 400, INVALID, "task_name may contain only"),
            r("a task name of 65 characters", &owner, Method::POST, &tasks, task(json!({"task_name": "n".repeat(65)})), 400, INVALID, "task_name must be 1 to 64"),
            r("repetition 0", &owner, Method::POST, &tasks, task(json!({"repetition": 0})), 400, TOO_FEW_LABELERS, "repetition must be 1 to the number of labelers (2), got 0"),
            r("repetition above the labelers", &owner, Method::POST, &tasks, task(json!({"repetition": 3})), 400, TOO_FEW_LABELERS, "repetition must be 1 to the number of labelers (2), got 3"),
            r("repetition a string", &owner, Method::POST, &tasks, task(json!({"repetition": "1"})), 400, INVALID, "repetition: invalid type"),
            r("only a reviewer chosen", &owner, Method::POST, &tasks, task(cfg_workers(json!([{"email": RITA}]))), 400, TOO_FEW_LABELERS, "at least one labeler"),
            r("an unknown team", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": [{"workforce_id": UNKNOWN_ID19}]}})), 404, WORKFORCE_NOT_FOUND, UNKNOWN_ID19),
            r("a team id that cannot be one", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": [{"workforce_id": "no such team"}]}})), 404, WORKFORCE_NOT_FOUND, "The workforce does not exist"),
            r("an unknown member email", &owner, Method::POST, &tasks, task(cfg_workers(json!([{"email": ANN}, {"email": "zed@example.com"}]))), 404, WORKER_NOT_FOUND, "workforces_config.workforces[0].workers[1] is not a member of team annotators"),
            r("an unknown member id", &owner, Method::POST, &tasks, task(cfg_workers(json!([{"worker_id": UNKNOWN_HEX}]))), 404, WORKER_NOT_FOUND, "workers[0] is not a member"),
            r("a member of another team", &owner, Method::POST, &tasks, task(cfg_workers(json!([{"worker_id": owner_member}]))), 404, WORKER_NOT_FOUND, "workers[0] is not a member"),
            r("a member entry naming nobody", &owner, Method::POST, &tasks, task(cfg_workers(json!([{}]))), 400, INVALID, "workers[0] needs email or worker_id"),
            r("workforces_config missing", &owner, Method::POST, &tasks, task(json!({"workforces_config": null})), 400, INVALID, "workforces_config is required"),
            r("no teams", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": []}})), 400, INVALID, "must name at least one team"),
            r("a team without its id", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": [{"workforce_name": "annotators"}]}})), 400, INVALID, "workforces_config.workforces[0].workforce_id is required"),
            r("agency", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"agency": "mia@example.com", "workforces": [{"workforce_id": team}]}})), 400, INVALID, "workforces_config.agency"),
            r("synchronize_data true", &owner, Method::POST, &tasks, task(json!({"synchronize_data": true})), 400, INVALID, "synchronize_data and synchronize_auto_labeling_data must be false"),
            r("synchronize_auto_labeling_data true", &owner, Method::POST, &tasks, task(json!({"synchronize_auto_labeling_data": true})), 400, INVALID, "synchronize_auto_labeling_data must be false"),
            r("data_sync_type 1", &owner, Method::POST, &tasks, task(json!({"data_sync_type": 1})), 400, INVALID, "data_sync_type must be 0"),
            r("sample_conditions not JSON", &owner, Method::POST, &tasks, task(json!({"sample_conditions": "labels please"})), 400, INVALID, "sample_conditions"),
            r("a task of an unknown dataset", &owner, Method::POST, &format!("/datasets/{UNKNOWN_ID19}/workforce-tasks"), task(json!({})), 404, DATASET_NOT_FOUND, UNKNOWN_ID19),
            r("a labeler creating a task", &ann, Method::POST, &tasks, task(json!({})), 401, MEMBER_CREATES_TASK, "only the project owner creates team tasks"),
            r("an unknown task", &owner, Method::GET, &format!("{tasks}/{UNKNOWN_ID19}"), None, 404, TASK_NOT_FOUND, "Workforce task does not exist"),
            r("starting twice", &owner, Method::POST, &fx.task, bytes(json!({})), 400, TASK_START_FAILED, "it is in status 1, not 6"),
            r("starting with another dataset_id", &owner, Method::POST, &round2_path, bytes(json!({"dataset_id": fx.foreign_ds})), 400, INVALID, "dataset_id in the body does not match the path"),
            r("starting with only a reviewer", &owner, Method::POST, &round2_path, bytes(cfg_workers(json!([{"email": RITA}]))), 400, TOO_FEW_LABELERS, "at least one labeler"),
            r("a labeler starting a task", &ann, Method::POST, &round2_path, bytes(json!({})), 403, FORBIDDEN, "is for the owner, manager of the task; you (ann@example.com) are not"),
            r("updating members after the start", &owner, Method::PUT, &fx.task, bytes(cfg_workers(json!([{"email": ANN}]))), 400, INVALID, "workforces_config can only change before the task starts"),
            r("renaming a task to a taken name", &owner, Method::PUT, &fx.task, bytes(json!({"task_name": "round-2"})), 400, TASK_EXISTS, "already exists"),
            r("renaming a task to a bad name", &owner, Method::PUT, &fx.task, bytes(json!({"task_name": "round 2"})), 400, INVALID, "task_name may contain only"),
            r("a labeler updating a task", &ann, Method::PUT, &fx.task, bytes(json!({"description": "mine"})), 403, FORBIDDEN, "is for the owner, manager of the task; you (ann@example.com) are not"),
            r("a labeler deleting a task", &ann, Method::DELETE, &fx.task, None, 403, FORBIDDEN, "is for the owner, manager of the task; you (ann@example.com) are not"),
            r("a labeler reading a task she is not in", &ann, Method::GET, &round2_path, None, 403, FORBIDDEN, "is for the owner, manager, reviewer, labeler of the task"),
            r("a labeler reading member progress", &ann, Method::GET, &format!("{}/metrics", fx.task), None, 403, FORBIDDEN, "/metrics is for the owner, manager of the task"),
        ];
        let datasets = [fx.ds.as_str(), bare.as_str(), fx.foreign_ds.as_str()];
        let (tr, dr) = (&t, &datasets);
        run_refusals(&t, &rows, move || team_state(tr, dr)).await;

        member_tasks_after_the_refusals(&t, &fx, &members, &datasets, &round2).await;
    }
}

/// After the refusals: a batch deletion of a member with work fails that item and deletes
/// nobody, and each member's list of tasks shows only the tasks they are in.
async fn member_tasks_after_the_refusals(t: &TestApp, fx: &Fx, members: &str, datasets: &[&str], round2: &str) {
    let b = t.backend;
    let ann = &fx.ann;
    // Batch deletion of a member with work fails that item and deletes nobody.
    let before = team_state(t, datasets).await;
    let a = t
        .post(&format!("{members}/batch-delete"), json!({"workers": [fx.ann_id]}))
        .await;
    assert_eq!(a.status, 200, "{b}: {}", a.body);
    assert_eq!(a.body["success"], false, "{b}: {}", a.body);
    assert_eq!(a.body["results"][0]["error_code"], WORKER_HAS_TASK, "{b}: {}", a.body);
    assert_eq!(before, team_state(t, datasets).await, "{b}: nobody deleted");

    // A labeler's list of member tasks shows only the tasks she is in.
    let mine = expect(
        t,
        "worker tasks",
        &call(t, ann, Method::GET, "/workforces/worker-tasks", None).await,
        200,
    );
    assert_eq!(mine["count"], 1, "{b}: {mine}");
    let only = &mine["worker_tasks"][0];
    assert_eq!(
        (&only["task_id"], &only["email"], &only["role"], &only["worker_id"]),
        (&json!(fx.task_id), &json!(ANN), &json!(0), &json!(fx.ann_id)),
        "{b}: {mine}"
    );
    assert_eq!(
        only["sample_stats"]["total_sample_count"],
        ANN_SAMPLES.len(),
        "{b}: {mine}"
    );
    let reviewer = call(
        t,
        fx.rita.as_deref().unwrap(),
        Method::GET,
        "/workforces/worker-tasks",
        None,
    )
    .await;
    let reviewer = expect(t, "reviewer tasks", &reviewer, 200);
    assert_eq!(reviewer["count"], 1, "{b}: {reviewer}");
    assert_eq!(reviewer["worker_tasks"][0]["role"], 1, "{b}: {reviewer}");
    let bobs = expect(
        t,
        "bob tasks",
        &call(t, &fx.bob, Method::GET, "/workforces/worker-tasks", None).await,
        200,
    );
    let ids: Vec<&str> = bobs["worker_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["task_id"].as_str())
        .collect();
    assert!(ids.contains(&fx.task_id.as_str()), "{b}: {bobs}");
    assert!(
        !ids.iter().any(|id| *id != fx.task_id && *id != round2),
        "{b}: only Bob's tasks: {bobs}"
    );
}

/// Emails name members without regard to case everywhere else (a task's `workers`, the batch
/// `email`), so a second member whose email differs only in case would be a second person the
/// rest of the API cannot tell apart from the first.
#[tokio::test]
async fn a_member_email_in_another_case_is_the_same_member() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let team = expect(
            &t,
            "team",
            &t.post("/workforces", json!({"workforce_name": "crew"})).await,
            201,
        )["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        add_member(&t, &team, ANN, 0).await;
        let members = format!("/workforces/{team}/workers");
        let before = expect(&t, "members", &t.get(&members).await, 200);
        for variant in ["Ann@Example.COM", "ANN@EXAMPLE.COM"] {
            let a = t.post(&members, json!({"emails": variant, "role": 0})).await;
            if let Err(why) = check_refused(&a, 400, WORKER_EXISTS, "already exists") {
                panic!("{b} {variant}: {why}");
            }
        }
        assert_eq!(
            before,
            expect(&t, "members", &t.get(&members).await, 200),
            "{b}: nobody added"
        );
    }
}

/// Team, member and task bodies and the team batch update refuse fields they do not define, at
/// the top and inside every nested object, with a message that begins with the field's JSON path;
/// nothing is written. A misspelt item field (`lables`) fails the whole batch instead of clearing
/// the copy's labels as an item without `labels` would.
#[tokio::test]
async fn unknown_fields_in_team_bodies_are_refused_with_their_path_and_change_nothing() {
    // Every team write route has a row below (the dataset, label and sample routes are covered
    // in api_invalid.rs, which also checks that every write route belongs to one of the two).
    let doc = serde_json::to_value(teamlabel_server::openapi()).unwrap();
    let mut routes: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or("");
            if op.get("requestBody").is_some() && ["workforces", "workforce-tasks", "team-samples"].contains(&tag) {
                routes.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes.sort();
    #[rustfmt::skip]
    let mut covered = vec![
        "POST /v2/{project_id}/workforces",
        "PUT /v2/{project_id}/workforces/{workforce_id}",
        "POST /v2/{project_id}/workforces/{workforce_id}/workers",
        "POST /v2/{project_id}/workforces/{workforce_id}/workers/batch-delete",
        "PUT /v2/{project_id}/workforces/{workforce_id}/workers/{worker_id}",
        "POST /v2/{project_id}/datasets/{dataset_id}/workforce-tasks",
        "POST /v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}",
        "PUT /v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}",
        "PUT /v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples",
    ];
    covered.sort();
    assert_eq!(routes, covered, "every team write route has a row below");

    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, false).await;
        let team = fx.team.clone();
        let owner = t.token.clone();
        let img = fx.id("img");
        let round2 = create_task(&t, &fx.ds, "round-2", &team, &[BOB]).await;
        let round2_path = format!("/datasets/{}/workforce-tasks/{round2}", fx.ds);
        let tasks = format!("/datasets/{}/workforce-tasks", fx.ds);
        let members = format!("/workforces/{team}/workers");
        let samples = fx.samples_path();
        let task_ok =
            json!({"task_name": "round-3", "repetition": 1, "workforces_config": team_config(&team, &[ANN, BOB])});
        let task = |extra: Value| bytes(with(&task_ok, extra));
        let config = |team_cfg: Value| task(json!({"workforces_config": {"workforces": [team_cfg]}}));
        let item = |extra: Value| with(&json!({"sample_id": img, "labels": [{"name": "cat"}]}), extra);
        // The message begins with the JSON path of the unknown field (`at` holds it).
        let row = |case: &str, token: &str, method: Method, path: &str, body, at: &str, field: &str| -> Refusal {
            let at = if at.is_empty() {
                field.to_string()
            } else {
                format!("{at}.{field}")
            };
            (
                case.into(),
                token.into(),
                method,
                path.into(),
                body,
                400,
                INVALID,
                format!("{at}: unknown field `{field}`"),
            )
        };
        #[rustfmt::skip]
        let rows: Vec<Refusal> = vec![
            // One unknown top-level field per route; each body is valid without it.
            row("create team", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "crew", "descripton": "misspelt"})), "", "descripton"),
            row("update team", &owner, Method::PUT, &format!("/workforces/{team}"), bytes(json!({"description": "renamed", "name": "crew"})), "", "name"),
            row("add member (the field is emails)", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": 0, "email": "new@example.com"})), "", "email"),
            row("remove members", &owner, Method::POST, &format!("{members}/batch-delete"), bytes(json!({"workers": [fx.bob_id], "worker_ids": [fx.bob_id]})), "", "worker_ids"),
            row("update member", &owner, Method::PUT, &format!("{members}/{}", fx.ann_id), bytes(json!({"description": "lead", "roles": 1})), "", "roles"),
            row("create task", &owner, Method::POST, &tasks, task(json!({"repetitions": 2})), "", "repetitions"),
            row("start task", &owner, Method::POST, &round2_path, bytes(json!({"task_id": round2, "force": true})), "", "force"),
            row("update task", &owner, Method::PUT, &round2_path, bytes(json!({"description": "second pass", "task_description": "second pass"})), "", "task_description"),
            row("team label update", &fx.ann, Method::PUT, &samples, bytes(json!({"samples": [item(json!({}))], "emial": ANN})), "", "emial"),
            // One row per nested object type (and per route that takes one).
            row("the staffing of a new task", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": [{"workforce_id": team}], "teams": [team]}})), "workforces_config", "teams"),
            row("a team of a new task", &owner, Method::POST, &tasks, config(json!({"workforce_id": team, "members": [{"email": ANN}]})), "workforces_config.workforces[0]", "members"),
            row("a member of a new task", &owner, Method::POST, &tasks, config(json!({"workforce_id": team, "workers": [{"email": ANN, "name": "Ann"}]})), "workforces_config.workforces[0].workers[0]", "name"),
            row("a member of a task start", &owner, Method::POST, &round2_path, bytes(json!({"workforces_config": {"workforces": [{"workforce_id": team, "workers": [{"email": BOB, "mail": BOB}]}]}})), "workforces_config.workforces[0].workers[0]", "mail"),
            row("a team of a task update", &owner, Method::PUT, &round2_path, bytes(json!({"workforces_config": {"workforces": [{"workforce_id": team, "workforce": "annotators"}]}})), "workforces_config.workforces[0]", "workforce"),
            row("an item of the team label update", &fx.ann, Method::PUT, &samples, bytes(json!({"samples": [{"sample_id": img, "lables": [{"name": "cat"}]}]})), "samples[0]", "lables"),
            row("a label of an item of the team label update", &fx.ann, Method::PUT, &samples, bytes(json!({"samples": [item(json!({"labels": [{"name": "cat", "scroe": 1}]}))]})), "samples[0].labels[0]", "scroe"),
        ];
        let datasets = [fx.ds.as_str()];
        let (tr, fxr, dr) = (&t, &fx, &datasets);
        let state = move || async move { json!({"team": team_state(tr, dr).await, "copies": copies(tr, fxr).await}) };
        run_refusals_checked(&t, &rows, check_refused_at, state).await;
    }
}

/// A task's members may be sent in the whole documented Worker shape, as the member list answers
/// them: the member is picked by `worker_id` or `email`, and the other fields describe it. Only a
/// `workforce_id` other than the team the member is listed under is refused.
#[tokio::test]
async fn a_task_member_may_be_sent_as_the_member_list_answers_it() {
    for t in crate::helpers::spawn_all().await {
        let ds = t.dataset("free", 900, all_labels()).await;
        let team = expect(
            &t,
            "team",
            &t.post("/workforces", json!({"workforce_name": "annotators"})).await,
            201,
        )["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        add_member(&t, &team, ANN, 0).await;
        let tasks = format!("/datasets/{ds}/workforce-tasks");
        let listed =
            expect(&t, "members", &t.get(&format!("/workforces/{team}/workers")).await, 200)["workers"][0].clone();
        for key in [
            "worker_id",
            "workforce_id",
            "email",
            "role",
            "status",
            "description",
            "create_time",
            "update_time",
        ] {
            assert!(
                listed.get(key).is_some(),
                "{}: the member list answers {key}: {listed}",
                t.backend
            );
        }
        let staffed = |worker: Value| json!({"task_name": "round-1", "workforces_config": {"workforces": [{"workforce_id": team, "workers": [worker]}]}});
        let rows: Vec<Refusal> = vec![(
            "a member listed under another team".into(),
            t.token.clone(),
            Method::POST,
            tasks.clone(),
            bytes(staffed(with(&listed, json!({"workforce_id": UNKNOWN_ID19})))),
            400,
            INVALID,
            "workforces_config.workforces[0].workers[0].workforce_id".into(),
        )];
        let datasets = [ds.as_str()];
        let (tr, dr) = (&t, &datasets);
        run_refusals(&t, &rows, move || async move { team_state(tr, dr).await }).await;

        let a = t.post(&tasks, staffed(listed.clone())).await;
        let created = expect(&t, "a task staffed with a listed member", &a, 200)["task_id"]
            .as_str()
            .unwrap()
            .to_string();
        let read = expect(&t, "task", &t.get(&format!("{tasks}/{created}")).await, 200);
        assert_eq!(
            read["workforces_config"]["workforces"][0]["workers"],
            json!([{"email": ANN, "worker_id": listed["worker_id"], "role": 0}]),
            "{}: the member alone, as answered before",
            t.backend
        );
    }
}
