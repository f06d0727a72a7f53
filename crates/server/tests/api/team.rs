//! The whole team flow over HTTP: an owner sets up a dataset, a team and a task; two labelers
//! label their own samples; the owner reads both labelers' work and the history.

use serde_json::{json, Value};

use crate::helpers::{call, TestApp};

#[tokio::test]
async fn two_labelers_label_their_own_samples_and_the_owner_sees_both() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        // A free-format dataset carries classification, detection and entity labels at once.
        let ds = t
            .dataset(
                "mixed",
                900,
                json!([
                    {"name": "cat", "type": 0}, {"name": "car", "type": 1}, {"name": "Person", "type": 101}
                ]),
            )
            .await;
        let png = crate::helpers::png_b64(100, 80);
        let ids = t
            .samples(&ds, json!([
                {"name": "a.png", "data": png, "sample_type": 0},
                {"name": "b.png", "data": crate::helpers::png_b64(100, 80), "sample_type": 0, "metadata": {"@modelarts:size": [100, 80, 3]}},
                {"source": "content://Ada Lovelace wrote the first program", "sample_type": 1},
                {"source": "content://Grace Hopper built a compiler", "sample_type": 1}
            ]))
            .await;
        assert_eq!(ids.len(), 4);

        let team = t
            .post(
                "/workforces",
                json!({"workforce_name": "annotators", "description": "two people"}),
            )
            .await;
        assert_eq!(team.status, 201, "{b}: {:?}", team.body);
        let team_id = team.body["workforce_id"].as_str().unwrap().to_string();
        for email in ["ann@example.com", "bob@example.com"] {
            let w = t
                .post(
                    &format!("/workforces/{team_id}/workers"),
                    json!({"emails": email, "role": 0}),
                )
                .await;
            assert_eq!(w.status, 201, "{b}: {:?}", w.body);
        }
        let members = t
            .get(&format!("/workforces/{team_id}/workers?sort_by=email&order=asc"))
            .await;
        assert_eq!(members.body["total_number"], 2);
        let ann_id = members.body["workers"][0]["worker_id"].as_str().unwrap().to_string();
        let bob_id = members.body["workers"][1]["worker_id"].as_str().unwrap().to_string();

        let task = t
            .post(&format!("/datasets/{ds}/workforce-tasks"), json!({
                "task_name": "round-1", "repetition": 1,
                "workforces_config": {"workforces": [{"workforce_id": team_id, "workers": [{"email": "ann@example.com"}, {"email": "bob@example.com"}]}]}
            }))
            .await;
        assert_eq!(task.status, 200, "{b}: {:?}", task.body);
        let task_id = task.body["task_id"].as_str().unwrap().to_string();
        let task_path = format!("/datasets/{ds}/workforce-tasks/{task_id}");

        // Before the start nobody may label.
        let (ann, _) = t.app.create_token(&t.project_id, "ann@example.com", 24).await.unwrap();
        let early = call(
            &t,
            &ann,
            reqwest::Method::PUT,
            &format!("{task_path}/data-annotations/samples"),
            Some(json!({"samples": [{"sample_id": ids[0], "labels": []}]})),
        )
        .await;
        assert_eq!(
            (early.status, early.code()),
            (403, "ModelArts.4600"),
            "{b}: {:?}",
            early.body
        );

        let started = t.post(&task_path, json!({})).await;
        assert_eq!(started.status, 200, "{b}: {:?}", started.body);
        let detail = t.get(&task_path).await.body;
        assert_eq!(detail["status"], 1);
        assert_eq!(detail["sample_stats"]["total_sample_count"], 4);
        assert_eq!(detail["sample_stats"]["unannotated_sample_count"], 4);
        assert_eq!(detail["worker_stats"].as_array().unwrap().len(), 2);

        let (bob, _) = t.app.create_token(&t.project_id, "bob@example.com", 24).await.unwrap();
        let mut mine: Vec<Vec<Value>> = Vec::new();
        for (token, worker) in [(&ann, &ann_id), (&bob, &bob_id)] {
            let list = call(
                &t,
                token,
                reqwest::Method::GET,
                &format!("{task_path}/data-annotations/samples?limit=100"),
                None,
            )
            .await;
            assert_eq!(list.status, 200, "{b}: {:?}", list.body);
            let samples = list.body["samples"].as_array().unwrap().clone();
            assert_eq!(samples.len(), 2, "{b}: samples are split evenly");
            assert!(
                samples.iter().all(|s| s["worker_id"] == worker.as_str()),
                "{b}: a labeler sees only their own copies"
            );
            mine.push(samples);
        }
        // Deterministic and even: with two labelers, samples alternate.
        let ann_ids: Vec<&str> = mine[0].iter().map(|s| s["sample_id"].as_str().unwrap()).collect();
        assert_eq!(ann_ids, vec![ids[0].as_str(), ids[2].as_str()], "{b}");

        // Ann: a classification and a bndbox on her image, an entity span on her text.
        let ann_batch = json!({"samples": [
            {"sample_id": ids[0], "labels": [
                {"name": "cat", "type": 0},
                {"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[10, 10], [60, 50]]}}
            ]},
            {"sample_id": ids[2], "labels": [{"name": "Person", "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 12}}]}
        ]});
        let put = call(
            &t,
            &ann,
            reqwest::Method::PUT,
            &format!("{task_path}/data-annotations/samples"),
            Some(ann_batch),
        )
        .await;
        assert_eq!(put.status, 200, "{b}: {:?}", put.body);
        assert_eq!(put.body["success"], true, "{b}: {:?}", put.body);
        assert_eq!(put.body["results"][1]["sample_id"], ids[2].as_str());

        // Bob labels his, and fails where he reaches for Ann's sample or names Ann.
        let bob_batch = json!({"samples": [
            {"sample_id": ids[1], "labels": [{"name": "car", "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[0, 0], [99, 79]]}}]},
            {"sample_id": ids[3], "labels": [{"name": "Person", "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 12}}]},
            {"sample_id": ids[0], "labels": [{"name": "cat"}]},
            {"sample_id": ids[1], "worker_id": ann_id, "labels": [{"name": "cat"}]}
        ]});
        let put = call(
            &t,
            &bob,
            reqwest::Method::PUT,
            &format!("{task_path}/data-annotations/samples"),
            Some(bob_batch),
        )
        .await;
        assert_eq!(put.status, 200, "{b}: {:?}", put.body);
        assert_eq!(put.body["success"], false);
        assert_eq!(put.body["results"][0]["success"], true);
        assert_eq!(put.body["results"][1]["success"], true);
        assert_eq!(
            put.body["results"][2]["error_code"], "ModelArts.4600",
            "{b}: not assigned to Bob"
        );
        assert_eq!(
            put.body["results"][3]["error_code"], "ModelArts.4600",
            "{b}: Bob may not write Ann's copy"
        );
        assert_eq!(put.body["error_code"], "ModelArts.4600");

        the_owner_reads_writes_and_counts_both_labelers_work(&t, &ds, &ids, &task_path, &ann, &ann_id, &bob_id).await;
    }
}

/// The second half of the team flow: the owner reads both labelers' work, writes on behalf of
/// a labeler and clears labels; stats, progress, member task lists and history follow, and
/// the dataset's own labels stay untouched.
async fn the_owner_reads_writes_and_counts_both_labelers_work(
    t: &TestApp,
    ds: &str,
    ids: &[String],
    task_path: &str,
    ann: &str,
    ann_id: &str,
    bob_id: &str,
) {
    let b = t.backend;
    // The owner sees both labelers' labels with labelers and worker_id filled.
    let all = t.get(&format!("{task_path}/data-annotations/samples?limit=100")).await;
    assert_eq!(all.body["sample_count"], 4, "{b}");
    let by_id = |id: &str| {
        all.body["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sample_id"] == id)
            .unwrap()
            .clone()
    };
    let a0 = by_id(&ids[0]);
    assert_eq!(a0["worker_id"], ann_id);
    assert_eq!(
        a0["labelers"],
        json!([{"email": "ann@example.com", "worker_id": ann_id, "role": 0}])
    );
    assert_eq!(a0["labels"].as_array().unwrap().len(), 2);
    assert_eq!(
        a0["sample_status"], "__UNCHECK__",
        "{b}: no reviewers, so labeled copies wait for acceptance"
    );
    assert_eq!(a0["version"], 1);
    let b1 = by_id(&ids[1]);
    assert_eq!(b1["worker_id"], bob_id);
    assert_eq!(
        b1["labels"][0]["property"]["@modelarts:feature"],
        json!([[0, 0], [99, 79]])
    );
    let unchecked = t
        .get(&format!(
            "{task_path}/data-annotations/samples?sample_state=__uncheck__"
        ))
        .await;
    assert_eq!(unchecked.body["sample_count"], 4);
    let one = t
        .get(&format!(
            "{task_path}/data-annotations/samples/{}?worker_id={bob_id}",
            ids[3]
        ))
        .await;
    assert_eq!(one.status, 200, "{b}: {:?}", one.body);
    assert_eq!(one.body["labels"][0]["name"], "Person");

    // The owner writes on behalf of Bob (by email), then clears Ann's text labels.
    let on_behalf = t
        .put(
            &format!("{task_path}/data-annotations/samples"),
            json!({"email": "bob@example.com", "samples": [
                {"sample_id": ids[1], "labels": [{"name": "cat"}], "sample_usage": "train"}
            ]}),
        )
        .await;
    assert_eq!(on_behalf.body["success"], true, "{b}: {:?}", on_behalf.body);
    let clear = t
        .put(
            &format!("{task_path}/data-annotations/samples"),
            json!({"samples": [{"sample_id": ids[2], "worker_id": ann_id}]}),
        )
        .await;
    assert_eq!(clear.body["success"], true, "{b}: {:?}", clear.body);
    let cleared = t
        .get(&format!("{task_path}/data-annotations/samples/{}", ids[2]))
        .await
        .body;
    assert_eq!(
        (
            cleared["labels"].as_array().unwrap().len(),
            cleared["sample_status"].as_str()
        ),
        (0, Some("__NONE__"))
    );

    // Statistics and member progress count from stored state.
    let stats = t.get(&format!("{task_path}/data-annotations/stats")).await.body;
    assert_eq!(stats["sample_stats"]["uncheck"], 3, "{b}: {stats}");
    assert_eq!(stats["sample_stats"]["un_annotation"], 1);
    let metrics = t.get(&format!("{task_path}/metrics")).await.body;
    assert_eq!(
        metrics["sample_stats"]["ann@example.com"]["uncheck"], 1,
        "{b}: {metrics}"
    );
    assert_eq!(metrics["sample_stats"]["bob@example.com"]["uncheck"], 2);
    let my_tasks = call(t, ann, reqwest::Method::GET, "/workforces/worker-tasks", None).await;
    assert_eq!(my_tasks.body["count"], 1, "{b}: {:?}", my_tasks.body);
    assert_eq!(
        my_tasks.body["worker_tasks"][0]["sample_stats"]["uncheck_sample_count"],
        1
    );

    // The history says who changed what, newest first.
    let history = t
        .get(&format!("/datasets/{ds}/data-annotations/samples/{}/history", ids[1]))
        .await;
    assert_eq!(history.status, 200, "{b}: {:?}", history.body);
    assert_eq!(history.body["total_number"], 2);
    let newest = &history.body["history"][0];
    assert_eq!(newest["actor_email"], "owner@example.com");
    assert_eq!(newest["worker_id"], bob_id);
    assert_eq!(newest["labels_before"][0]["name"], "car");
    assert_eq!(newest["labels_after"][0]["name"], "cat");
    let oldest = &history.body["history"][1];
    assert_eq!(oldest["actor_email"], "bob@example.com");
    assert_eq!(
        (oldest["state_before"].as_str(), oldest["state_after"].as_str()),
        (Some("__NONE__"), Some("__UNCHECK__"))
    );

    // Team labels stay in the task: the dataset's own labels are untouched.
    let plain = t
        .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[0]))
        .await
        .body;
    assert_eq!(plain["labels"], json!([]), "{b}");
}

#[tokio::test]
async fn the_dataset_batch_update_replaces_labels_and_records_history() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let ds = t.dataset("cls", 0, json!([{"name": "cat"}, {"name": "dog"}])).await;
        let ids = t
            .samples(
                &ds,
                json!([{"source": "http://x/1.jpg"}, {"source": "http://x/2.jpg", "labels": [{"name": "dog"}]}]),
            )
            .await;
        let put = t
            .put(
                &format!("/datasets/{ds}/data-annotations/samples"),
                json!({"samples": [
                    {"sample_id": ids[0], "labels": [{"name": "cat"}], "sample_usage": "EVAL"},
                    {"sample_id": ids[1]},
                    {"sample_id": "0123456789abcdef0123456789abcdef", "labels": [{"name": "cat"}]}
                ]}),
            )
            .await;
        assert_eq!(put.status, 200, "{b}: {:?}", put.body);
        assert_eq!(put.body["success"], false);
        assert_eq!(put.body["results"][2]["error_code"], "ModelArts.4420");
        let s0 = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[0]))
            .await
            .body;
        assert_eq!(
            (s0["labels"][0]["name"].as_str(), s0["sample_status"].as_str()),
            (Some("cat"), Some("MANUAL_ANNOTATION"))
        );
        let s1 = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[1]))
            .await
            .body;
        assert_eq!(
            (s1["labels"].as_array().unwrap().len(), s1["sample_status"].as_str()),
            (0, Some("UN_ANNOTATION")),
            "{b}: no labels deletes them"
        );
        let h = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}/history", ids[1]))
            .await
            .body;
        assert_eq!(h["history"][0]["labels_before"][0]["name"], "dog");
        assert_eq!(h["history"][0]["state_after"], "UN_ANNOTATION");

        // Atomic: one bad item, nothing applied, 400 with per-item results.
        let atomic = t
            .put(
                &format!("/datasets/{ds}/data-annotations/samples?atomic=true"),
                json!({"samples": [
                    {"sample_id": ids[1], "labels": [{"name": "cat"}]},
                    {"sample_id": ids[0], "labels": [{"name": "bird"}]}
                ]}),
            )
            .await;
        assert_eq!(atomic.status, 400, "{b}: {:?}", atomic.body);
        assert_eq!(atomic.body["error_code"], "ModelArts.4410");
        assert_eq!(atomic.body["results"][0]["error_code"], "ModelArts.4417");
        let s1 = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[1]))
            .await
            .body;
        assert_eq!(s1["labels"], json!([]), "{b}: nothing applied");
    }
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_answers_the_first_response_and_writes_nothing() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let ds = t.dataset("idem", 0, json!([{"name": "cat"}, {"name": "dog"}])).await;
        let ids = t
            .samples(&ds, json!([{"source": "http://x/1.jpg"}, {"source": "http://x/2.jpg"}]))
            .await;
        let path = format!("/datasets/{ds}/data-annotations/samples");
        let send = |key: &'static str, body: Value| {
            let url = t.url(&path);
            let token = t.token.clone();
            let client = t.client.clone();
            async move {
                let res = client
                    .put(url)
                    .header("X-Auth-Token", token)
                    .header("X-Idempotency-Key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            }
        };
        let body = json!({"samples": [{"sample_id": ids[0], "labels": [{"name": "cat"}]}, {"sample_id": "0123456789abcdef0123456789abcdef"}]});
        let first = send("retry-1", body.clone()).await;
        assert_eq!(first.0, 200, "{b}: {:?}", first.1);
        assert_eq!(
            first.1["success"], false,
            "{b}: one item fails, and that answer is kept too"
        );
        let history = |id: String| {
            let t = &t;
            let ds = ds.clone();
            async move {
                t.get(&format!("/datasets/{ds}/data-annotations/samples/{id}/history"))
                    .await
                    .body["total_number"]
                    .clone()
            }
        };
        assert_eq!(history(ids[0].clone()).await, 1);

        // Change the sample in between: a replay must not write the old labels again.
        let other = t
            .put(
                &path,
                json!({"samples": [{"sample_id": ids[0], "labels": [{"name": "dog"}]}]}),
            )
            .await;
        assert_eq!(other.body["success"], true);
        let again = send("retry-1", body.clone()).await;
        assert_eq!(again, first, "{b}: the same answer");
        assert_eq!(history(ids[0].clone()).await, 2, "{b}: nothing written again");
        let s = t.get(&format!("{path}/{}", ids[0])).await.body;
        assert_eq!(s["labels"][0]["name"], "dog");

        let different = send(
            "retry-1",
            json!({"samples": [{"sample_id": ids[1], "labels": [{"name": "cat"}]}]}),
        )
        .await;
        assert_eq!(different.0, 409, "{b}: {:?}", different.1);
        assert_eq!(different.1["error_code"], "ModelArts.4691");
        assert_eq!(
            t.get(&format!("{path}/{}", ids[1])).await.body["labels"],
            json!([]),
            "{b}: nothing written"
        );

        let bad_key = send("", body.clone()).await;
        assert_eq!(
            (bad_key.0, bad_key.1["error_code"].as_str()),
            (400, Some("ModelArts.0101"))
        );
    }
}

