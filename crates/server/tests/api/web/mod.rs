//! The labeling page in a real browser (see `browser.rs`), against the real server, by what is
//! labeled: pictures (`images`), text and sound (`text_and_sound`), the reviewer's and the
//! owner's views and sign-in (`roles`), and what the page and sample bytes may do (`safety`).
//! Here: the fixtures they share (a started task, signing in, points of the picture, reading
//! a copy back through the API).

use crate::browser::Browser;
use crate::helpers::*;
use serde_json::{json, Value};

mod images;
mod roles;
mod safety;
mod text_and_sound;

pub const PASSWORD: &str = "labeling is fun";
pub const ANN: &str = "ann@example.com";
pub const RITA: &str = "rita@example.com";

/// A 240 x 160 street: sky, road, and a red and a blue vehicle, shifted by `i`.
pub fn street(i: u32) -> String {
    png_with(240, 160, |x, y| {
        let car = (30 + 20 * i..110 + 20 * i).contains(&x) && (95..130).contains(&y);
        let truck = (150..225).contains(&x) && (70..132).contains(&y);
        match () {
            _ if car => [200, 40, 40],
            _ if truck => [40, 90, 200],
            _ if y < 90 => [(120 + y / 2) as u8, (170 + y / 3) as u8, 235],
            _ if (118..122).contains(&y) && x % 40 < 20 => [230, 230, 230],
            _ => [70, 72, 78],
        }
    })
}

/// A started task on dataset `ds` with the team `members` (email, role: 0 labeler, 1 reviewer),
/// each with the page's password, `repetition` labelers per sample. Answers the task's path
/// (`/datasets/{ds}/workforce-tasks/{id}`) and the members' worker ids, in order.
pub async fn started_task(t: &TestApp, ds: &str, members: &[(&str, i32)], repetition: i32) -> (String, Vec<String>) {
    let team = t
        .post("/workforces", json!({"workforce_name": format!("team-{ds}")}))
        .await;
    let team = expect(t, "team", &team, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut workers = Vec::new();
    for (email, role) in members {
        workers.push(add_member(t, &team, email, *role).await);
        t.app.set_password(&t.project_id, email, PASSWORD).await.unwrap();
    }
    let emails: Vec<Value> = members.iter().map(|(e, _)| json!({ "email": e })).collect();
    let created = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": format!("task-{ds}"), "repetition": repetition,
                   "workforces_config": {"workforces": [{"workforce_id": team, "workers": emails}]}}),
        )
        .await;
    let task_id = expect(t, "task", &created, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = format!("/datasets/{ds}/workforce-tasks/{task_id}");
    expect(t, "start", &t.post(&task, json!({})).await, 200);
    (task, workers)
}

/// A dataset of `dataset_type` with `labels` and one text (`sample_type` 1), or one file of
/// another type, as its only sample; answers the dataset and the sample.
pub async fn one_sample(
    t: &TestApp,
    dataset_type: i32,
    labels: Value,
    name: &str,
    bytes: &[u8],
    sample_type: i32,
) -> (String, String) {
    use base64::Engine;
    let ds = t
        .dataset(&format!("ds-{}", name.replace('.', "-")), dataset_type, labels)
        .await;
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    let ids = t
        .samples(&ds, json!([{"name": name, "data": data, "sample_type": sample_type}]))
        .await;
    (ds, ids[0].clone())
}

/// An object-detection dataset of three 240 x 160 pictures, labels `car` and `truck`, and a
/// started task with Ann labeling and Rita reviewing. Answers (dataset, task path, Ann's worker id).
pub async fn task_for_ann(t: &TestApp) -> (String, String, String) {
    let ds = t
        .dataset(
            "streets",
            1,
            json!([{"name": "car", "type": 1, "property": {"@modelarts:color": "#e53935"}},
                   {"name": "truck", "type": 1, "property": {"@modelarts:color": "#1e88e5"}}]),
        )
        .await;
    let bodies: Vec<Value> = (0..3)
        .map(|i| json!({"name": format!("{i}.png"), "data": street(i)}))
        .collect();
    t.samples(&ds, Value::Array(bodies)).await;
    let (task, workers) = started_task(t, &ds, &[(ANN, 0), (RITA, 1)], 1).await;
    (ds, task, workers[0].clone())
}

/// Labels copies through the API as the member with `token`; every item must apply.
pub async fn label_by_api(t: &TestApp, token: &str, task: &str, items: Value) {
    let a = call(
        t,
        token,
        teamlabel_client::Method::PUT,
        &format!("{task}/data-annotations/samples"),
        Some(json!({ "samples": items })),
    )
    .await;
    assert_eq!(expect(t, "label", &a, 200)["success"], true, "{}", a.body);
}

