//! The labeling page in a real browser (see `browser.rs`), against the real server: a labeler
//! signs in, draws a box by mouse, resizes it, picks its label with a digit key and saves with
//! Ctrl+S, and the API reads back exactly those coordinates; an unsaved change survives a
//! reload; a reviewer's rejection comes first in the queue with its comment; two tabs editing
//! one copy end in the conflict dialog, not in a silent overwrite. Without a browser: the page
//! is served with its security headers, and sample bytes can run nothing.

use serde_json::{json, Value};
use teamlabel_client::Method;

use crate::browser::{Browser, CONTROL};
use crate::helpers::*;

const PASSWORD: &str = "labeling is fun";
const ANN: &str = "ann@example.com";
const RITA: &str = "rita@example.com";

/// A 240 x 160 street: sky, road, and a red and a blue vehicle, shifted by `i`.
fn street(i: u32) -> String {
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

/// An object-detection dataset of three 240 x 160 pictures, labels `car` and `truck`, and a
/// started task with Ann labeling and Rita reviewing. Answers (dataset, task path, Ann's worker id).
async fn task_for_ann(t: &TestApp) -> (String, String, String) {
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
    let team = t.post("/workforces", json!({"workforce_name": "street-team"})).await;
    let team = expect(t, "team", &team, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ann = add_member(t, &team, ANN, 0).await;
    add_member(t, &team, RITA, 1).await;
    for who in [ANN, RITA] {
        t.app.set_password(&t.project_id, who, PASSWORD).await.unwrap();
    }
    let created = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": "streets-1", "workforces_config": {"workforces": [
                {"workforce_id": team, "workers": [{"email": ANN}, {"email": RITA}]}]}}),
        )
        .await;
    let task_id = expect(t, "task", &created, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = format!("/datasets/{ds}/workforce-tasks/{task_id}");
    expect(t, "start", &t.post(&task, json!({})).await, 200);
    (ds, task, ann)
}

/// Signs in as `email` in the current tab and opens the first task's labeling view.
async fn open_task(b: &Browser, t: &TestApp, email: &str) {
    open_task_until(
        b,
        t,
        email,
        "window.__teamlabel && window.__teamlabel.copy && document.getElementById('picture').naturalWidth > 0",
    )
    .await
}

