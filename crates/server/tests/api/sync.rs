//! Keeping a dataset in step with its data source, on every backend and object store: a sync
//! adds exactly the new objects (with the labels their layout carries) and removes exactly the
//! samples whose object is gone, leaving their history readable; a second sync with nothing
//! changed adds nothing; a running team task with `synchronize_data` hands every new sample
//! (synced, imported or uploaded) to its labelers, as evenly as its start did.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use teamlabel_client::Method;
use teamlabel_core::objects::ObjectPath;

use crate::data_io::{png, put, settle};
use crate::helpers::*;

const SYNC_RUNNING: &str = "ModelArts.4355";
const UNSUPPORTED: &str = "ModelArts.4383";

fn at(t: &TestApp, rest: &str) -> String {
    format!("/{}/{rest}", t.bucket)
}

async fn remove(t: &TestApp, path: &str) {
    t.app
        .objects
        .delete(&ObjectPath::parse("path", path).unwrap())
        .await
        .unwrap();
}

/// A dataset of `dataset_type` whose data source is `data_path`.
async fn sourced(t: &TestApp, name: &str, dataset_type: i32, data_path: &str, labels: Value) -> String {
    let a = t
        .post(
            "/datasets",
            json!({
                "dataset_name": name, "dataset_type": dataset_type, "labels": labels,
                "data_sources": [{"data_type": 0, "data_path": data_path}]
            }),
        )
        .await;
    expect(t, "create a dataset with a data source", &a, 201)["dataset_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Runs a sync to its end and answers its final status.
async fn sync(t: &TestApp, d: &str) -> Value {
    let started = t.post(&format!("/datasets/{d}/sync-data"), json!({})).await;
    let started = expect(t, "start a sync", &started, 200);
    assert_eq!(started["status"], "RUNNING", "{}: {started}", t.backend);
    let done = settle(t, &format!("/datasets/{d}/sync-data/status"), &["RUNNING"]).await;
    assert_eq!(done["task_id"], started["task_id"], "{}: {done}", t.backend);
    assert_eq!(done["status"], "COMPLETED", "{}: {done}", t.backend);
    done
}

fn counts(status: &Value) -> (u64, u64, u64) {
    (
        status["add_sample_count"].as_u64().unwrap(),
        status["deleted_sample_count"].as_u64().unwrap(),
        status["total_sample_count"].as_u64().unwrap(),
    )
}

/// Sample name → its label names, of the whole dataset.
async fn labels_by_name(t: &TestApp, d: &str) -> BTreeMap<String, Vec<String>> {
    let listed = t
        .get(&format!("/datasets/{d}/data-annotations/samples?limit=100"))
        .await;
    let listed = expect(t, "list samples", &listed, 200);
    listed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut labels: Vec<String> = s["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| l["name"].as_str().unwrap().to_string())
                .collect();
            labels.sort();
            (s["sample_name"].as_str().unwrap().to_string(), labels)
        })
        .collect()
}

#[tokio::test]
async fn a_sync_adds_new_objects_and_removes_gone_ones_exactly_once() {
    for t in spawn_all_stores().await {
        let b = t.backend;
        let src = at(&t, "sync-src/animals/");
        put(&t, &format!("{src}cat/1.png"), png(4, 4)).await;
        put(&t, &format!("{src}dog/2.png"), png(4, 4)).await;
        put(&t, &format!("{src}3.png"), png(4, 4)).await;
        put(&t, &format!("{src}3.txt"), "cat\n").await;
        put(&t, &format!("{src}notes.md"), "not a sample").await;
        // A neighbour folder whose name starts like the source is not part of it.
        put(&t, &at(&t, "sync-src/animals-old/x.png"), png(4, 4)).await;
        let d = sourced(&t, "synced", 0, &src, json!([])).await;

        let never = t.get(&format!("/datasets/{d}/sync-data/status")).await;
        assert_eq!(expect(&t, "status before any sync", &never, 200)["status"], "NOT_EXIST");

        let first = sync(&t, &d).await;
        assert_eq!(counts(&first), (3, 0, 3), "{b}: {first}");
        assert_eq!(first["skipped_sample_count"], 1, "{b}: {first}");
        assert!(first["duration_time"].as_i64().unwrap() >= 0, "{b}: {first}");
        let expected: BTreeMap<String, Vec<String>> = [
            ("3.png", vec!["cat"]),
            ("cat/1.png", vec!["cat"]),
            ("dog/2.png", vec!["dog"]),
        ]
        .into_iter()
        .map(|(n, l)| (n.to_string(), l.into_iter().map(str::to_string).collect()))
        .collect();
        assert_eq!(labels_by_name(&t, &d).await, expected, "{b}");

        // A sample uploaded through the API has no object in the source and stays.
        t.samples(&d, json!([{"name": "uploaded.png", "data": png_b64(4, 4)}]))
            .await;
        // Nothing changed in the source: nothing is added or removed.
        let again = sync(&t, &d).await;
        assert_eq!(counts(&again), (0, 0, 4), "{b}: {again}");

        // One object gone, one new: exactly one removal and one addition.
        let listed = t
            .get(&format!("/datasets/{d}/data-annotations/samples?limit=100"))
            .await;
        let dog_id = listed.body["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sample_name"] == "dog/2.png")
            .and_then(|s| s["sample_id"].as_str())
            .unwrap()
            .to_string();
        remove(&t, &format!("{src}dog/2.png")).await;
        put(&t, &format!("{src}cat/4.png"), png(4, 4)).await;
        let third = sync(&t, &d).await;
        assert_eq!(counts(&third), (1, 1, 4), "{b}: {third}");
        let now: Vec<String> = labels_by_name(&t, &d).await.into_keys().collect();
        assert_eq!(now, ["3.png", "cat/1.png", "cat/4.png", "uploaded.png"], "{b}");

        // The removed sample's labels stay readable in its history.
        let history = t
            .get(&format!("/datasets/{d}/data-annotations/samples/{dog_id}/history"))
            .await;
        let history = expect(&t, "history of a removed sample", &history, 200);
        let last = &history["history"][0];
        assert_eq!(
            (last["event"].clone(), last["state_after"].clone()),
            (json!("source_removed"), json!("DELETED")),
            "{b}: {history}"
        );
        assert_eq!(last["labels_before"][0]["name"], "dog", "{b}: {history}");
        let gone = t.get(&format!("/datasets/{d}/data-annotations/samples/{dog_id}")).await;
        assert_eq!(gone.status, 404, "{b}: {:?}", gone.body);
    }
}

