//! Pictures: boxes drawn, resized, labeled and saved to the exact pixel; a draft that survives a
//! reload; two tabs ending in the conflict dialog; polygons and points; one of 500 boxes dragged;
//! a change made offline saved when the network returns; shortcuts remapped.

use serde_json::{json, Value};

use super::*;
use crate::browser::{Browser, CONTROL};

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
    save(&b).await;
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
    review_by_api(
        &t,
        &rita,
        &task,
        json!([{"sample_id": first, "worker_id": ann, "accept": false, "comment": "the truck is cut off"}]),
    )
    .await;
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
    save(&b).await;
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
async fn one_of_five_hundred_boxes_drags_with_every_frame_drawn_and_saves_alone() {
    let Some(b) = Browser::start("many-boxes").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let (_, task, ann) = task_for_ann(&t).await;
    let ann_token = token(&t, ANN).await;
    let sample = samples_of(&t, &ann_token, &task).await[0].clone();
    // A 25 x 20 grid of 5 x 5 boxes over the whole picture.
    let grid: Vec<Value> = (0..500)
        .map(|i| {
            let (x, y) = (1 + (i % 25) * 9, 1 + (i / 25) * 8);
            json!({"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[x, y], [x + 5, y + 5]]}})
        })
        .collect();
    label_by_api(&t, &ann_token, &task, json!([{"sample_id": sample, "labels": grid}])).await;
    // Rita sends it back: first in Ann's queue, with its 500 boxes.
    let rita = token(&t, RITA).await;
    review_by_api(
        &t,
        &rita,
        &task,
        json!([{"sample_id": sample, "worker_id": ann, "accept": false, "comment": "one box is off"}]),
    )
    .await;
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
    save(&b).await;
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
async fn polygons_points_circles_and_lines_are_drawn_from_the_keyboard_tools() {
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
    b.wait(
        "the point",
        "document.querySelectorAll('#shapes circle.point').length === 1",
    )
    .await;
    // A circle dragged out from its centre, and a line from end to end.
    b.chord(&["c"]).await;
    draw(&b, (120.0, 80.0), (150.0, 80.0)).await;
    b.chord(&["l"]).await;
    draw(&b, (10.0, 150.0), (60.0, 150.0)).await;
    b.wait("the circle and the line", "document.querySelectorAll('#shapes circle:not(.point)').length === 1 && document.querySelectorAll('#shapes polyline.stroke-only').length === 1").await;
    save(&b).await;
    let copy = copy_of(&t, &task, &sample, &ann).await;
    assert_eq!(
        boxes(&copy),
        [
            ("car".to_string(), json!([[10, 10], [100, 20], [60, 90]])),
            ("car".to_string(), json!([[200, 120]])),
            ("car".to_string(), json!([[120, 80], [30]])),
            ("car".to_string(), json!([[10, 150], [60, 150]]))
        ],
        "{copy}"
    );
    let shapes: Vec<&str> = copy["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["property"]["@modelarts:shape"].as_str().unwrap())
        .collect();
    assert_eq!(shapes, ["polygon", "point", "circle", "line"]);
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
async fn a_digit_gives_a_picture_its_one_class_and_shift_adds_more() {
    let Some(b) = Browser::start("classes").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let ds = t
        .dataset("pets", 0, json!([{"name": "cat"}, {"name": "dog"}, {"name": "bird"}]))
        .await;
    let ids = t
        .samples(&ds, json!([{"name": "0.png", "data": png_b64(64, 48)}]))
        .await;
    let (task, workers) = started_task(&t, &ds, &[(ANN, 0)], 1).await;
    let ann = &workers[0];
    open_task(&b, &t, ANN).await;
    let on = "[...document.querySelectorAll('#label-list li.on')].map((li) => li.dataset.label).join(',')";
    b.chord(&["1"]).await;
    b.wait("cat", &format!("{on} === 'cat'")).await;
    b.chord(&["2"]).await;
    b.wait("dog instead", &format!("{on} === 'dog'")).await;
    b.chord(&["\u{E008}", "3"]).await;
    b.wait("dog and bird", &format!("{on} === 'dog,bird'")).await;
    save(&b).await;
    let copy = copy_of(&t, &task, &ids[0], ann).await;
    let names: Vec<&str> = copy["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dog", "bird"], "{copy}");
}