async fn open_task_until(b: &Browser, t: &TestApp, email: &str, shown: &str) {
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
async fn at(b: &Browser, x: f64, y: f64) -> (f64, f64) {
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

async fn current_sample(b: &Browser) -> String {
    b.eval("return window.__teamlabel.copy.sample_id;", json!([]))
        .await
        .as_str()
        .unwrap()
        .to_string()
}

/// Ann's copy of a sample, as the owner reads it through the API.
async fn copy_of(t: &TestApp, task: &str, sample: &str, ann: &str) -> Value {
    let a = t
        .get(&format!("{task}/data-annotations/samples/{sample}?worker_id={ann}"))
        .await;
    expect(t, "Ann's copy", &a, 200)
}

fn boxes(copy: &Value) -> Vec<(String, Value)> {
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

async fn draw(b: &Browser, from: (f64, f64), to: (f64, f64)) {
    let (a, z) = (at(b, from.0, from.1).await, at(b, to.0, to.1).await);
    b.drag(a, z, 6).await;
}

#[tokio::test]
async fn a_labeler_draws_resizes_labels_and_saves_boxes_that_the_api_reads_back_exactly() {
    let Some(b) = Browser::start("labeling").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let (_, task, ann) = task_for_ann(&t).await;
    open_task(&b, &t, ANN).await;
    let interactive = b
        .eval(
            "return performance.getEntriesByType('navigation')[0].domInteractive;",
            json!([]),
        )
        .await;
    let first = current_sample(&b).await;

    // Draw (20,30)-(120,100), drag its bottom-right corner to (140,110), make it a truck (key 2).
    draw(&b, (20.0, 30.0), (120.0, 100.0)).await;
    b.wait(
        "one box",
        "document.querySelectorAll('#shapes rect:not(.handle)').length === 1",
    )
    .await;
    draw(&b, (120.0, 100.0), (140.0, 110.0)).await;
    b.chord(&["2"]).await;
    b.wait(
        "the truck label",
        "document.querySelector('#shape-list li').textContent.startsWith('truck')",
    )
    .await;
    b.screenshot("labeling-a-box").await;
    b.chord(&[CONTROL, "s"]).await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    let copy = copy_of(&t, &task, &first, &ann).await;
    assert_eq!(
        boxes(&copy),
        [("truck".to_string(), json!([[20, 30], [140, 110]]))],
        "{copy}"
    );
    assert_eq!(
        (copy["version"].as_i64(), copy["sample_status"].as_str()),
        (Some(1), Some("__UNREVIEWED__")),
        "{copy}"
    );

    // The next picture was fetched ahead; an unsaved box survives a reload, then saves itself.
    b.chord(&["n"]).await;
    b.wait(
        "the second picture",
        &format!("window.__teamlabel.copy.sample_id !== '{first}'"),
    )
    .await;
    let switch_ms = b.eval("return window.__teamlabel.lastSwitchMs;", json!([])).await;
    let second = current_sample(&b).await;
    draw(&b, (10.0, 10.0), (60.0, 40.0)).await;
    b.wait(
        "the draft",
        "Object.keys(localStorage).some((k) => k.startsWith('teamlabel.draft:'))",
    )
    .await;
    b.goto(&format!("http://{}/ui/", t.addr)).await;
    b.wait("my tasks again", "document.querySelector('#task-rows button')")
        .await;
    b.click("#task-rows button").await;
    b.wait(
        "the restored box",
        "document.querySelectorAll('#shape-list li').length === 1",
    )
    .await;
    assert_eq!(current_sample(&b).await, second);
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    let copy = copy_of(&t, &task, &second, &ann).await;
    // Drawn with the label picked last.
    assert_eq!(
        boxes(&copy),
        [("truck".to_string(), json!([[10, 10], [60, 40]]))],
        "{copy}"
    );

    // Rita rejects the first copy: it comes first for Ann, with the reason.
    let rita = token(&t, RITA).await;
    let a = call(
        &t,
        &rita,
        Method::POST,
        &format!("{task}/data-annotations/review"),
        Some(json!({"comments": [{"sample_id": first, "worker_id": ann, "accept": false, "comment": "the truck is cut off"}]})),
    )
    .await;
    assert_eq!(expect(&t, "review", &a, 200)["success"], true);
    b.goto(&format!("http://{}/ui/", t.addr)).await;
    b.wait("my tasks again", "document.querySelector('#task-rows button')")
        .await;
    b.click("#task-rows button").await;
    b.wait(
        "the rejected copy first",
        &format!("window.__teamlabel && window.__teamlabel.copy && window.__teamlabel.copy.sample_id === '{first}'"),
    )
    .await;
    b.wait(
        "the comment",
        "document.getElementById('comment').textContent === 'Rejected: the truck is cut off'",
    )
    .await;
    b.screenshot("a-rejected-copy").await;
    println!("page timings: interactive after {interactive} ms; next sample shown {switch_ms} ms after the key");
}

#[tokio::test]
async fn two_tabs_saving_one_copy_end_in_the_conflict_dialog_not_an_overwrite() {
    let Some(b) = Browser::start("conflict").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let (_, task, ann) = task_for_ann(&t).await;
    open_task(&b, &t, ANN).await;
    let first_tab = b.tab().await;
    let sample = current_sample(&b).await;
    b.new_tab().await;
    open_task(&b, &t, ANN).await;
    let second_tab = b.tab().await;
    assert_eq!(current_sample(&b).await, sample);

    // The first tab saves a car; the second, which read the copy before, a truck.
    b.switch_to(&first_tab).await;
    draw(&b, (20.0, 20.0), (80.0, 60.0)).await;
    b.chord(&[CONTROL, "s"]).await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    b.switch_to(&second_tab).await;
    b.click("#label-list li:nth-child(2)").await;
    draw(&b, (100.0, 50.0), (200.0, 150.0)).await;
    b.chord(&[CONTROL, "s"]).await;
    b.wait("the conflict dialog", "document.getElementById('conflict').open")
        .await;
    let shown = b
        .eval(
            "return [document.getElementById('conflict-mine').textContent, document.getElementById('conflict-stored').textContent];",
            json!([]),
        )
        .await;
    assert!(
        shown[0].as_str().unwrap().contains("truck") && shown[1].as_str().unwrap().contains("car"),
        "{shown}"
    );
    b.screenshot("the-conflict-dialog").await;
    let copy = copy_of(&t, &task, &sample, &ann).await;
    assert_eq!(
        boxes(&copy),
        [("car".to_string(), json!([[20, 20], [80, 60]]))],
        "nothing overwritten: {copy}"
    );

    // Keeping mine writes it over the version it now knows.
    b.click("#keep-mine").await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    let copy = copy_of(&t, &task, &sample, &ann).await;
    assert_eq!(
        boxes(&copy),
        [("truck".to_string(), json!([[100, 50], [200, 150]]))],
        "{copy}"
    );
    assert_eq!(copy["version"], 2, "{copy}");
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_and_sample_bytes_can_run_nothing() {
    let t = spawn("sqlite").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("http://{}/ui/", t.addr)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let etag = page.headers()["etag"].clone();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<script type=\"module\" src=\"/ui/app.js\"></script>") && !html.contains("<script>"),
        "no inline script"
    );
    let again = http.get(format!("http://{}/ui/app.js", t.addr)).send().await.unwrap();
    assert_eq!(again.headers()["content-type"], "text/javascript; charset=utf-8");
    let cached = http
        .get(format!("http://{}/ui/", t.addr))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    // A browser at the root is sent to the page; a Keystone client still gets the versions.
    let browser = http
        .get(format!("http://{}/", t.addr))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            browser.status().as_u16(),
            browser.headers()["location"].to_str().unwrap()
        ),
        (303, "/ui/")
    );
    let keystone = http
        .get(format!("http://{}/", t.addr))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(keystone.status().as_u16(), 300);

    // Sample bytes: for the task's members only, inert wherever they are opened.
    let (ds, task, _) = task_for_ann(&t).await;
    let listed = expect(
        &t,
        "samples",
        &t.get(&format!("/datasets/{ds}/data-annotations/samples")).await,
        200,
    );
    let sample = listed["samples"][0]["sample_id"].as_str().unwrap().to_string();
    let ann = token(&t, ANN).await;
    for path in [
        format!("{task}/data-annotations/samples/{sample}/file"),
        format!("/datasets/{ds}/data-annotations/samples/{sample}/file"),
    ] {
        let who = if path.contains("workforce-tasks") {
            &ann
        } else {
            &t.token
        };
        let a = call(&t, who, Method::GET, &path, None).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert_eq!(a.headers["content-type"], "image/png", "{path}");
        assert_eq!(a.headers["x-content-type-options"], "nosniff", "{path}");
        let policy = a.headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("sandbox") && policy.contains("default-src 'none'"),
            "{path}: {policy}"
        );
    }
    let a = call(
        &t,
        &ann,
        Method::GET,
        &format!("/datasets/{ds}/data-annotations/samples/{sample}/file"),
        None,
    )
    .await;
    assert_eq!(a.status, 403, "the dataset's file route stays the owner's: {}", a.body);
    let a = call(
        &t,
        &ann,
        Method::GET,
        &format!("{task}/data-annotations/samples/{}/file", "0".repeat(32)),
        None,
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.body);
}