#[tokio::test]
async fn detection_labels_arrive_and_text_or_sourceless_datasets_refuse() {
    for t in spawn_all().await {
        let b = t.backend;
        let src = at(&t, "sync-voc/");
        put(&t, &format!("{src}a.png"), png(40, 30)).await;
        put(
            &t,
            &format!("{src}a.xml"),
            "<annotation><size><width>40</width><height>30</height><depth>3</depth></size>\
             <object><name>car</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>20</xmax><ymax>25</ymax></bndbox></object>\
             </annotation>",
        )
        .await;
        let d = sourced(&t, "boxes", 1, &src, json!([])).await;
        let done = sync(&t, &d).await;
        assert_eq!(counts(&done), (1, 0, 1), "{b}: {done}");
        assert_eq!(
            labels_by_name(&t, &d).await.get("a.png").cloned(),
            Some(vec!["car".to_string()]),
            "{b}"
        );

        let text = sourced(&t, "texts", 100, &at(&t, "sync-text/"), json!([{"name": "pos"}])).await;
        let a = t.post(&format!("/datasets/{text}/sync-data"), json!({})).await;
        assert_eq!((a.status, a.code()), (400, UNSUPPORTED), "{b}: {:?}", a.body);
        assert!(a.msg().contains("Text datasets"), "{b}: {:?}", a.body);
        let bare = t.dataset("no-source", 0, json!([])).await;
        let a = t.post(&format!("/datasets/{bare}/sync-data"), json!({})).await;
        assert_eq!((a.status, a.code()), (400, UNSUPPORTED), "{b}: {:?}", a.body);
        // The body is empty or an empty object; anything else is refused.
        let a = t
            .post(&format!("/datasets/{d}/sync-data"), json!({"force": true}))
            .await;
        assert_eq!(a.status, 400, "{b}: {:?}", a.body);
        assert!(a.msg().starts_with("force: unknown field"), "{b}: {:?}", a.body);
        let missing = t.post("/datasets/aaaaaaaaaaaaaaaaaaa/sync-data", json!({})).await;
        assert_eq!(missing.status, 404, "{b}: {:?}", missing.body);
    }
}

