//! Bad input and out-of-turn calls to review and acceptance: each answers a clear error (the
//! whole request's, or one item's inside a 200 while the other items apply) and changes no copy,
//! round or task it was not meant to change.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use teamlabel_client::Method;

use super::{class, setup, Fx};
use crate::helpers::{call, expect, Answer};

const UNKNOWN_HEX: &str = "0123456789abcdef0123456789abcdef";

/// Where a row expects its error: on the whole request, or on item 0 of a 200.
#[derive(Clone, Copy)]
enum At {
    Request(u16),
    Item,
}

struct Row {
    case: &'static str,
    token: String,
    method: Method,
    path: String,
    body: Value,
    at: At,
    code: &'static str,
    fragment: &'static str,
}

fn check(a: &Answer, at: At, code: &str, fragment: &str) -> Result<(), String> {
    let (got_code, msg) = match at {
        At::Request(status) => {
            if a.status != status {
                return Err(format!("status {} (want {status}): {}", a.status, a.body));
            }
            (a.code().to_string(), a.msg().to_string())
        }
        At::Item => {
            if a.status != 200 || a.body["success"] != false {
                return Err(format!("want a 200 with a failed item, got {}: {}", a.status, a.body));
            }
            let item = &a.body["results"][0];
            (
                item["error_code"].as_str().unwrap_or("").to_string(),
                item["error_msg"].as_str().unwrap_or("").to_string(),
            )
        }
    };
    if got_code != code || !msg.contains(fragment) {
        return Err(format!("want {code} with {fragment:?}, got {got_code}: {msg}"));
    }
    Ok(())
}

/// Everything a refusal must leave as it was: every copy's state and version, the task.
async fn snapshot(fx: &Fx<'_>) -> (BTreeMap<(String, String), (String, Value)>, Value) {
    let copies = fx
        .copies()
        .await
        .into_iter()
        .map(|c| ((c.sample, c.worker), (c.state, c.body["version"].clone())))
        .collect();
    let mut task = expect(fx.t, "task", &fx.t.get(&fx.task).await, 200);
    task["update_time"] = Value::Null;
    (copies, task)
}

