//! Every closing action from the same starting state: four samples with one copy each
//! (repetition 1, no reviewer), all drawn; the owner passed s0 and rejected s1, s2 and s3 are not
//! judged; the dataset already labels s2 (`cat`) where the team says `dog`. Each row asserts
//! every copy's final state, the dataset's labels and the task status. Then conflicts across
//! labelers (repetition 2): held back by action 0, listed by action 3, settled by the owner.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{class, setup, Fx};
use crate::helpers::{expect, TestApp};

const A: &str = "__ACCEPTED__";
const R: &str = "__REJECTED__";
const U: &str = "__UNCHECK__";

/// The starting state; answers the samples in order (s0..s3).
async fn start_state<'t>(t: &'t TestApp) -> (Fx<'t>, Vec<String>) {
    let fx = setup(t, 4, 1, false).await;
    let s = fx.samples.clone();
    let copies = fx.copies().await;
    let team_labels = ["cat", "cat", "dog", "dog"];
    for (who, worker) in [(&fx.ann, &fx.ann_id), (&fx.bob, &fx.bob_id)] {
        let items: Vec<Value> = copies
            .iter()
            .filter(|c| c.worker == *worker)
            .map(|c| {
                let i = s.iter().position(|id| *id == c.sample).unwrap();
                json!({"sample_id": c.sample, "labels": class(team_labels[i])})
            })
            .collect();
        fx.label_ok(who, Value::Array(items)).await;
    }
    let pre = t
        .put(
            &format!("/datasets/{}/data-annotations/samples", fx.ds),
            json!({"samples": [{"sample_id": s[2], "labels": class("cat")}]}),
        )
        .await;
    assert_eq!(expect(t, "pre-label s2", &pre, 200)["success"], true);
    let a = fx.start(fx.owner(), json!({"sampling_rate": 1.0})).await;
    expect(t, "start", &a, 200);
    let worker_of = |i: usize| copies.iter().find(|c| c.sample == s[i]).unwrap().worker.clone();
    let a = fx
        .judge(
            fx.owner(),
            json!([
                {"sample_id": s[0], "worker_id": worker_of(0), "accept": true, "score": "A"},
                {"sample_id": s[1], "accept": false, "comment": "not a cat"}
            ]),
        )
        .await;
    assert_eq!(expect(t, "judge", &a, 200)["success"], true, "{}", a.body);
    (fx, s)
}

/// (action, overwrite, copy states s0..s3, dataset labels s0..s3, task status)
type Outcome<'a> = (i64, bool, [&'a str; 4], [&'a Vec<String>; 4], i64);

#[tokio::test]
async fn each_action_decides_every_copy_and_the_dataset_as_the_table_says() {
    let no: Vec<String> = Vec::new();
    let cat = vec!["cat".to_string()];
    let dog = vec!["dog".to_string()];
    #[rustfmt::skip]
    let rows: Vec<Outcome> = vec![
        (0, false, [A, A, A, A], [&cat, &cat, &cat, &dog], 3),
        (1, false, [R, R, R, R], [&no, &no, &cat, &no], 4),
        (2, false, [U, U, U, U], [&no, &no, &cat, &no], 1),
        (4, true, [A, R, A, A], [&cat, &no, &dog, &dog], 1),
        (5, false, [A, R, R, R], [&cat, &no, &cat, &no], 1),
    ];
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        for (act, overwrite, states, labels, status) in &rows {
            let (fx, s) = start_state(&t).await;
            let a = fx
                .close(
                    fx.owner(),
                    "",
                    json!({"action": act, "overwrite_last_result": overwrite}),
                )
                .await;
            let body = expect(&t, &format!("action {act}"), &a, 200);
            let got: Vec<String> = {
                let all = fx.copies().await;
                s.iter()
                    .map(|id| all.iter().find(|c| c.sample == *id).unwrap().state.clone())
                    .collect()
            };
            assert_eq!(got, states.to_vec(), "{b}: action {act}: {body}");
            let want: BTreeMap<String, Vec<String>> =
                s.iter().cloned().zip(labels.iter().map(|l| (*l).clone())).collect();
            assert_eq!(fx.dataset_labels().await, want, "{b}: action {act}");
            assert_eq!(fx.task_status().await, *status, "{b}: action {act}");
            // The round is over: a second close has nothing to close.
            let again = fx.close(fx.owner(), "", json!({"action": 0})).await;
            assert_eq!(
                (again.status, again.code()),
                (400, "ModelArts.4612"),
                "{b}: action {act}"
            );
        }

        // Action 3 lists conflicts (none with one copy per sample) and changes nothing.
        let (fx, _) = start_state(&t).await;
        let before = fx.states().await;
        let a = fx.close(fx.owner(), "?locale=zh-cn", json!({"action": 3})).await;
        let body = expect(&t, "action 3", &a, 200);
        assert_eq!(
            (&body["sample_count"], &body["samples"]),
            (&json!(0), &json!([])),
            "{b}: {body}"
        );
        assert_eq!(fx.states().await, before, "{b}: action 3 changed a copy");
        assert_eq!(fx.task_status().await, 2, "{b}");
        // The answer's message follows the locale.
        let a = fx.close(fx.owner(), "?locale=zh-cn", json!({"action": 0})).await;
        let body = expect(&t, "action 0 in Chinese", &a, 200);
        assert!(
            body["result"]["message"].as_str().unwrap().starts_with("验收完成"),
            "{b}: {body}"
        );
    }
}