/// The samples of the member with `token` in the task, in the order listed.
pub async fn samples_of(t: &TestApp, token: &str, task: &str) -> Vec<String> {
    let mine = call(
        t,
        token,
        teamlabel_client::Method::GET,
        &format!("{task}/data-annotations/samples?limit=100"),
        None,
    )
    .await;
    expect(t, "the member's samples", &mine, 200)["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sample_id"].as_str().unwrap().to_string())
        .collect()
}

/// A verdict through the API as the reviewer with `token`; it must apply.
pub async fn review_by_api(t: &TestApp, token: &str, task: &str, comments: Value) {
    let a = call(
        t,
        token,
        teamlabel_client::Method::POST,
        &format!("{task}/data-annotations/review"),
        Some(json!({ "comments": comments })),
    )
    .await;
    assert_eq!(expect(t, "review", &a, 200)["success"], true, "{}", a.body);
}

/// Ctrl+S, then waits for the page to say the copy is saved.
pub async fn save(b: &Browser) {
    b.chord(&[crate::browser::CONTROL, "s"]).await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
}

/// Selects `word` (its first occurrence in the text as drawn) by dragging the mouse across it.
pub async fn select_by_mouse(b: &Browser, word: &str) {
    let r = b
        .eval(
            "const body = document.getElementById('text-body');
             const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
             let node; while ((node = walker.nextNode()) && !node.textContent.includes(arguments[0])) {}
             const at = node.textContent.indexOf(arguments[0]); const range = document.createRange();
             range.setStart(node, at); range.setEnd(node, at + arguments[0].length); const r = range.getBoundingClientRect();
             return [r.left, r.right, (r.top + r.bottom) / 2];",
            json!([word]),
        )
        .await;
    let (left, right, y) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap(), r[2].as_f64().unwrap());
    b.drag((left + 1.0, y), (right - 1.0, y), 4).await;
    b.wait("a selection", &format!("window.getSelection().toString() === {word:?}"))
        .await;
}

/// Signs in as `email` in the current tab and opens the first task's labeling view.
pub async fn open_task(b: &Browser, t: &TestApp, email: &str) {
    open_task_until(
        b,
        t,
        email,
        "window.__teamlabel && window.__teamlabel.copy && document.getElementById('picture').naturalWidth > 0",
    )
    .await
}

pub async fn open_task_until(b: &Browser, t: &TestApp, email: &str, shown: &str) {
    b.goto(&format!("http://{}/ui/", t.addr)).await;
    b.wait("the sign-in form", "!document.getElementById('sign-in').hidden")
        .await;
    b.type_into("#sign-in-form input[name=email]", email).await;
    b.type_into("#sign-in-form input[name=password]", PASSWORD).await;
    b.type_into("#sign-in-form input[name=project]", "test").await;
    b.click("#sign-in-form button[type=submit]").await;
    b.wait("my tasks", "document.querySelector('#task-rows button')").await;
    b.click("#task-rows button").await;
    b.wait("the first sample", shown).await;
}

/// Where a point of the picture is in the viewport.
pub async fn at(b: &Browser, x: f64, y: f64) -> (f64, f64) {
    let r = b
        .eval(
            "const p = document.getElementById('picture'); const r = p.getBoundingClientRect();
             return [r.left, r.top, r.width / p.naturalWidth];",
            json!([]),
        )
        .await;
    let (left, top, zoom) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap(), r[2].as_f64().unwrap());
    (left + x * zoom, top + y * zoom)
}

pub async fn current_sample(b: &Browser) -> String {
    b.eval("return window.__teamlabel.copy.sample_id;", json!([]))
        .await
        .as_str()
        .unwrap()
        .to_string()
}

/// Ann's copy of a sample, as the owner reads it through the API.
pub async fn copy_of(t: &TestApp, task: &str, sample: &str, ann: &str) -> Value {
    let a = t
        .get(&format!("{task}/data-annotations/samples/{sample}?worker_id={ann}"))
        .await;
    expect(t, "Ann's copy", &a, 200)
}

pub fn boxes(copy: &Value) -> Vec<(String, Value)> {
    copy["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                l["property"]["@modelarts:feature"].clone(),
            )
        })
        .collect()
}

pub async fn draw(b: &Browser, from: (f64, f64), to: (f64, f64)) {
    let (a, z) = (at(b, from.0, from.1).await, at(b, to.0, to.1).await);
    b.drag(a, z, 6).await;
}
