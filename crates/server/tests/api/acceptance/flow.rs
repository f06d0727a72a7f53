//! The whole team flow with repetition 2: two labelers label every sample, a reviewer rejects
//! one copy, its labeler fixes it and the reviewer passes it; the owner draws half, rejects one
//! drawn copy, and closes with action 4. The dataset then holds exactly the merged labels of the
//! accepted samples, its statistics agree, the history has every step, and an accepted copy
//! refuses a write.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{car, class, label_names, setup, Copy};
use crate::helpers::expect;

#[tokio::test]
async fn two_labelers_a_reviewer_and_the_owner_take_labels_into_the_dataset() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let fx = setup(&t, 5, 2, true).await;
        let s = fx.samples.clone();
        let item = |i: usize, labels: Value| json!({"sample_id": s[i], "labels": labels});
        fx.label_ok(
            &fx.ann,
            json!([
                item(0, class("cat")),
                item(1, class("cat")),
                item(2, class("dog")),
                item(3, class("cat")),
                item(4, car(10, 10, 50, 50))
            ]),
        )
        .await;
        fx.label_ok(
            &fx.bob,
            json!([
                item(0, class("cat")),
                item(1, class("dog")),
                item(2, class("dog")),
                item(3, class("dog")),
                item(4, car(12, 10, 52, 50))
            ]),
        )
        .await;
        let stats = expect(
            &t,
            "stats",
            &t.get(&format!("{}/data-annotations/stats", fx.task)).await,
            200,
        );
        assert_eq!(stats["sample_stats"]["unreviewed"], 10, "{b}: {stats}");
        assert_eq!(stats["sample_stats"]["total"], 10, "{b}: {stats}");

        // Rita passes every copy but Bob's s1, which she rejects with a reason.
        let mut verdicts = Vec::new();
        for (i, id) in s.iter().enumerate() {
            for w in [&fx.ann_id, &fx.bob_id] {
                verdicts.push(if i == 1 && w == &fx.bob_id {
                    json!({"sample_id": id, "worker_id": w, "accept": false, "comment": "s1 shows a cat, not a dog"})
                } else {
                    json!({"sample_id": id, "worker_id": w, "accept": true, "score": "A"})
                });
            }
        }
        let a = fx.review(&fx.rita, Value::Array(verdicts)).await;
        let body = expect(&t, "review", &a, 200);
        assert_eq!(body["success"], true, "{b}: {body}");
        assert_eq!(body["results"].as_array().unwrap().len(), 10, "{b}: {body}");

        // Bob sees why, on his copy.
        let mine = crate::helpers::call(
            &t,
            &fx.bob,
            teamlabel_client::Method::GET,
            &format!("{}/data-annotations/samples?sample_state=__REJECTED__", fx.task),
            None,
        )
        .await;
        let mine = expect(&t, "bob's rejected copies", &mine, 200);
        assert_eq!(mine["sample_count"], 1, "{b}: {mine}");
        let copy = &mine["samples"][0];
        assert_eq!(
            (&copy["sample_id"], &copy["review_accept"], &copy["review_comment"]),
            (&json!(s[1]), &json!(false), &json!("s1 shows a cat, not a dog")),
            "{b}: {copy}"
        );
        let stats = expect(
            &t,
            "stats",
            &t.get(&format!("{}/data-annotations/stats", fx.task)).await,
            200,
        );
        let ss = &stats["sample_stats"];
        assert_eq!(
            (
                &ss["uncheck"],
                &ss["rejected"],
                &ss["review_passed"],
                &ss["review_rejected"]
            ),
            (&json!(9), &json!(1), &json!(9), &json!(1)),
            "{b}: {stats}"
        );
        assert_states_add_up(b, ss);

        // Bob fixes it (back to review), Rita passes it.
        fx.label_ok(&fx.bob, json!([item(1, class("cat"))])).await;
        assert_eq!(fx.copies_in("__UNREVIEWED__").await.len(), 1, "{b}");
        let a = fx
            .review(
                &fx.rita,
                json!([{"sample_id": s[1], "worker_id": fx.bob_id, "accept": true, "score": "B"}]),
            )
            .await;
        assert_eq!(expect(&t, "second review", &a, 200)["success"], true, "{b}");
        assert_eq!(fx.copies_in("__UNCHECK__").await.len(), 10, "{b}");

        // The owner draws half: five copies, as evenly as two labelers allow.
        let a = fx.start(fx.owner(), json!({"sampling_rate": 0.5})).await;
        let round = expect(&t, "start acceptance", &a, 200)["task_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(fx.task_status().await, 2, "{b}: accepting");
        let drawn = fx.copies_in("__WORKFORCE_SAMPLED__").await;
        assert_eq!(drawn.len(), 5, "{b}");
        let anns = drawn.iter().filter(|c| c.worker == fx.ann_id).count();
        assert!(anns == 2 || anns == 3, "{b}: Ann has {anns} of 5 drawn copies");
        // The round's stored seed repeats its draw over its scope.
        let stored = t.app.store.list_rounds(&fx.task_id).await.unwrap();
        assert_eq!(stored.len(), 1, "{b}");
        let copies = t.app.store.task_copy_states(&fx.task_id).await.unwrap();
        let scope: Vec<(i64, &str)> = copies.iter().map(|c| (c.id, c.worker_id.as_str())).collect();
        let mut drawn_ids: Vec<i64> = copies
            .iter()
            .filter(|c| c.state == "__WORKFORCE_SAMPLED_UNCHECK__")
            .map(|c| c.id)
            .collect();
        drawn_ids.sort_unstable();
        assert_eq!(
            teamlabel_core::team::acceptance::draw(&scope, 5, stored[0].seed as u64),
            drawn_ids,
            "{b}"
        );
        let report = fx.report(&round).await;
        let cs = &report["checking_stats"];
        assert_eq!(
            (
                &cs["total_sample_count"],
                &cs["sampled_sample_count"],
                &cs["unchecked_sample_count"]
            ),
            (&json!(10), &json!(5), &json!(5)),
            "{b}: {report}"
        );

        // The owner rejects one drawn copy (not of s1) and passes the others.
        let rejected: Copy = drawn.iter().find(|c| c.sample != s[1]).unwrap().clone();
        let verdicts: Vec<Value> = drawn
            .iter()
            .map(|c| {
                let accept = *c != rejected;
                json!({"sample_id": c.sample, "worker_id": c.worker, "accept": accept, "score": if accept { "A" } else { "C" }, "comment": if accept { "" } else { "the box is off" }})
            })
            .collect();
        let a = fx.judge(fx.owner(), Value::Array(verdicts)).await;
        assert_eq!(expect(&t, "judge", &a, 200)["success"], true, "{b}: {}", a.body);
        let report = fx.report(&round).await;
        let cs = &report["checking_stats"];
        assert_eq!(
            (
                &cs["checked_sample_count"],
                &cs["accepted_sample_count"],
                &cs["rejected_sample_count"],
                &cs["unchecked_sample_count"]
            ),
            (&json!(5), &json!(4), &json!(1), &json!(0)),
            "{b}: {report}"
        );
        assert_eq!(cs["pass_rate"], 0.8, "{b}: {report}");
        assert_eq!(cs["total_score"], 4 * 4 + 2, "{b}: {report}");

        // Action 4: the rejected copy stays rejected, everything else passes.
        let a = fx.close(fx.owner(), "?locale=en-us", json!({"action": 4})).await;
        let closed = expect(&t, "close", &a, 200);

        // What the dataset must hold: each sample's passing copies merged; s3's two copies
        // disagree (cat and dog), so s3 is held back unless one of them was rejected.
        let other = || if rejected.worker == fx.ann_id { "bob" } else { "ann" };
        let single_box = |who: &str| {
            if who == "ann" {
                "car@[[10,10],[50,50]]"
            } else {
                "car@[[12,10],[52,50]]"
            }
        };
        let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, id) in s.iter().enumerate() {
            let hit = rejected.sample == *id;
            let labels: Vec<String> = match i {
                0 | 1 => vec!["cat".into()],
                2 => vec!["dog".into()],
                3 if hit => vec![if other() == "ann" { "cat" } else { "dog" }.into()],
                3 => vec![],
                _ if hit => vec![single_box(other()).into()],
                _ => vec!["car@[[11,10],[51,50]]".into()],
            };
            want.insert(id.clone(), labels);
        }
        assert_eq!(fx.dataset_labels().await, want, "{b}: {closed}");
        let synced = want.values().filter(|l| !l.is_empty()).count();
        assert_eq!(closed["result"]["synced_sample_count"], synced, "{b}: {closed}");
        assert_eq!(closed["result"]["rejected_copy_count"], 1, "{b}: {closed}");

        // Every copy's state: the rejected one back to its labeler, s3's held back on a
        // conflict, the rest accepted; the task runs on (not every copy is accepted).
        let states = fx.states().await;
        for ((sample, worker), st) in &states {
            let want = if *sample == rejected.sample && *worker == rejected.worker {
                "__REJECTED__"
            } else if *sample == s[3] && rejected.sample != s[3] {
                "__UNCHECK__"
            } else {
                "__ACCEPTED__"
            };
            assert_eq!(st, want, "{b}: copy of {sample} by {worker}");
        }
        assert_eq!(fx.task_status().await, 1, "{b}");
        let stats = expect(
            &t,
            "stats",
            &t.get(&format!("{}/data-annotations/stats", fx.task)).await,
            200,
        );
        assert_states_add_up(b, &stats["sample_stats"]);

        // The dataset's statistics and count agree with its labels.
        let ds_stats = expect(
            &t,
            "dataset stats",
            &t.get(&format!("/datasets/{}/data-annotations/stats", fx.ds)).await,
            200,
        );
        assert_eq!(ds_stats["sample_stats"]["manual_annotation"], synced, "{b}: {ds_stats}");
        assert_eq!(ds_stats["sample_stats"]["un_annotation"], 5 - synced, "{b}: {ds_stats}");
        let dataset = expect(&t, "dataset", &t.get(&format!("/datasets/{}", fx.ds)).await, 200);
        assert_eq!(dataset["annotated_sample_count"], synced, "{b}: {dataset}");

        // History of s1 has every step: two labels, two reviews (one a rejection with its
        // reason), Bob's fix and its review, the acceptance of both copies and the sync.
        let history = fx.history(&s[1]).await;
        let steps: Vec<(String, Option<String>)> = history
            .iter()
            .map(|h| {
                (
                    h["event"].as_str().unwrap().to_string(),
                    h["worker_id"].as_str().map(str::to_string),
                )
            })
            .collect();
        let bob = Some(fx.bob_id.clone());
        let bob_steps: Vec<&str> = steps
            .iter()
            .filter(|(_, w)| *w == bob)
            .map(|(e, _)| e.as_str())
            .collect();
        let core: Vec<&str> = bob_steps
            .iter()
            .copied()
            .filter(|e| *e != "draw" && *e != "check")
            .collect();
        assert_eq!(
            core,
            ["label", "review", "label", "review", "accept"],
            "{b}: {history:?}"
        );
        let reject = history
            .iter()
            .find(|h| h["event"] == "review" && h["state_after"] == "__REJECTED__")
            .unwrap();
        assert_eq!(reject["comment"], "s1 shows a cat, not a dog", "{b}");
        let sync = history.last().unwrap();
        assert_eq!(sync["event"], "sync", "{b}: {sync}");
        let mut from = vec![fx.ann_id.clone(), fx.bob_id.clone()];
        from.sort();
        assert_eq!(sync["from_workers"], json!(from), "{b}: {sync}");
        assert_eq!(sync["actor_email"], "owner@example.com", "{b}: {sync}");
        assert_eq!(label_names(&sync["labels_after"]), vec!["cat"], "{b}: {sync}");

        // An accepted copy refuses its labeler's write; its labels stay.
        let accepted = fx.copies_in("__ACCEPTED__").await;
        let frozen = accepted.iter().find(|c| c.worker == fx.ann_id).unwrap();
        let a = fx
            .label(&fx.ann, json!([{"sample_id": frozen.sample, "labels": class("dog")}]))
            .await;
        let body = expect(&t, "write to an accepted copy", &a, 200);
        assert_eq!(body["results"][0]["error_code"], "ModelArts.4606", "{b}: {body}");
        let again = fx.copies_in("__ACCEPTED__").await;
        assert_eq!(
            again
                .iter()
                .find(|c| c.sample == frozen.sample && c.worker == frozen.worker)
                .unwrap()
                .labels,
            frozen.labels,
            "{b}"
        );

        // Agreement: s0..s3 carry classes (s3 disagrees), s4 two matching boxes. Alpha by the
        // nominal formula: values cat x5, dog x3 over 4 units of 2, one disagreeing pair:
        // D_o = 2/8, D_e = 2*5*3/(8*7), alpha = 1 - D_o/D_e = 8/15.
        let agreement = expect(&t, "agreement", &t.get(&format!("{}/agreement", fx.task)).await, 200);
        let task = &agreement["task"];
        assert_eq!(task["classification_alpha"]["sample_count"], 4, "{b}: {agreement}");
        let alpha = task["classification_alpha"]["value"].as_f64().unwrap();
        assert!((alpha - 8.0 / 15.0).abs() < 1e-9, "{b}: alpha {alpha}");
        assert_eq!(
            (&task["detection_f1"]["value"], &task["detection_f1"]["sample_count"]),
            (&json!(1.0), &json!(1)),
            "{b}: {agreement}"
        );
        assert_eq!(agreement["workers"].as_object().unwrap().len(), 2, "{b}: {agreement}");
    }
}

/// The disjoint state counters add up to the total.
fn assert_states_add_up(backend: &str, ss: &Value) {
    let parts = [
        "un_annotation",
        "auto_annotation",
        "unreviewed",
        "uncheck",
        "sampled_uncheck",
        "sampled_accepted",
        "sampled_rejected",
        "accepted",
        "rejected",
    ];
    let sum: u64 = parts.iter().map(|k| ss[k].as_u64().unwrap()).sum();
    assert_eq!(Some(sum), ss["total"].as_u64(), "{backend}: {ss}");
}