#[tokio::test]
async fn copies_that_conflict_are_held_back_listed_and_settled_by_the_owner() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let fx = setup(&t, 2, 2, false).await;
        let s = fx.samples.clone();
        // s0: both say cat; s1: Ann cat, Bob dog.
        fx.label_ok(
            &fx.ann,
            json!([{"sample_id": s[0], "labels": class("cat")}, {"sample_id": s[1], "labels": class("cat")}]),
        )
        .await;
        fx.label_ok(
            &fx.bob,
            json!([{"sample_id": s[0], "labels": class("cat")}, {"sample_id": s[1], "labels": class("dog")}]),
        )
        .await;

        // Round 1, everything passes: s0 is accepted, s1 is held back, not merged silently.
        expect(
            &t,
            "start",
            &fx.start(fx.owner(), json!({"sampling_num": 1})).await,
            200,
        );
        let a = fx.close(fx.owner(), "", json!({"action": 0})).await;
        let body = expect(&t, "action 0", &a, 200);
        assert_eq!(
            (
                &body["result"]["accepted_copy_count"],
                &body["result"]["conflict_copy_count"],
                &body["result"]["synced_sample_count"]
            ),
            (&json!(2), &json!(2), &json!(1)),
            "{b}: {body}"
        );
        let labels = fx.dataset_labels().await;
        assert_eq!(
            (labels[&s[0]].clone(), labels[&s[1]].clone()),
            (vec!["cat".to_string()], vec![]),
            "{b}"
        );
        let held: Vec<String> = fx
            .copies_in("__UNCHECK__")
            .await
            .into_iter()
            .map(|c| c.sample)
            .collect();
        assert_eq!(held, vec![s[1].clone(), s[1].clone()], "{b}");
        assert_eq!(fx.task_status().await, 1, "{b}");

        // Round 2: action 3 lists both copies of s1 with each labeler's labels.
        expect(
            &t,
            "start again",
            &fx.start(fx.owner(), json!({"sampling_rate": 1.0})).await,
            200,
        );
        let a = fx.close(fx.owner(), "", json!({"action": 3})).await;
        let body = expect(&t, "action 3", &a, 200);
        assert_eq!(body["sample_count"], 2, "{b}: {body}");
        let listed: Vec<(String, String)> = body["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["sample_id"].as_str().unwrap().to_string(),
                    c["labels"][0]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert!(
            listed.contains(&(s[1].clone(), "cat".into())) && listed.contains(&(s[1].clone(), "dog".into())),
            "{b}: {body}"
        );

        // The owner settles it: Ann's copy passes, Bob's is sent back.
        let a = fx
            .judge(
                fx.owner(),
                json!([
                    {"sample_id": s[1], "worker_id": fx.ann_id, "accept": true},
                    {"sample_id": s[1], "worker_id": fx.bob_id, "accept": false, "comment": "the majority says cat"}
                ]),
            )
            .await;
        assert_eq!(expect(&t, "settle", &a, 200)["success"], true, "{b}: {}", a.body);
        let a = fx.close(fx.owner(), "", json!({"action": 4})).await;
        expect(&t, "action 4", &a, 200);
        assert_eq!(fx.dataset_labels().await[&s[1]], vec!["cat".to_string()], "{b}");
        let states = fx.states().await;
        assert_eq!(states[&(s[1].clone(), fx.ann_id.clone())], A, "{b}");
        assert_eq!(states[&(s[1].clone(), fx.bob_id.clone())], R, "{b}");
        // The sync row names the copy the labels came from.
        let sync = fx
            .history(&s[1])
            .await
            .into_iter()
            .rev()
            .find(|h| h["event"] == "sync")
            .unwrap();
        assert_eq!(sync["from_workers"], json!([fx.ann_id]), "{b}: {sync}");
        assert_eq!(sync["worker_id"], json!(fx.ann_id), "{b}: {sync}");
    }
}
