//! Samples over HTTP, the happy path: added, listed, filtered, read, downloaded, counted and
//! deleted; text samples with entities and triplets checked against their text.

use serde_json::json;

use crate::helpers::{names, TestApp};

#[tokio::test]
async fn samples_are_added_listed_read_downloaded_counted_and_deleted() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let ds = t
            .dataset(
                "detect",
                1,
                json!([{"name": "car"}, {"name": "bus", "property": {"@modelarts:default_shape": "bndbox"}}]),
            )
            .await;
        let png = crate::helpers::png_b64(64, 48);
        let added = t
            .post(
                &format!("/datasets/{ds}/data-annotations/samples"),
                json!({"samples": [
                    {"name": "1.png", "data": png, "labels": [{"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2], [60, 40]]}}]},
                    {"name": "2.png", "data": crate::helpers::png_b64(8, 8)},
                    {"source": "https://images.example.com/cars/3.jpg", "metadata": {"@modelarts:size": [1242, 375, 3]},
                     "labels": [{"name": "bus", "property": {"@modelarts:shape": "polygon", "@modelarts:feature": [[0, 100], [50, 95], [10, 60]]}}]}
                ]}),
            )
            .await;
        assert_eq!(added.status, 200, "{b}: {:?}", added.body);
        assert_eq!(added.body["success"], true, "{b}: {:?}", added.body);
        let ids: Vec<String> = added.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["info"].as_str().unwrap().to_string())
            .collect();
        assert!(ids
            .iter()
            .all(|i| i.len() == 32 && i.chars().all(|c| c.is_ascii_hexdigit())));
        assert_eq!(
            added.body["results"][2]["name"], "3.jpg",
            "{b}: a reference's name is its file name"
        );

        let one = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[0]))
            .await;
        assert_eq!(one.status, 200);
        let s = &one.body;
        assert_eq!(s["sample_name"], "1.png");
        assert_eq!(s["sample_type"], 0);
        assert_eq!(s["sample_status"], "MANUAL_ANNOTATION");
        assert_eq!(
            s["metadata"]["@modelarts:size"],
            json!([64, 48, 3]),
            "{b}: size read from the bytes"
        );
        assert_eq!(
            s["labels"][0]["property"]["@modelarts:feature"],
            json!([[1, 2], [60, 40]])
        );
        let source = s["source"].as_str().unwrap().to_string();
        assert!(source.ends_with(&format!("/samples/{}/file", ids[0])), "{source}");

        let file = t.send(reqwest::Method::GET, &source, Some(&t.token), None).await;
        assert_eq!(file.status, 200);
        assert_eq!(file.headers["content-type"], "image/png");
        assert_eq!(file.headers["x-content-type-options"], "nosniff");
        assert!(
            file.headers.get("content-disposition").is_none(),
            "{b}: images are shown inline"
        );
        use base64::Engine;
        assert_eq!(
            file.bytes,
            base64::engine::general_purpose::STANDARD.decode(&png).unwrap()
        );
        assert_eq!(
            t.send(reqwest::Method::GET, &source, None, None).await.status,
            401,
            "{b}: bytes need credentials"
        );

        let third = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[2]))
            .await
            .body;
        assert_eq!(
            third["source"], "https://images.example.com/cars/3.jpg",
            "{b}: references are kept as given"
        );

        samples_are_listed_filtered_counted_and_deleted(&t, &ds, &ids, &source).await;
    }
}