#[tokio::test]
async fn an_uploaded_svg_with_a_script_shows_nothing_and_runs_nothing() {
    let Some(b) = Browser::start("svg").await else { return };
    let t = spawn("sqlite").await;
    let ds = t.dataset("files", 900, json!([{"name": "car", "type": 1}])).await;
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" onload="window.top.__pwned = 1"><script>window.top.__pwned = 2; top.document.title = 'pwned'</script><rect width="10" height="10"/></svg>"#;
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(svg);
    t.samples(&ds, json!([{"name": "evil.svg", "data": data, "sample_type": 0}]))
        .await;
    let team = t.post("/workforces", json!({"workforce_name": "svg-team"})).await;
    let team = expect(&t, "team", &team, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    add_member(&t, &team, ANN, 0).await;
    t.app.set_password(&t.project_id, ANN, PASSWORD).await.unwrap();
    let created = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": "svg", "workforces_config": {"workforces": [{"workforce_id": team, "workers": [{"email": ANN}]}]}}),
        )
        .await;
    let task_id = expect(&t, "task", &created, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    expect(
        &t,
        "start",
        &t.post(&format!("/datasets/{ds}/workforce-tasks/{task_id}"), json!({}))
            .await,
        200,
    );

    open_task_until(&b, &t, ANN, "window.__teamlabel && window.__teamlabel.copy").await;
    // The bytes arrive as application/octet-stream with nosniff: the picture stays empty.
    b.wait("the picture tried", "document.getElementById('picture').complete")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let seen = b
        .eval(
            "return [window.__pwned === undefined, document.title, document.getElementById('picture').naturalWidth];",
            json!([]),
        )
        .await;
    assert_eq!(seen, json!([true, "teamlabel", 0]), "the SVG's script must not run");
}

#[tokio::test]
async fn a_text_span_selected_with_the_mouse_gets_its_type_from_a_digit_in_code_points() {
    let Some(b) = Browser::start("entities").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let ds = t
        .dataset(
            "news",
            101,
            json!([{"name": "PER", "type": 101, "property": {"@modelarts:color": "#8e24aa"}},
                   {"name": "LOC", "type": 101, "property": {"@modelarts:color": "#43a047"}}]),
        )
        .await;
    // An emoji is one code point but two UTF-16 units: offsets must count the former.
    let text = "😀 Ann met Bob in Paris.";
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    let ids = t
        .samples(&ds, json!([{"name": "1.txt", "data": data, "sample_type": 1}]))
        .await;
    let team = t.post("/workforces", json!({"workforce_name": "news-team"})).await;
    let team = expect(&t, "team", &team, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ann = add_member(&t, &team, ANN, 0).await;
    t.app.set_password(&t.project_id, ANN, PASSWORD).await.unwrap();
    let created = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": "news", "workforces_config": {"workforces": [{"workforce_id": team, "workers": [{"email": ANN}]}]}}),
        )
        .await;
    let task_id = expect(&t, "task", &created, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = format!("/datasets/{ds}/workforce-tasks/{task_id}");
    expect(&t, "start", &t.post(&task, json!({})).await, 200);

    open_task_until(&b, &t, ANN, "window.__teamlabel && window.__teamlabel.copy && document.getElementById('text-body').textContent.includes('Paris')").await;
    // Drag the mouse across "Paris".
    let r = b
        .eval(
            "const body = document.getElementById('text-body'); const node = body.firstChild;
             const at = node.textContent.indexOf('Paris'); const range = document.createRange();
             range.setStart(node, at); range.setEnd(node, at + 5); const r = range.getBoundingClientRect();
             return [r.left, r.right, (r.top + r.bottom) / 2];",
            json!([]),
        )
        .await;
    let (left, right, y) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap(), r[2].as_f64().unwrap());
    b.drag((left + 1.0, y), (right - 1.0, y), 4).await;
    b.wait("a selection", "window.getSelection().toString() === 'Paris'")
        .await;
    b.chord(&["2"]).await;
    b.wait("the LOC span", "document.querySelector('#text-body mark') && document.querySelector('#text-body mark').textContent === 'Paris'").await;
    b.screenshot("a-named-entity").await;
    b.chord(&[CONTROL, "s"]).await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    let copy = copy_of(&t, &task, &ids[0], &ann).await;
    let start = text.chars().position(|c| c == 'P').unwrap();
    assert_eq!(
        copy["labels"],
        json!([{"name": "LOC", "type": 101, "property": {"@modelarts:start_index": start, "@modelarts:end_index": start + 5}}]),
        "{copy}"
    );
}

#[tokio::test]
async fn a_reviewer_passes_with_a_score_and_rejects_with_a_comment_one_key_each() {
    let Some(b) = Browser::start("review").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let (_, task, ann) = task_for_ann(&t).await;
    let ann_token = token(&t, ANN).await;
    let mine = call(
        &t,
        &ann_token,
        Method::GET,
        &format!("{task}/data-annotations/samples?limit=10"),
        None,
    )
    .await;
    let samples: Vec<String> = mine.body["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sample_id"].as_str().unwrap().to_string())
        .collect();
    let items: Vec<Value> = samples[..2]
        .iter()
        .map(|s| json!({"sample_id": s, "labels": [{"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[5, 5], [50, 40]]}}]}))
        .collect();
    let a = call(
        &t,
        &ann_token,
        Method::PUT,
        &format!("{task}/data-annotations/samples"),
        Some(json!({"samples": items})),
    )
    .await;
    assert_eq!(expect(&t, "label", &a, 200)["success"], true);

    open_task(&b, &t, RITA).await;
    b.wait(
        "the copy's author",
        "document.getElementById('review-who').textContent === 'Copy by ann@example.com'",
    )
    .await;
    b.wait(
        "the box under review",
        "document.querySelectorAll('#shapes rect').length === 1",
    )
    .await;
    b.screenshot("reviewing-a-copy").await;
    let first = current_sample(&b).await;
    b.chord(&["2"]).await;
    b.wait(
        "the next copy",
        &format!("window.__teamlabel.copy.sample_id !== '{first}'"),
    )
    .await;
    let second = current_sample(&b).await;
    b.chord(&["r"]).await;
    b.wait("the reason", "document.getElementById('reject-dialog').open")
        .await;
    b.type_into("#reject-comment", "the box misses the mirror").await;
    b.click("#reject-form button[type=submit]").await;
    b.wait("nothing left", "!document.getElementById('empty').hidden").await;

    let passed = copy_of(&t, &task, &first, &ann).await;
    assert_eq!(
        (
            &passed["review_accept"],
            &passed["review_score"],
            &passed["sample_status"]
        ),
        (&json!(true), &json!("B"), &json!("__UNCHECK__")),
        "{passed}"
    );
    let rejected = copy_of(&t, &task, &second, &ann).await;
    assert_eq!(
        (
            &rejected["review_accept"],
            &rejected["review_comment"],
            &rejected["sample_status"]
        ),
        (
            &json!(false),
            &json!("the box misses the mirror"),
            &json!("__REJECTED__")
        ),
        "{rejected}"
    );
}

#[tokio::test]
async fn one_of_five_hundred_boxes_drags_with_every_frame_drawn_and_saves_alone() {
    let Some(b) = Browser::start("many-boxes").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let (_, task, ann) = task_for_ann(&t).await;
    let ann_token = token(&t, ANN).await;
    let mine = call(
        &t,
        &ann_token,
        Method::GET,
        &format!("{task}/data-annotations/samples?limit=1"),
        None,
    )
    .await;
    let sample = mine.body["samples"][0]["sample_id"].as_str().unwrap().to_string();
    // A 25 x 20 grid of 5 x 5 boxes over the whole picture.
    let grid: Vec<Value> = (0..500)
        .map(|i| {
            let (x, y) = (1 + (i % 25) * 9, 1 + (i / 25) * 8);
            json!({"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[x, y], [x + 5, y + 5]]}})
        })
        .collect();
    let a = call(
        &t,
        &ann_token,
        Method::PUT,
        &format!("{task}/data-annotations/samples"),
        Some(json!({"samples": [{"sample_id": sample, "labels": grid}]})),
    )
    .await;
    assert_eq!(expect(&t, "500 boxes", &a, 200)["success"], true);
    // Rita sends it back: first in Ann's queue, with its 500 boxes.
    let rita = token(&t, RITA).await;
    let a = call(
        &t,
        &rita,
        Method::POST,
        &format!("{task}/data-annotations/review"),
        Some(json!({"comments": [{"sample_id": sample, "worker_id": ann, "accept": false, "comment": "one box is off"}]})),
    )
    .await;
    assert_eq!(expect(&t, "review", &a, 200)["success"], true);
    open_task(&b, &t, ANN).await;
    b.wait("500 boxes", "document.querySelectorAll('#shapes rect').length === 500")
        .await;
    assert_eq!(current_sample(&b).await, sample);
    b.eval(
        "Object.assign(window.__teamlabel, {maxRenderMs: 0, renders: 0, maxMoveMs: 0, moves: 0});",
        json!([]),
    )
    .await;
    let started = std::time::Instant::now();
    draw(&b, (3.0, 3.0), (100.0, 80.0)).await;
    let wall = started.elapsed();
    let m = b
        .eval(
            "const m = window.__teamlabel; return [m.moves, m.maxMoveMs, m.renders, m.maxRenderMs];",
            json!([]),
        )
        .await;
    b.chord(&[CONTROL, "s"]).await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    let copy = copy_of(&t, &task, &sample, &ann).await;
    let placed = boxes(&copy);
    assert_eq!(placed.len(), 500);
    assert_eq!(
        placed[0].1,
        json!([[98, 78], [103, 83]]),
        "the dragged box moved by (97, 77)"
    );
    assert_eq!(placed[499].1, json!([[217, 153], [222, 158]]), "the others stayed");
    assert!(m[0].as_u64().unwrap() >= 3, "the box was redrawn as it moved: {m}");
    println!(
        "500 boxes: a drag of {} ms moved the box {} times, the slowest redraw {:.2} ms; {} full renders (select, drop), the slowest {:.1} ms",
        wall.as_millis(),
        m[0],
        m[1].as_f64().unwrap(),
        m[2],
        m[3].as_f64().unwrap()
    );
}

#[tokio::test]
async fn polygons_close_with_enter_lose_their_last_vertex_with_backspace_and_points_take_a_click() {
    let Some(b) = Browser::start("polygons").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let (_, task, ann) = task_for_ann(&t).await;
    open_task(&b, &t, ANN).await;
    let sample = current_sample(&b).await;
    b.chord(&["g"]).await;
    for (x, y) in [(10.0, 10.0), (100.0, 20.0), (60.0, 90.0), (5.0, 150.0)] {
        let p = at(&b, x, y).await;
        b.drag(p, p, 1).await;
    }
    b.chord(&["\u{E003}"]).await; // Backspace: the fourth vertex goes.
    b.chord(&["\u{E007}"]).await; // Enter: the polygon closes.
    b.wait(
        "the polygon",
        "document.querySelectorAll('#shapes polygon').length === 1",
    )
    .await;
    b.chord(&["o"]).await;
    let p = at(&b, 200.0, 120.0).await;
    b.drag(p, p, 1).await;
    b.wait("the point", "document.querySelectorAll('#shapes circle').length === 1")
        .await;
    b.chord(&[CONTROL, "s"]).await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    let copy = copy_of(&t, &task, &sample, &ann).await;
    assert_eq!(
        boxes(&copy),
        [
            ("car".to_string(), json!([[10, 10], [100, 20], [60, 90]])),
            ("car".to_string(), json!([[200, 120]]))
        ],
        "{copy}"
    );
    let shapes: Vec<&str> = copy["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["property"]["@modelarts:shape"].as_str().unwrap())
        .collect();
    assert_eq!(shapes, ["polygon", "point"]);
}

#[tokio::test]
async fn the_owner_follows_members_and_runs_an_acceptance_round_from_the_page() {
    let Some(b) = Browser::start("owner").await else { return };
    let t = spawn("sqlite").await;
    let (ds, task, ann) = task_for_ann(&t).await;
    let ann_token = token(&t, ANN).await;
    let rita = token(&t, RITA).await;
    let mine = call(
        &t,
        &ann_token,
        Method::GET,
        &format!("{task}/data-annotations/samples?limit=10"),
        None,
    )
    .await;
    let samples: Vec<String> = mine.body["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sample_id"].as_str().unwrap().to_string())
        .collect();
    let items: Vec<Value> = samples[..2]
        .iter()
        .map(|s| json!({"sample_id": s, "labels": [{"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[5, 5], [50, 40]]}}]}))
        .collect();
    let a = call(
        &t,
        &ann_token,
        Method::PUT,
        &format!("{task}/data-annotations/samples"),
        Some(json!({"samples": items})),
    )
    .await;
    assert_eq!(expect(&t, "label", &a, 200)["success"], true);
    let verdicts: Vec<Value> = samples[..2]
        .iter()
        .map(|s| json!({"sample_id": s, "worker_id": ann, "accept": true}))
        .collect();
    let a = call(
        &t,
        &rita,
        Method::POST,
        &format!("{task}/data-annotations/review"),
        Some(json!({"comments": verdicts})),
    )
    .await;
    assert_eq!(expect(&t, "review", &a, 200)["success"], true);
    t.app
        .set_password(&t.project_id, "owner@example.com", PASSWORD)
        .await
        .unwrap();

    b.goto(&format!("http://{}/ui/", t.addr)).await;
    b.wait("the sign-in form", "!document.getElementById('sign-in').hidden")
        .await;
    b.type_into("#sign-in-form input[name=email]", "owner@example.com")
        .await;
    b.type_into("#sign-in-form input[name=password]", PASSWORD).await;
    b.type_into("#sign-in-form input[name=project]", "test").await;
    b.click("#sign-in-form button[type=submit]").await;
    b.wait("the project's tasks", "document.querySelector('#project-rows button')")
        .await;
    b.click("#project-rows button").await;
    b.wait(
        "Ann's progress",
        "[...document.querySelectorAll('#member-rows tr')].some((r) => r.textContent.startsWith('ann@example.com'))",
    )
    .await;
    let ann_row = b
        .eval(
            "return [...[...document.querySelectorAll('#member-rows tr')].find((r) => r.textContent.startsWith('ann@example.com')).cells].map((c) => c.textContent);",
            json!([]),
        )
        .await;
    assert_eq!(
        ann_row,
        json!(["ann@example.com", "labeler", "3", "1", "0", "2", "0", "0"])
    );
    b.type_into("#sampling-rate", "100").await;
    b.click("#start-round").await;
    b.wait("the open round", "!document.getElementById('round-open').hidden")
        .await;
    b.wait(
        "the draw",
        "document.getElementById('round-report').textContent.startsWith('Drawn 2 of 2')",
    )
    .await;
    b.screenshot("an-acceptance-round").await;
    b.click("#check-round").await;
    b.wait(
        "a drawn copy",
        "window.__teamlabel && window.__teamlabel.copy && document.getElementById('picture').naturalWidth > 0",
    )
    .await;
    let first = current_sample(&b).await;
    b.chord(&["1"]).await;
    b.wait(
        "the next drawn copy",
        &format!("window.__teamlabel.copy.sample_id !== '{first}'"),
    )
    .await;
    b.chord(&["r"]).await;
    b.wait("the reason", "document.getElementById('reject-dialog').open")
        .await;
    b.type_into("#reject-comment", "the box is too small").await;
    b.click("#reject-form button[type=submit]").await;
    b.wait("nothing left to judge", "!document.getElementById('empty').hidden")
        .await;
    b.click("#back").await;
    b.wait(
        "the report",
        "document.getElementById('round-report').textContent.includes('judged 2 (passed 1, rejected 1)')",
    )
    .await;
    b.click("#close-round").await;
    b.wait("the closed round", "!document.getElementById('round-closed').hidden")
        .await;

    let accepted = t.get(&format!("/datasets/{ds}/data-annotations/samples/{first}")).await;
    let accepted = expect(&t, "the accepted sample", &accepted, 200);
    assert_eq!(
        accepted["labels"][0]["name"], "car",
        "the passed copy's labels are in the dataset: {accepted}"
    );
    let copy = copy_of(&t, &task, &first, &ann).await;
    assert_eq!(copy["sample_status"], "__ACCEPTED__", "{copy}");
}

/// `seconds` of silence as a 8 kHz, 16-bit, mono WAV file.
fn wav(seconds: u32) -> Vec<u8> {
    let data_len = 8000 * 2 * seconds;
    let mut w = Vec::new();
    w.extend(b"RIFF");
    w.extend((36 + data_len).to_le_bytes());
    w.extend(b"WAVEfmt ");
    w.extend(16u32.to_le_bytes());
    w.extend(1u16.to_le_bytes()); // PCM
    w.extend(1u16.to_le_bytes()); // mono
    w.extend(8000u32.to_le_bytes());
    w.extend(16000u32.to_le_bytes());
    w.extend(2u16.to_le_bytes());
    w.extend(16u16.to_le_bytes());
    w.extend(b"data");
    w.extend(data_len.to_le_bytes());
    w.extend(std::iter::repeat_n(0u8, data_len as usize));
    w
}

#[tokio::test]
async fn a_speech_segment_is_marked_with_brackets_and_labeled_with_a_digit() {
    let Some(b) = Browser::start("speech").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let ds = t
        .dataset(
            "calls",
            202,
            json!([{"name": "agent", "type": 202}, {"name": "caller", "type": 202}]),
        )
        .await;
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(wav(2));
    let ids = t
        .samples(&ds, json!([{"name": "1.wav", "data": data, "sample_type": 2}]))
        .await;
    let team = t.post("/workforces", json!({"workforce_name": "call-team"})).await;
    let team = expect(&t, "team", &team, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ann = add_member(&t, &team, ANN, 0).await;
    t.app.set_password(&t.project_id, ANN, PASSWORD).await.unwrap();
    let created = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": "calls", "workforces_config": {"workforces": [{"workforce_id": team, "workers": [{"email": ANN}]}]}}),
        )
        .await;
    let task_id = expect(&t, "task", &created, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = format!("/datasets/{ds}/workforce-tasks/{task_id}");
    expect(&t, "start", &t.post(&task, json!({})).await, 200);

    open_task_until(
        &b,
        &t,
        ANN,
        "window.__teamlabel && window.__teamlabel.copy && document.getElementById('player').duration > 1.9",
    )
    .await;
    b.eval("document.getElementById('player').currentTime = 0.5;", json!([]))
        .await;
    b.wait(
        "the start position",
        "Math.abs(document.getElementById('player').currentTime - 0.5) < 0.001",
    )
    .await;
    b.chord(&["["]).await;
    b.eval("document.getElementById('player').currentTime = 1.25;", json!([]))
        .await;
    b.wait(
        "the end position",
        "Math.abs(document.getElementById('player').currentTime - 1.25) < 0.001",
    )
    .await;
    b.chord(&["]"]).await;
    b.chord(&["2"]).await;
    b.wait("the segment", "document.querySelector('#shape-list li') && document.querySelector('#shape-list li').textContent.startsWith('caller')").await;
    b.chord(&[CONTROL, "s"]).await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    let copy = copy_of(&t, &task, &ids[0], &ann).await;
    assert_eq!(
        copy["labels"],
        json!([{"name": "caller", "type": 202, "property": {"@modelarts:start_time": "00:00:00.500", "@modelarts:end_time": "00:00:01.250"}}]),
        "{copy}"
    );
}

#[tokio::test]
async fn a_triplet_links_two_entities_marked_by_keyboard_and_by_mouse() {
    let Some(b) = Browser::start("triplets").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let ds = t
        .dataset(
            "relations",
            102,
            json!([{"name": "PER", "type": 103}, {"name": "ORG", "type": 103}, {"name": "works_at", "type": 102, "property": {"@modelarts:from_type": "PER", "@modelarts:to_type": "ORG"}}]),
        )
        .await;
    let text = "Ann works at Acme.";
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    let ids = t
        .samples(&ds, json!([{"name": "1.txt", "data": data, "sample_type": 1}]))
        .await;
    let team = t.post("/workforces", json!({"workforce_name": "triplet-team"})).await;
    let team = expect(&t, "team", &team, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ann = add_member(&t, &team, ANN, 0).await;
    t.app.set_password(&t.project_id, ANN, PASSWORD).await.unwrap();
    let created = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({"task_name": "relations", "workforces_config": {"workforces": [{"workforce_id": team, "workers": [{"email": ANN}]}]}}),
        )
        .await;
    let task_id = expect(&t, "task", &created, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = format!("/datasets/{ds}/workforce-tasks/{task_id}");
    expect(&t, "start", &t.post(&task, json!({})).await, 200);

    open_task_until(&b, &t, ANN, "window.__teamlabel && window.__teamlabel.copy && document.getElementById('text-body').textContent.includes('Acme')").await;
    // Select a word of the text as it is drawn now, by mouse.
    let select = |word: &'static str| {
        format!(
            "const body = document.getElementById('text-body');
             const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
             let node; while ((node = walker.nextNode()) && !node.textContent.includes('{word}')) {{}}
             const at = node.textContent.indexOf('{word}'); const range = document.createRange();
             range.setStart(node, at); range.setEnd(node, at + {len}); const r = range.getBoundingClientRect();
             return [r.left, r.right, (r.top + r.bottom) / 2];",
            len = word.len()
        )
    };
    // "Ann" from the keyboard: Shift+Right three times from the start of the text.
    for _ in 0..3 {
        b.chord(&["\u{E008}", "\u{E014}"]).await;
    }
    b.wait("a keyboard selection", "window.getSelection().toString() === 'Ann'")
        .await;
    b.chord(&["1"]).await;
    // "Acme" by mouse.
    let r = b.eval(&select("Acme"), json!([])).await;
    let (left, right, y) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap(), r[2].as_f64().unwrap());
    b.drag((left + 1.0, y), (right - 1.0, y), 4).await;
    b.wait("a selection", "window.getSelection().toString() === 'Acme'")
        .await;
    b.chord(&["2"]).await;
    b.wait(
        "two entities",
        "document.querySelectorAll('#text-body mark').length === 2",
    )
    .await;
    // Select Ann, press the relationship's digit, click Acme.
    b.click("#text-body mark:nth-of-type(1)").await;
    b.chord(&["3"]).await;
    b.click("#text-body mark:nth-of-type(2)").await;
    b.wait(
        "the relationship",
        "[...document.querySelectorAll('#shape-list li')].some((li) => li.textContent === 'works_at: Ann → Acme')",
    )
    .await;
    b.chord(&[CONTROL, "s"]).await;
    b.wait("saved", "document.getElementById('save-state').textContent === 'saved'")
        .await;
    let copy = copy_of(&t, &task, &ids[0], &ann).await;
    assert_eq!(
        copy["labels"],
        json!([
            {"id": "E1", "name": "PER", "type": 103, "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 3}},
            {"id": "E2", "name": "ORG", "type": 103, "property": {"@modelarts:start_index": 13, "@modelarts:end_index": 17}},
            {"id": "R1", "name": "works_at", "type": 102, "property": {"@modelarts:from": "E1", "@modelarts:to": "E2"}}
        ]),
        "{copy}"
    );
}

#[tokio::test]
async fn a_change_made_offline_is_saved_when_the_network_returns_and_keys_can_be_remapped() {
    let Some(b) = Browser::start("offline").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let (_, task, ann) = task_for_ann(&t).await;
    open_task(&b, &t, ANN).await;
    let sample = current_sample(&b).await;
    b.offline(true).await;
    draw(&b, (30.0, 40.0), (90.0, 100.0)).await;
    b.wait(
        "offline",
        "document.getElementById('save-state').textContent === 'offline, retrying'",
    )
    .await;
    b.offline(false).await;
    b.wait(
        "saved after the network came back",
        "document.getElementById('save-state').textContent === 'saved'",
    )
    .await;
    let copy = copy_of(&t, &task, &sample, &ann).await;
    assert_eq!(
        boxes(&copy),
        [("car".to_string(), json!([[30, 40], [90, 100]]))],
        "{copy}"
    );
    assert_eq!(copy["version"], 1, "written once: {copy}");

    // "Next sample" moves to J: the old key does nothing, the new one moves on.
    b.chord(&["?"]).await;
    b.wait("the shortcuts", "document.getElementById('help').open").await;
    b.eval(
        "[...document.querySelectorAll('#help-table tr')].find((r) => r.cells[1].textContent === 'Next sample').cells[0].click();",
        json!([]),
    )
    .await;
    b.chord(&["j"]).await;
    b.wait("the new key", "[...document.querySelectorAll('#help-table tr')].some((r) => r.cells[0].textContent === 'j' && r.cells[1].textContent === 'Next sample')").await;
    b.click("#help-close").await;
    b.chord(&["n"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(current_sample(&b).await, sample, "n no longer moves on");
    b.chord(&["j"]).await;
    b.wait(
        "the next sample",
        &format!("window.__teamlabel.copy.sample_id !== '{sample}'"),
    )
    .await;
}

#[tokio::test]
async fn a_locked_account_is_told_when_to_try_again() {
    let Some(b) = Browser::start("locked").await else {
        return;
    };
    let t = spawn("sqlite").await;
    task_for_ann(&t).await;
    b.goto(&format!("http://{}/ui/", t.addr)).await;
    b.wait("the sign-in form", "!document.getElementById('sign-in').hidden")
        .await;
    for _ in 0..6 {
        b.type_into("#sign-in-form input[name=email]", ANN).await;
        b.type_into("#sign-in-form input[name=password]", "not the password")
            .await;
        b.type_into("#sign-in-form input[name=project]", "test").await;
        b.eval("document.getElementById('sign-in-error').textContent = '';", json!([]))
            .await;
        b.click("#sign-in-form button[type=submit]").await;
        b.wait(
            "an answer",
            "document.getElementById('sign-in-error').textContent !== ''",
        )
        .await;
    }
    let said = b
        .eval(
            "return document.getElementById('sign-in-error').textContent;",
            json!([]),
        )
        .await;
    let said = said.as_str().unwrap();
    assert!(said.contains("Try again in") && said.contains("minute"), "{said}");
}