#[tokio::test]
async fn one_sync_runs_at_a_time_and_a_restart_fails_a_running_one() {
    for t in spawn_all().await {
        let b = t.backend;
        let src = at(&t, "sync-busy/");
        put(&t, &format!("{src}cat/1.png"), png(2, 2)).await;
        let d = sourced(&t, "busy", 0, &src, json!([])).await;
        // A sync the server was running when it stopped.
        let running = teamlabel_core::store::DataTaskRecord {
            id: teamlabel_core::ids::new_alnum19(),
            dataset_id: d.clone(),
            kind: teamlabel_core::store::TaskKind::Sync,
            subtype: 0,
            status: "RUNNING".into(),
            request: json!({}),
            progress: json!({"imported_sample_count": 7, "deleted_sample_count": 2}),
            cursor: None,
            error_code: None,
            error_msg: None,
            create_time: 1,
            update_time: 1,
        };
        t.app.store.insert_data_task(&running).await.unwrap();
        let second = t.post(&format!("/datasets/{d}/sync-data"), json!({})).await;
        assert_eq!(
            (second.status, second.code()),
            (400, SYNC_RUNNING),
            "{b}: {:?}",
            second.body
        );
        let status = t.get(&format!("/datasets/{d}/sync-data/status")).await;
        assert_eq!(
            (status.body["status"].clone(), status.body["task_id"].clone()),
            (json!("RUNNING"), json!(running.id)),
            "{b}: {:?}",
            status.body
        );

        // At start (on PostgreSQL: once it stood still long enough) it is failed, never done.
        let (_, failed) = t.app.recover_data_io(i64::MAX).await.unwrap();
        assert_eq!(failed, 1, "{b}");
        let status = t.get(&format!("/datasets/{d}/sync-data/status")).await;
        let body = expect(&t, "status after the restart", &status, 200);
        assert_eq!(
            (body["status"].clone(), body["error_code"].clone()),
            (json!("FAILED"), json!("ModelArts.4360")),
            "{b}: {body}"
        );
        assert!(
            body["error_msg"]
                .as_str()
                .unwrap()
                .contains("after adding 7 and removing 2 samples"),
            "{b}: {body}"
        );
        assert_eq!(body["total_sample_count"], Value::Null, "{b}: {body}");
        // Syncing again finishes the work.
        assert_eq!(counts(&sync(&t, &d).await), (1, 0, 1), "{b}");
    }
}