#[tokio::test]
async fn a_labeler_sees_a_task_in_their_task_list_once_it_has_started() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let ds = t.dataset("visible", 0, json!([{"name": "cat"}])).await;
        t.samples(&ds, json!([{"source": "http://x/1.jpg"}])).await;
        let team = t.post("/workforces", json!({"workforce_name": "crew"})).await.body["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        t.post(
            &format!("/workforces/{team}/workers"),
            json!({"emails": "ann@example.com", "role": 0}),
        )
        .await;
        let task = t
            .post(
                &format!("/datasets/{ds}/workforce-tasks"),
                json!({"task_name": "t1", "workforces_config": {"workforces": [{"workforce_id": team}]}}),
            )
            .await;
        let task = task.body["task_id"].as_str().unwrap().to_string();
        let (ann, _) = t.app.create_token(&t.project_id, "ann@example.com", 24).await.unwrap();
        let before = call(&t, &ann, reqwest::Method::GET, "/workforces/worker-tasks", None).await;
        assert_eq!(
            (
                before.body["count"].as_u64(),
                before.body["worker_tasks"].as_array().map(Vec::len)
            ),
            (Some(0), Some(0)),
            "{b}: {:?}",
            before.body
        );
        t.post(&format!("/datasets/{ds}/workforce-tasks/{task}"), json!({}))
            .await;
        let after = call(&t, &ann, reqwest::Method::GET, "/workforces/worker-tasks", None).await;
        assert_eq!(after.body["count"], 1, "{b}: {:?}", after.body);
        assert_eq!(after.body["worker_tasks"][0]["task_status"], 1);
        let paged = call(
            &t,
            &ann,
            reqwest::Method::GET,
            "/workforces/worker-tasks?offset=1&limit=1",
            None,
        )
        .await;
        assert_eq!(
            (
                paged.body["count"].as_u64(),
                paged.body["worker_tasks"].as_array().map(Vec::len)
            ),
            (Some(1), Some(0))
        );
    }
}