async fn run(fx: &Fx<'_>, what: &str, rows: Vec<Row>) {
    let before = snapshot(fx).await;
    let mut failures = Vec::new();
    for r in &rows {
        let body = (!r.body.is_null()).then(|| r.body.clone());
        let a = call(fx.t, &r.token, r.method.clone(), &r.path, body).await;
        if let Err(e) = check(&a, r.at, r.code, r.fragment) {
            failures.push(format!("{}: {e}", r.case));
        }
    }
    let after = snapshot(fx).await;
    if after != before {
        failures.push(format!(
            "a refusal changed a copy or the task:\nbefore {before:?}\nafter {after:?}"
        ));
    }
    assert!(
        failures.is_empty(),
        "{} {what}: {} rows failed:\n{}",
        fx.t.backend,
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn bad_reviews_are_refused_alone_and_change_nothing() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, 3, 2, true).await;
        let s = fx.samples.clone();
        let late = t
            .samples(&fx.ds, json!([{"name": "late.png", "source": "http://x/late.png"}]))
            .await
            .remove(0);
        fx.label_ok(
            &fx.ann,
            json!([{"sample_id": s[0], "labels": class("cat")}, {"sample_id": s[1], "labels": class("cat")}]),
        )
        .await;
        fx.label_ok(&fx.bob, json!([{"sample_id": s[0], "labels": class("cat")}]))
            .await;
        let review = format!("{}/data-annotations/review", fx.task);
        let rita = fx.rita.clone();
        let rita_id = {
            let list = expect(&t, "members", &t.get("/workforces/workers?limit=100").await, 200);
            list["workers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["email"] == super::RITA)
                .unwrap()["worker_id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let ok = |extra: Value| {
            let mut c = json!({"sample_id": s[0], "worker_id": fx.ann_id, "accept": true});
            for (k, v) in extra.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            json!({ "comments": [c] })
        };
        let row = |case, token: &str, body, at, code, fragment| Row {
            case,
            token: token.to_string(),
            method: Method::POST,
            path: review.clone(),
            body,
            at,
            code,
            fragment,
        };
        let many: Vec<Value> = (0..1001).map(|_| json!({"sample_id": s[0], "accept": true})).collect();
        #[rustfmt::skip]
        let rows = vec![
            row("a labeler reviews", &fx.ann, ok(json!({})), At::Request(403), "ModelArts.4600", "reviewer of the task"),
            row("no such sample", &rita, ok(json!({"sample_id": UNKNOWN_HEX})), At::Item, "ModelArts.4420", UNKNOWN_HEX),
            row("a sample of the dataset outside the task", &rita, ok(json!({"sample_id": late})), At::Item, "ModelArts.4420", "not found in this task"),
            row("a member the sample is not assigned to", &rita, ok(json!({"worker_id": rita_id})), At::Item, "ModelArts.4600", "not assigned to worker"),
            row("a copy not waiting for review", &rita, ok(json!({"sample_id": s[1], "worker_id": fx.bob_id})), At::Item, "ModelArts.4606", "__NONE__"),
            row("score E", &rita, ok(json!({"score": "E"})), At::Item, "ModelArts.0101", "score must be A, B, C or D"),
            row("a forbidden character", &rita, ok(json!({"comment": "a <b> c"})), At::Item, "ModelArts.0101", "comment must not contain '<'"),
            row("257 characters", &rita, ok(json!({"comment": "x".repeat(257)})), At::Item, "ModelArts.0101", "at most 256 characters"),
            row("no verdict", &rita, ok(json!({"accept": null})), At::Item, "ModelArts.0101", "accept is required"),
            row("no sample", &rita, ok(json!({"sample_id": null})), At::Item, "ModelArts.0101", "sample_id is required"),
            row("two copies, no worker", &rita, ok(json!({"worker_id": null})), At::Item, "ModelArts.0101", "worker_id is required"),
            row("an unknown field", &rita, ok(json!({"acept": true})), At::Request(400), "ModelArts.0101", "comments[0].acept: unknown field"),
            row("an unknown top-level field", &rita, json!({"comments": [], "comment": "x"}), At::Request(400), "ModelArts.0101", "unknown field `comment`"),
            row("too many verdicts", &rita, json!({"comments": many}), At::Request(400), "ModelArts.0101", "at most 1000"),
        ];
        run(&fx, "review refusals", rows).await;

        // One bad verdict fails alone; the good one applies.
        let a = fx
            .review(
                &rita,
                json!([
                    {"sample_id": s[0], "worker_id": fx.bob_id, "accept": true},
                    {"sample_id": s[0], "worker_id": fx.ann_id, "accept": true, "score": "Z"}
                ]),
            )
            .await;
        let body = expect(&t, "mixed review", &a, 200);
        assert_eq!(
            (
                &body["success"],
                &body["results"][0]["success"],
                &body["results"][1]["error_code"]
            ),
            (&json!(false), &json!(true), &json!("ModelArts.0101")),
            "{}: {body}",
            t.backend
        );
        let states = fx.states().await;
        assert_eq!(
            states[&(s[0].clone(), fx.bob_id.clone())],
            "__UNCHECK__",
            "{}",
            t.backend
        );
        assert_eq!(
            states[&(s[0].clone(), fx.ann_id.clone())],
            "__UNREVIEWED__",
            "{}",
            t.backend
        );
        // Reviewing a copy twice in one request: the second verdict fails alone.
        let a = fx
            .review(
                &rita,
                json!([
                    {"sample_id": s[1], "worker_id": fx.ann_id, "accept": true},
                    {"sample_id": s[1], "worker_id": fx.ann_id, "accept": false}
                ]),
            )
            .await;
        let body = expect(&t, "twice", &a, 200);
        assert_eq!(
            body["results"][1]["error_code"], "ModelArts.0101",
            "{}: {body}",
            t.backend
        );
        assert_eq!(
            fx.states().await[&(s[1].clone(), fx.ann_id.clone())],
            "__UNCHECK__",
            "{}",
            t.backend
        );
    }
}

#[tokio::test]
async fn acceptance_out_of_turn_or_with_bad_input_is_refused_and_changes_nothing() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let fx = setup(&t, 3, 2, true).await;
        let s = fx.samples.clone();
        let owner = fx.owner().to_string();
        let acceptance = format!("{}/acceptance", fx.task);
        let status = format!("{acceptance}/status");
        let comment = format!("{acceptance}/batch-comment");
        let row = |case, token: &str, method: Method, path: &str, body, at, code, fragment| Row {
            case,
            token: token.to_string(),
            method,
            path: path.to_string(),
            body,
            at,
            code,
            fragment,
        };

        // A task not started yet.
        let unstarted = {
            let a = t.get(&fx.task).await;
            let config = expect(&t, "task", &a, 200)["workforces_config"].clone();
            let created = t
                .post(
                    &format!("/datasets/{}/workforce-tasks", fx.ds),
                    json!({"task_name": "later", "workforces_config": config}),
                )
                .await;
            let id = expect(&t, "second task", &created, 200)["task_id"]
                .as_str()
                .unwrap()
                .to_string();
            format!("/datasets/{}/workforce-tasks/{id}/acceptance", fx.ds)
        };
        fx.label_ok(
            &fx.ann,
            json!([{"sample_id": s[0], "labels": class("cat")}, {"sample_id": s[1], "labels": class("cat")}]),
        )
        .await;
        fx.label_ok(&fx.bob, json!([{"sample_id": s[0], "labels": class("cat")}]))
            .await;
        #[rustfmt::skip]
        let rows = vec![
            row("a task not started", &owner, Method::POST, &unstarted, json!({"sampling_rate": 0.5}), At::Request(403), "ModelArts.4600", "status 6"),
            row("nothing waits for acceptance", &owner, Method::POST, &acceptance, json!({"sampling_rate": 0.5}), At::Request(400), "ModelArts.4625", "no copy waits"),
            row("sampling_rate 0", &owner, Method::POST, &acceptance, json!({"sampling_rate": 0}), At::Request(400), "ModelArts.0101", "sampling_rate must be greater than 0"),
            row("sampling_rate above 1", &owner, Method::POST, &acceptance, json!({"sampling_rate": 1.5}), At::Request(400), "ModelArts.0101", "at most 1"),
            row("both", &owner, Method::POST, &acceptance, json!({"sampling_rate": 0.5, "sampling_num": 1}), At::Request(400), "ModelArts.0101", "exactly one"),
            row("neither", &owner, Method::POST, &acceptance, json!({}), At::Request(400), "ModelArts.0101", "exactly one"),
            row("sampling_num 0", &owner, Method::POST, &acceptance, json!({"sampling_num": 0}), At::Request(400), "ModelArts.0101", "at least 1"),
            row("an unknown field", &owner, Method::POST, &acceptance, json!({"sampling_rate": 0.5, "rate": 1}), At::Request(400), "ModelArts.0101", "unknown field `rate`"),
            row("a labeler opens a round", &fx.ann, Method::POST, &acceptance, json!({"sampling_rate": 0.5}), At::Request(403), "ModelArts.4600", "for the owner"),
            row("the reviewer opens a round", &fx.rita, Method::POST, &acceptance, json!({"sampling_rate": 0.5}), At::Request(403), "ModelArts.4600", "for the owner"),
            row("closing a round that does not exist", &owner, Method::PUT, &status, json!({"action": 0}), At::Request(400), "ModelArts.4612", "no acceptance round is open"),
            row("verdicts without a round", &owner, Method::POST, &comment, json!({"comments": [{"sample_id": s[0], "accept": true}]}), At::Request(400), "ModelArts.4612", "no acceptance round is open"),
            row("a report without its round", &owner, Method::GET, &format!("{acceptance}/report"), Value::Null, At::Request(400), "ModelArts.0101", "checking_task_id is required"),
            row("a report of no round", &owner, Method::GET, &format!("{acceptance}/report?checking_task_id=NoSuchRound00000000"), Value::Null, At::Request(400), "ModelArts.4612", "NoSuchRound"),
        ];
        run(&fx, "before a round", rows).await;

        // s0's two copies pass review; s1 waits for Bob, so only s0 is in scope. Asking for
        // more than there is draws it all.
        let a = fx
            .review(
                &fx.rita,
                json!([
                    {"sample_id": s[0], "worker_id": fx.ann_id, "accept": true},
                    {"sample_id": s[0], "worker_id": fx.bob_id, "accept": true}
                ]),
            )
            .await;
        assert_eq!(expect(&t, "review", &a, 200)["success"], true, "{b}");
        let a = fx.start(&owner, json!({"sampling_num": 99})).await;
        let round = expect(&t, "start", &a, 200)["task_id"].as_str().unwrap().to_string();
        let report = fx.report(&round).await;
        assert_eq!(
            (
                &report["checking_stats"]["total_sample_count"],
                &report["checking_stats"]["sampled_sample_count"]
            ),
            (&json!(2), &json!(2)),
            "{b}: {report}"
        );

        #[rustfmt::skip]
        let rows = vec![
            row("a second round", &owner, Method::POST, &acceptance, json!({"sampling_rate": 1.0}), At::Request(400), "ModelArts.4623", "round is open"),
            row("action 6", &owner, Method::PUT, &status, json!({"action": 6}), At::Request(400), "ModelArts.0101", "action must be 0 to 5"),
            row("action -1", &owner, Method::PUT, &status, json!({"action": -1}), At::Request(400), "ModelArts.0101", "action must be 0 to 5"),
            row("no action", &owner, Method::PUT, &status, json!({}), At::Request(400), "ModelArts.0101", "action is required"),
            row("a locale of neither", &owner, Method::PUT, &format!("{status}?locale=fr-fr"), json!({"action": 0}), At::Request(400), "ModelArts.4398", "en-us or zh-cn"),
            row("an unknown field", &owner, Method::PUT, &status, json!({"action": 0, "overwrite": true}), At::Request(400), "ModelArts.0101", "unknown field `overwrite`"),
            row("a labeler closes", &fx.ann, Method::PUT, &status, json!({"action": 0}), At::Request(403), "ModelArts.4600", "for the owner"),
            row("a labeler's verdict", &fx.ann, Method::POST, &comment, json!({"comments": [{"sample_id": s[0], "worker_id": fx.ann_id, "accept": true}]}), At::Request(403), "ModelArts.4600", "for the owner"),
            row("a verdict on a copy not drawn", &owner, Method::POST, &comment, json!({"comments": [{"sample_id": s[1], "worker_id": fx.ann_id, "accept": true}]}), At::Item, "ModelArts.4606", "not drawn into the open acceptance round"),
            row("no verdicts", &owner, Method::POST, &comment, json!({"comments": []}), At::Request(400), "ModelArts.0101", "comments is required"),
            row("an unknown verdict field", &owner, Method::POST, &comment, json!({"comments": [{"sample_id": s[0], "worker_id": fx.ann_id, "accept": true, "grade": "A"}]}), At::Request(400), "ModelArts.0101", "unknown field `grade`"),
            row("a labeler writes a drawn copy", &fx.ann, Method::PUT, &format!("{}/data-annotations/samples", fx.task), json!({"samples": [{"sample_id": s[0], "labels": class("dog")}]}), At::Item, "ModelArts.4623", "drawn into the open acceptance round"),
            row("deleting the task mid-round", &owner, Method::DELETE, &fx.task, Value::Null, At::Request(400), "ModelArts.4623", "close or cancel its acceptance round"),
        ];
        run(&fx, "during a round", rows).await;

        // A copy outside the draw may still be written: Ann's s1 goes back to review.
        fx.label_ok(&fx.ann, json!([{"sample_id": s[1], "labels": class("dog")}]))
            .await;
        assert_eq!(
            fx.states().await[&(s[1].clone(), fx.ann_id.clone())],
            "__UNREVIEWED__",
            "{b}"
        );
        // Cancelling puts the drawn copies back and lets the task be deleted.
        let a = fx.close(&owner, "", json!({"action": 2})).await;
        expect(&t, "cancel", &a, 200);
        assert_eq!(fx.copies_in("__UNCHECK__").await.len(), 2, "{b}");
        assert_eq!(fx.task_status().await, 1, "{b}");
        expect(&t, "delete", &t.delete(&fx.task).await, 204);
    }
}
