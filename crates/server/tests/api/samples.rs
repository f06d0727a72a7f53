//! Samples over HTTP, the happy path: added, listed, filtered, read, downloaded, counted and
//! deleted; text samples with entities and triplets checked against their text, and carrying
//! their text (`sample_data`) in dataset and team answers.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use teamlabel_api::enums::{SampleStatus, SampleType};
use teamlabel_client::Method;
use teamlabel_core::store::SampleRecord;

use crate::helpers::{add_member, call, expect, names, token, TestApp};

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
        let source = source
            .strip_prefix(t.client.base_url())
            .unwrap_or_else(|| panic!("{b}: {source} is on this server"))
            .to_string();

        let file = t.send(Method::GET, &source, Some(&t.token), None).await;
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
            t.send(Method::GET, &source, None, None).await.status,
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
    assert_eq!(t.send(Method::GET, source, Some(&t.token), None).await.status, 404);
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
                Method::GET,
                &t.path(&format!("/datasets/{triplet}/data-annotations/samples/{}/file", ids[0])),
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
                Method::GET,
                &t.path(&format!("/datasets/{audio}/data-annotations/samples/{}/file", ids[0])),
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

/// The longest text answered in `sample_data`, in UTF-8 bytes.
const TEXT_LIMIT: usize = 64 * 1024;

/// A text of exactly `bytes` UTF-8 bytes, of one- to four-byte characters, ending in a
/// multi-byte one (so a count of characters instead of bytes misses the limit).
fn text_of(bytes: usize) -> String {
    let mut s = String::new();
    for c in "Zoë 数学😀".chars().cycle() {
        if s.len() + c.len_utf8() + 4 > bytes {
            break;
        }
        s.push(c);
    }
    while s.len() + 4 < bytes {
        s.push('a');
    }
    s.push(match bytes - s.len() {
        4 => '😀',
        3 => '数',
        2 => 'ë',
        _ => unreachable!(),
    });
    assert_eq!(s.len(), bytes);
    s
}

/// A `sample_data` value, short enough for a failure message.
fn brief(v: Option<&Value>) -> String {
    match v {
        None => "no sample_data".into(),
        Some(Value::Array(a)) if a.len() == 1 && a[0].is_string() => {
            let text = a[0].as_str().unwrap();
            let start: String = text.chars().take(24).collect();
            format!("[a text of {} bytes starting {start:?}]", text.len())
        }
        Some(other) => {
            let shown = other.to_string();
            shown.chars().take(80).collect()
        }
    }
}

/// Checks the `sample_data` of every listed or read sample against the text expected by name:
/// `[text]`, or no `sample_data` key at all.
#[track_caller]
fn check_sample_data(t: &TestApp, what: &str, samples: &[Value], want: &BTreeMap<String, Option<String>>) {
    for s in samples {
        let name = s["sample_name"].as_str().unwrap();
        let expected = want
            .get(name)
            .unwrap_or_else(|| panic!("{}: {what}: no sample {name} expected", t.backend))
            .as_ref()
            .map(|text| json!([text]));
        let got = s.get("sample_data");
        assert!(
            got == expected.as_ref(),
            "{} {what}: {name} answers {}, not {}",
            t.backend,
            brief(got),
            brief(expected.as_ref())
        );
    }
}