/// A team of `labelers` and a task over dataset `d` with the given body fields, started.
async fn started_task(t: &TestApp, d: &str, labelers: &[&str], extra: Value) -> (String, Vec<String>) {
    let name = format!("crew-{}", labelers[0].split('@').next().unwrap());
    let team = t.post("/workforces", json!({"workforce_name": name})).await;
    let team = expect(t, "create a team", &team, 201)["workforce_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ids = Vec::new();
    for email in labelers {
        ids.push(add_member(t, &team, email, 0).await);
    }
    let workers: Vec<Value> = labelers.iter().map(|e| json!({"email": e})).collect();
    let body = with(
        &json!({
            "task_name": format!("feed-{}", labelers[0].split('@').next().unwrap()), "repetition": 1,
            "workforces_config": {"workforces": [{"workforce_id": team, "workers": workers}]}
        }),
        extra,
    );
    let task = t.post(&format!("/datasets/{d}/workforce-tasks"), body).await;
    let task = expect(t, "create a task", &task, 200)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let start = t
        .post(&format!("/datasets/{d}/workforce-tasks/{task}"), json!({}))
        .await;
    expect(t, "start the task", &start, 200);
    (task, ids)
}

/// How many samples each labeler sees in the task, in the order given.
async fn per_labeler(t: &TestApp, d: &str, task: &str, emails: &[&str]) -> Vec<u64> {
    let mut out = Vec::new();
    for email in emails {
        let tok = token(t, email).await;
        let path = format!("/datasets/{d}/workforce-tasks/{task}/data-annotations/samples?limit=100");
        let a = call(t, &tok, Method::GET, &path, None).await;
        out.push(
            expect(t, &format!("{email} lists"), &a, 200)["sample_count"]
                .as_u64()
                .unwrap(),
        );
    }
    out
}

async fn task_total(t: &TestApp, d: &str, task: &str) -> u64 {
    let a = t.get(&format!("/datasets/{d}/workforce-tasks/{task}")).await;
    expect(t, "read the task", &a, 200)["sample_stats"]["total_sample_count"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_running_task_with_synchronize_data_takes_new_samples_evenly() {
    for t in spawn_all_stores().await {
        let b = t.backend;
        let src = at(&t, "sync-team/");
        for i in 0..3 {
            put(&t, &format!("{src}cat/{i}.png"), png(4, 4)).await;
        }
        let d = sourced(&t, "fed", 0, &src, json!([{"name": "cat"}, {"name": "dog"}])).await;
        assert_eq!(counts(&sync(&t, &d).await), (3, 0, 3), "{b}");
        let crew = ["ann@example.com", "bob@example.com", "cy@example.com"];
        let (fed, _) = started_task(&t, &d, &crew, json!({"synchronize_data": true})).await;
        let (still, _) = started_task(&t, &d, &["dee@example.com"], json!({})).await;
        // data_sync_type 1 (data) wins over synchronize_data false.
        let (typed, _) = started_task(
            &t,
            &d,
            &["eve@example.com", "fay@example.com"],
            json!({"synchronize_data": false, "data_sync_type": 1}),
        )
        .await;
        let typed_view = t.get(&format!("/datasets/{d}/workforce-tasks/{typed}")).await;
        assert_eq!(typed_view.body["synchronize_data"], true, "{b}: {:?}", typed_view.body);
        assert_eq!(per_labeler(&t, &d, &fed, &crew).await, [1, 1, 1], "{b}");

        // Six new objects synced, then two uploads: spread over the three labelers in turn.
        for i in 3..9 {
            put(&t, &format!("{src}dog/{i}.png"), png(4, 4)).await;
        }
        assert_eq!(counts(&sync(&t, &d).await), (6, 0, 9), "{b}");
        assert_eq!(per_labeler(&t, &d, &fed, &crew).await, [3, 3, 3], "{b}");
        let uploaded = t
            .samples(
                &d,
                json!([{"name": "u1.png", "data": png_b64(4, 4)}, {"name": "u2.png", "data": png_b64(4, 4)}]),
            )
            .await;
        assert_eq!(per_labeler(&t, &d, &fed, &crew).await, [4, 4, 3], "{b}");
        assert_eq!(task_total(&t, &d, &fed).await, 11, "{b}");
        assert_eq!(task_total(&t, &d, &typed).await, 11, "{b}");
        assert_eq!(task_total(&t, &d, &still).await, 3, "{b}");

        // A removed object takes its sample out of the task, and the counters follow.
        remove(&t, &format!("{src}dog/3.png")).await;
        assert_eq!(counts(&sync(&t, &d).await), (0, 1, 10), "{b}");
        assert_eq!(task_total(&t, &d, &fed).await, 10, "{b}");
        let deleted = t
            .post(
                &format!("/datasets/{d}/data-annotations/samples/delete"),
                json!({"samples": [uploaded[0]]}),
            )
            .await;
        expect(&t, "delete an uploaded sample", &deleted, 200);
        assert_eq!(task_total(&t, &d, &fed).await, 9, "{b}");
        assert_eq!(per_labeler(&t, &d, &fed, &crew).await.iter().sum::<u64>(), 9, "{b}");
    }
}

#[tokio::test]
async fn new_samples_respect_the_task_filter_and_an_import_feeds_too() {
    for t in spawn_all().await {
        let b = t.backend;
        let d = t
            .dataset("filtered", 0, json!([{"name": "cat"}, {"name": "dog"}]))
            .await;
        t.samples(
            &d,
            json!([{"name": "c0.png", "data": png_b64(4, 4), "labels": [{"name": "cat"}]}]),
        )
        .await;
        let conditions = json!([{"label_list": {"labels": [{"name": "cat"}]}}]).to_string();
        let (task, _) = started_task(
            &t,
            &d,
            &["ann@example.com", "bob@example.com"],
            json!({"synchronize_data": true, "sample_conditions": conditions}),
        )
        .await;
        assert_eq!(task_total(&t, &d, &task).await, 1, "{b}");
        t.samples(
            &d,
            json!([
                {"name": "c1.png", "data": png_b64(4, 4), "labels": [{"name": "cat"}]},
                {"name": "d1.png", "data": png_b64(4, 4), "labels": [{"name": "dog"}]}
            ]),
        )
        .await;
        assert_eq!(task_total(&t, &d, &task).await, 2, "{b}: only the cat joins");
        assert_eq!(
            per_labeler(&t, &d, &task, &["ann@example.com", "bob@example.com"]).await,
            [1, 1],
            "{b}"
        );

        // An import task's samples are handed over as they are written.
        let manifest = at(&t, "sync-feed/in.manifest");
        let lines: String = (0..4)
            .map(|i| {
                format!(
                    "{{\"source\":\"obs://{}/sync-feed/{i}.png\",\"annotation\":[{{\"type\":\"modelarts/image_classification\",\"name\":\"cat\"}}]}}\n",
                    t.bucket
                )
            })
            .collect();
        put(&t, &manifest, lines).await;
        for i in 0..4 {
            put(&t, &at(&t, &format!("sync-feed/{i}.png")), png(4, 4)).await;
        }
        let path = format!("/datasets/{d}/import-tasks");
        let a = t
            .post(&path, json!({"import_path": manifest, "import_type": "manifest"}))
            .await;
        let id = expect(&t, "import", &a, 200)["task_id"].as_str().unwrap().to_string();
        let done = settle(&t, &format!("{path}/{id}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(done["imported_sample_count"], 4, "{b}: {done}");
        assert_eq!(task_total(&t, &d, &task).await, 6, "{b}");
        assert_eq!(
            per_labeler(&t, &d, &task, &["ann@example.com", "bob@example.com"]).await,
            [3, 3],
            "{b}"
        );
    }
}