/// The second half of the sample flow: listing, paging, ordering and filtering, statistics,
/// and deletion with its counts; a deleted sample's file (`source`) is gone.
async fn samples_are_listed_filtered_counted_and_deleted(t: &TestApp, ds: &str, ids: &[String], source: &str) {
    let b = t.backend;
    let list = t.get(&format!("/datasets/{ds}/data-annotations/samples?limit=2")).await;
    assert_eq!(list.body["sample_count"], 3);
    assert_eq!(
        names(&list.body, "samples", "sample_id"),
        vec![ids[2].clone(), ids[1].clone()],
        "{b}: newest first"
    );
    let asc = t
        .get(&format!(
            "/datasets/{ds}/data-annotations/samples?limit=2&offset=1&order=asc"
        ))
        .await;
    assert_eq!(names(&asc.body, "samples", "sample_id"), vec![ids[2].clone()]);
    for (query, expected) in [
        ("sample_state=__NONE__", vec![ids[1].clone()]),
        ("sample_state=__ALL__&order=asc", vec![ids[0].clone(), ids[2].clone()]),
        ("label_name=car", vec![ids[0].clone()]),
        ("label_name=bus&label_type=1", vec![ids[2].clone()]),
        ("label_name=nothing", vec![]),
        ("sample_type=0&sample_state=__NONE__", vec![ids[1].clone()]),
    ] {
        let a = t.get(&format!("/datasets/{ds}/data-annotations/samples?{query}")).await;
        assert_eq!(a.status, 200, "{b}: {query}: {:?}", a.body);
        assert_eq!(names(&a.body, "samples", "sample_id"), expected, "{b}: {query}");
        assert_eq!(a.body["sample_count"], expected.len(), "{b}: {query}");
    }
    let cond =
        json!([{"label_list": {"op": "OR", "labels": [{"name": "car", "type": 1}, {"name": "bus"}]}}]).to_string();
    let cond = percent_encode(&cond);
    let a = t
        .get(&format!(
            "/datasets/{ds}/data-annotations/samples?search_conditions={cond}"
        ))
        .await;
    assert_eq!(a.body["sample_count"], 2, "{b}: {:?}", a.body);
    let cond = percent_encode(&json!([{"sample_name": "2.png"}]).to_string());
    let a = t
        .get(&format!(
            "/datasets/{ds}/data-annotations/samples?search_conditions={cond}"
        ))
        .await;
    assert_eq!(names(&a.body, "samples", "sample_id"), vec![ids[1].clone()]);

    let stats = t.get(&format!("/datasets/{ds}/data-annotations/stats")).await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.body["sample_stats"]["total"], 3);
    assert_eq!(stats.body["sample_stats"]["un_annotation"], 1);
    assert_eq!(stats.body["sample_stats"]["manual_annotation"], 2);
    assert_eq!(stats.body["label_stats"][0]["name"], "car");
    assert_eq!(
        (
            stats.body["label_stats"][0]["count"].as_u64(),
            stats.body["label_stats"][0]["sample_count"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let d = t.get(&format!("/datasets/{ds}")).await.body;
    assert_eq!(
        (d["total_sample_count"].as_u64(), d["annotated_sample_count"].as_u64()),
        (Some(3), Some(2))
    );

    let del = t
        .post(
            &format!("/datasets/{ds}/data-annotations/samples/delete"),
            json!({"samples": [ids[0], ids[1]], "delete_source": true}),
        )
        .await;
    assert_eq!(del.status, 200);
    assert_eq!(del.body["success"], true, "{b}: {:?}", del.body);
    assert_eq!(
        t.get(&format!("/datasets/{ds}/data-annotations/samples")).await.body["sample_count"],
        1
    );
    assert_eq!(
        t.send(reqwest::Method::GET, source, Some(&t.token), None).await.status,
        404
    );
}

#[tokio::test]
async fn text_samples_carry_entities_and_triplets_checked_against_the_text() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let ner = t.dataset("ner", 101, json!([{"name": "Person"}])).await;
        let ids = t
            .samples(&ner, json!([
                {"source": "content://Hope is the thing with feathers", "labels": [{"name": "Person", "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 4}}]}
            ]))
            .await;
        let s = t
            .get(&format!("/datasets/{ner}/data-annotations/samples/{}", ids[0]))
            .await
            .body;
        assert_eq!(s["sample_type"], 1);
        assert_eq!(s["sample_size"], 31);
        assert_eq!(s["source"], "content://Hope is the thing with feathers");
        let past_end = t
            .post(&format!("/datasets/{ner}/data-annotations/samples"), json!({"samples": [
                {"source": "content://héllo", "labels": [{"name": "Person", "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 6}}]}
            ]}))
            .await;
        assert_eq!(
            past_end.body["results"][0]["error_code"], "ModelArts.4413",
            "{b}: spans count characters, not bytes"
        );

        let triplet = t
            .dataset("tri", 102, json!([
                {"name": "Person", "type": 103}, {"name": "Book", "type": 103},
                {"name": "Author", "type": 102, "property": {"@modelarts:from_type": "Person", "@modelarts:to_type": "Book"}}
            ]))
            .await;
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD.encode("Moby Dick was written by Herman Melville.");
        let ids = t
            .samples(&triplet, json!([{"name": "moby.txt", "data": text, "labels": [
                {"id": "E1", "name": "Person", "type": 103, "property": {"@modelarts:start_index": 25, "@modelarts:end_index": 39}},
                {"id": "E2", "name": "Book", "type": 103, "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 9}},
                {"id": "R1", "name": "Author", "type": 102, "property": {"@modelarts:from": "E1", "@modelarts:to": "E2"}}
            ]}]))
            .await;
        let s = t
            .get(&format!("/datasets/{triplet}/data-annotations/samples/{}", ids[0]))
            .await
            .body;
        assert_eq!(s["labels"].as_array().unwrap().len(), 3, "{b}");
        assert_eq!(s["labels"][2]["id"], "R1");
        let file = t
            .send(
                reqwest::Method::GET,
                &t.url(&format!("/datasets/{triplet}/data-annotations/samples/{}/file", ids[0])),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(file.headers["content-type"], "text/plain; charset=utf-8");

        let audio = t.dataset("speech", 202, json!([{"name": "speaker"}])).await;
        let ids = t
            .samples(&audio, json!([{"name": "talk.wav", "data": base64::engine::general_purpose::STANDARD.encode(b"RIFF....WAVE"), "labels": [
                {"name": "speaker", "property": {"@modelarts:start_time": "00:00:01.000", "@modelarts:end_time": "00:00:02.500", "@modelarts:content": "hello", "@modelarts:source": "Ann"}}
            ]}]))
            .await;
        let file = t
            .send(
                reqwest::Method::GET,
                &t.url(&format!("/datasets/{audio}/data-annotations/samples/{}/file", ids[0])),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(
            file.headers["content-disposition"], "attachment; filename=\"talk.wav\"",
            "{b}: non-images are attachments"
        );
        assert_eq!(file.headers["x-content-type-options"], "nosniff");
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || b"-_.~".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}