/// A team manager manages the members of their own team (list, add, change, remove) and
/// nothing else: not another team's members, not the teams themselves.
#[tokio::test]
async fn a_team_manager_manages_the_members_of_their_own_team_only() {
    use reqwest::Method;
    for t in crate::helpers::spawn_all().await {
        let team = t.post("/workforces", json!({"workforce_name": "mine"})).await.body["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        let other = t.post("/workforces", json!({"workforce_name": "theirs"})).await.body["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        for (who, role, at) in [("mia@example.com", 2, &team), ("oscar@example.com", 0, &other)] {
            let a = t
                .post(
                    &format!("/workforces/{at}/workers"),
                    json!({"emails": who, "role": role}),
                )
                .await;
            assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
        }
        let (mia, _) = t.app.create_token(&t.project_id, "mia@example.com", 24).await.unwrap();
        let members = format!("/workforces/{team}/workers");

        let a = call(&t, &mia, Method::GET, &format!("/workforces/{team}"), None).await;
        assert_eq!(a.status, 200, "{}: {:?}", t.backend, a.body);
        let a = call(
            &t,
            &mia,
            Method::POST,
            &members,
            Some(json!({"emails": "lea@example.com", "role": 0})),
        )
        .await;
        assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
        let a = call(&t, &mia, Method::GET, &members, None).await;
        assert_eq!(a.body["total_number"], 2, "{}: {:?}", t.backend, a.body);
        let lea = a.body["workers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["email"] == "lea@example.com")
            .unwrap()["worker_id"]
            .as_str()
            .unwrap()
            .to_string();
        let a = call(
            &t,
            &mia,
            Method::PUT,
            &format!("{members}/{lea}"),
            Some(json!({"role": 1})),
        )
        .await;
        assert_eq!(a.status, 200, "{}: {:?}", t.backend, a.body);
        let a = call(&t, &mia, Method::GET, &format!("{members}/{lea}"), None).await;
        assert_eq!(a.body["role"], 1, "{}: {:?}", t.backend, a.body);
        let a = call(&t, &mia, Method::DELETE, &format!("{members}/{lea}"), None).await;
        assert_eq!(a.status, 204, "{}: {:?}", t.backend, a.body);

        // Not another team, not the teams themselves, not the project's member list.
        let before = t.get(&format!("/workforces/{other}/workers")).await.body;
        for (method, path, body) in [
            (Method::GET, format!("/workforces/{other}"), None),
            (Method::GET, format!("/workforces/{other}/workers"), None),
            (
                Method::POST,
                format!("/workforces/{other}/workers"),
                Some(json!({"emails": "eve@example.com", "role": 0})),
            ),
            (
                Method::PUT,
                format!("/workforces/{team}"),
                Some(json!({"description": "renamed"})),
            ),
            (Method::DELETE, format!("/workforces/{team}"), None),
            (
                Method::POST,
                "/workforces".to_string(),
                Some(json!({"workforce_name": "new"})),
            ),
            (Method::GET, "/workforces".to_string(), None),
            (Method::GET, "/workforces/workers".to_string(), None),
        ] {
            let a = call(&t, &mia, method.clone(), &path, body).await;
            assert_eq!(
                (a.status, a.code()),
                (403, "ModelArts.0108"),
                "{}: {method} {path}: {:?}",
                t.backend,
                a.body
            );
        }
        assert_eq!(t.get(&format!("/workforces/{other}/workers")).await.body, before);
        assert_eq!(t.get("/workforces").await.body["total_number"], 2, "{}", t.backend);
    }
}
