//! Batches of the team label update: order, atomic batches, versions against lost updates,
//! and the history they leave.

use super::*;

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