#[tokio::test]
async fn text_samples_carry_their_text_in_dataset_and_team_answers_up_to_64_kib() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let full = text_of(TEXT_LIMIT);
    let over = text_of(TEXT_LIMIT + 1);
    assert!(
        over.chars().count() < TEXT_LIMIT,
        "the limit is in bytes, not characters"
    );
    let short = "Zoë Ångström schrieb 数学, \"quoted\"\nand a second line 😀";
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let ds = t.dataset("texts", 100, json!([{"name": "positive"}])).await;
        // Name, request item, expected `sample_data` text.
        let cases: Vec<(&str, Value, Option<String>)> = vec![
            ("short.txt", json!({"data": b64(short)}), Some(short.into())),
            ("full.txt", json!({"data": b64(&full)}), Some(full.clone())),
            ("over.txt", json!({"data": b64(&over)}), None),
            ("empty.txt", json!({"data": ""}), Some(String::new())),
            // PostgreSQL text holds no NUL: such a text is answered from its blob.
            (
                "nul.txt",
                json!({"data": b64("before\0after")}),
                Some("before\0after".into()),
            ),
            (
                "given.txt",
                json!({"source": format!("content://{short}")}),
                Some(short.into()),
            ),
            (
                "given-full.txt",
                json!({"source": format!("content://{full}")}),
                Some(full.clone()),
            ),
            ("given-over.txt", json!({"source": format!("content://{over}")}), None),
            (
                "linked.txt",
                json!({"source": "https://texts.example.com/linked.txt"}),
                None,
            ),
            // Not text samples, though their bytes or reference are text.
            ("words.bin", json!({"data": b64("plain words"), "sample_type": 9}), None),
            (
                "given.bin",
                json!({"source": "content://plain words", "sample_type": 9}),
                None,
            ),
        ];
        let items: Vec<Value> = cases
            .iter()
            .map(|(name, item, _)| {
                let mut item = item.clone();
                item["name"] = json!(name);
                item
            })
            .collect();
        let ids = t.samples(&ds, Value::Array(items)).await;
        let mut want: BTreeMap<String, Option<String>> = cases
            .iter()
            .map(|(name, _, text)| (name.to_string(), text.clone()))
            .collect();

        // A text uploaded before texts were kept in their row: read from its blob.
        let old = "written before texts were kept: ünïcode";
        let now = teamlabel_core::clock::now_ms();
        t.app
            .store
            .insert_samples(&[SampleRecord {
                id: teamlabel_core::ids::new_hex32(),
                dataset_id: ds.clone(),
                name: "old.txt".into(),
                sample_type: SampleType::Text,
                source: None,
                blob_sha256: Some(t.app.blobs.put(old.as_bytes()).await.unwrap()),
                content_type: Some("text/plain; charset=utf-8".into()),
                size: old.len() as i64,
                text_len: Some(old.chars().count() as i64),
                inline_text: None,
                metadata: Default::default(),
                sample_usage: None,
                status: SampleStatus::UnAnnotation,
                sample_time: now,
                update_time: now,
                version: 0,
                labels: Vec::new(),
            }])
            .await
            .unwrap();
        want.insert("old.txt".into(), Some(old.into()));

        let samples = format!("/datasets/{ds}/data-annotations/samples");
        let list = expect(&t, "list", &t.get(&format!("{samples}?limit=100")).await, 200);
        let listed = list["samples"].as_array().unwrap();
        assert_eq!(listed.len(), want.len(), "{b}: {list}");
        check_sample_data(&t, "dataset list", listed, &want);
        for s in listed {
            let id = s["sample_id"].as_str().unwrap();
            let one = expect(&t, "get", &t.get(&format!("{samples}/{id}")).await, 200);
            check_sample_data(&t, "dataset get", std::slice::from_ref(&one), &want);
        }

        // A longer text is read by its source: the stored file, or the `content://` reference.
        let over_id = &ids[2];
        let got = expect(&t, "get over", &t.get(&format!("{samples}/{over_id}")).await, 200);
        let source = got["source"].as_str().unwrap();
        let source = source.strip_prefix(t.client.base_url()).unwrap_or(source);
        let file = t.send(Method::GET, source, Some(&t.token), None).await;
        assert_eq!((file.status, file.bytes.as_slice()), (200, over.as_bytes()), "{b}");
        let given_over = listed.iter().find(|s| s["sample_name"] == "given-over.txt").unwrap();
        assert_eq!(given_over["source"], format!("content://{over}"), "{b}");

        // The same texts on the team copies, for the labeler and the owner.
        let team = expect(
            &t,
            "team",
            &t.post("/workforces", json!({"workforce_name": "readers"})).await,
            201,
        );
        let team = team["workforce_id"].as_str().unwrap();
        let ann = "ann@example.com";
        add_member(&t, team, ann, 0).await;
        let task = t
            .post(
                &format!("/datasets/{ds}/workforce-tasks"),
                json!({"task_name": "read", "repetition": 1, "workforces_config":
                    {"workforces": [{"workforce_id": team, "workers": [{"email": ann}]}]}}),
            )
            .await;
        let task_id = expect(&t, "create task", &task, 200)["task_id"]
            .as_str()
            .unwrap()
            .to_string();
        let task = format!("/datasets/{ds}/workforce-tasks/{task_id}");
        expect(&t, "start", &t.post(&task, json!({})).await, 200);
        let ann_token = token(&t, ann).await;
        for (who, tok) in [("labeler", ann_token.as_str()), ("owner", t.token.as_str())] {
            let path = format!("{task}/data-annotations/samples");
            let list = expect(
                &t,
                who,
                &call(&t, tok, Method::GET, &format!("{path}?limit=100"), None).await,
                200,
            );
            let listed = list["samples"].as_array().unwrap();
            assert_eq!(listed.len(), want.len(), "{b} {who}: {list}");
            check_sample_data(&t, &format!("team list as {who}"), listed, &want);
            for s in listed {
                let id = s["sample_id"].as_str().unwrap();
                let one = expect(
                    &t,
                    who,
                    &call(&t, tok, Method::GET, &format!("{path}/{id}"), None).await,
                    200,
                );
                check_sample_data(&t, &format!("team get as {who}"), std::slice::from_ref(&one), &want);
            }
        }
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
