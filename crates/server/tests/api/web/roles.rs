//! The other roles: a reviewer's verdicts from the keyboard, the owner's acceptance round, and a
//! locked account told when to try again.

use serde_json::{json, Value};
use teamlabel_client::Method;

use super::*;
use crate::browser::Browser;

#[tokio::test]
async fn a_reviewer_passes_with_a_score_and_rejects_with_a_comment_one_key_each() {
    let Some(b) = Browser::start("review").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let (_, task, ann) = task_for_ann(&t).await;
    let ann_token = token(&t, ANN).await;
    let samples = samples_of(&t, &ann_token, &task).await;
    let items: Vec<Value> = samples[..2]
        .iter()
        .map(|s| json!({"sample_id": s, "labels": [{"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[5, 5], [50, 40]]}}]}))
        .collect();
    label_by_api(&t, &ann_token, &task, json!(items)).await;

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
async fn the_owner_follows_members_and_runs_an_acceptance_round_from_the_page() {
    let Some(b) = Browser::start("owner").await else { return };
    let t = spawn("sqlite").await;
    let (ds, task, ann) = task_for_ann(&t).await;
    let ann_token = token(&t, ANN).await;
    let rita = token(&t, RITA).await;
    let samples = samples_of(&t, &ann_token, &task).await;
    let items: Vec<Value> = samples[..2]
        .iter()
        .map(|s| json!({"sample_id": s, "labels": [{"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[5, 5], [50, 40]]}}]}))
        .collect();
    label_by_api(&t, &ann_token, &task, json!(items)).await;
    let verdicts: Vec<Value> = samples[..2]
        .iter()
        .map(|s| json!({"sample_id": s, "worker_id": ann, "accept": true}))
        .collect();
    review_by_api(&t, &rita, &task, json!(verdicts)).await;
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

#[tokio::test]
async fn a_reviewer_sees_the_other_labelers_copy_of_the_sample_beside_the_one_judged() {
    let Some(b) = Browser::start("side-by-side").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let ds = t.dataset("pairs", 1, json!([{"name": "car", "type": 1}])).await;
    t.samples(&ds, json!([{"name": "0.png", "data": png_b64(240, 160)}]))
        .await;
    let (task, _) = started_task(&t, &ds, &[(ANN, 0), ("bob@example.com", 0), (RITA, 1)], 2).await;
    for (who, x) in [(ANN, 10), ("bob@example.com", 100)] {
        let tok = token(&t, who).await;
        let mine = call(&t, &tok, Method::GET, &format!("{task}/data-annotations/samples"), None).await;
        let sample = mine.body["samples"][0]["sample_id"].as_str().unwrap().to_string();
        let item = json!({"sample_id": sample, "labels": [{"name": "car", "type": 1,
            "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[x, 10], [x + 50, 60]]}}]});
        label_by_api(&t, &tok, &task, json!([item])).await;
    }
    open_task(&b, &t, RITA).await;
    b.wait("both copies on the picture", "document.querySelectorAll('#shapes rect.other').length === 1 && document.querySelectorAll('#shapes rect:not(.other)').length === 1").await;
    let others = b
        .eval("return document.getElementById('others').textContent;", json!([]))
        .await;
    let judged = b
        .eval("return document.getElementById('review-who').textContent;", json!([]))
        .await;
    let (judged, others) = (judged.as_str().unwrap(), others.as_str().unwrap());
    assert!(
        (judged.contains(ANN) && others.contains("bob@example.com"))
            || (judged.contains("bob@example.com") && others.contains(ANN)),
        "{judged} / {others}"
    );
    b.screenshot("two-copies-side-by-side").await;
}
