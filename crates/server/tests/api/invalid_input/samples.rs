//! Bad sample items, batches and queries; unknown samples and files; oversize bodies.

use super::*;

#[tokio::test]
async fn bad_sample_items_fail_alone_inside_a_200_and_store_nothing() {
    for t in crate::helpers::spawn_all().await {
        let img = t.dataset("images", 0, json!([{"name": "Cat"}])).await;
        let det = t.dataset("boxes", 1, json!([{"name": "Car"}])).await;
        let txt = t.dataset("texts", 100, json!([{"name": "Pos"}])).await;
        t.samples(&img, json!([{"source": "http://x/existing.png"}])).await;
        let png = png_b64(10, 10);
        let not_utf8 = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, 0xfd]);
        #[rustfmt::skip]
        let rows: Vec<(&str, &str, Value, &str, &str)> = vec![
            ("bad base64", &img, json!({"name": "b64.png", "data": "@@not base64@@"}), UPLOAD_FAILED, "data is not valid base64"),
            ("none of data/source/data_source", &img, json!({"name": "none.png"}), UPLOAD_FAILED, "exactly one of data"),
            ("data and source", &img, json!({"data": png, "source": "http://x/two.png"}), UPLOAD_FAILED, "exactly one of data"),
            ("source and data_source", &img, json!({"source": "http://x/a.png", "data_source": {"data_path": "http://x/a.png"}}), UPLOAD_FAILED, "exactly one of data"),
            ("data_source of data_type 1", &img, json!({"data_source": {"data_path": "http://x/a.png", "data_type": 1}}), UPLOAD_FAILED, "data_source.data_type"),
            ("data_source of a database", &img, json!({"data_source": {"data_path": "http://x/a.png", "source_info": {"cluster_id": "c1"}}}), UPLOAD_FAILED, "data_source.source_info: table and database sources are not supported"),
            ("sample_type 7", &img, json!({"source": "http://x/t7.png", "sample_type": 7}), INVALID, "sample_type: 7"),
            ("sample_type 1 in an image dataset", &img, json!({"source": "http://x/t1.png", "sample_type": 1}), INVALID, "sample_type 1 does not fit"),
            ("name of an existing sample", &img, json!({"source": "http://y/existing.png"}), SAMPLE_EXISTS, "\"existing.png\""),
            ("explicit name of an existing sample", &img, json!({"name": "existing.png", "source": "http://x/other.png"}), SAMPLE_EXISTS, "\"existing.png\""),
            ("name with <", &img, json!({"name": "a<b.png", "source": "http://x/c.png"}), INVALID, "name must not contain"),
            ("name with a quote", &img, json!({"name": "a\"b.png", "source": "http://x/c.png"}), INVALID, "name must not contain"),
            ("empty name", &img, json!({"name": "", "source": "http://x/c.png"}), INVALID, "name must not be empty"),
            ("unknown label", &img, json!({"source": "http://x/u.png", "labels": [{"name": "Nobody"}]}), LABEL_NOT_FOUND, "labels[0]"),
            ("label of a foreign type", &img, json!({"source": "http://x/f.png", "labels": [{"name": "Cat", "type": 1}]}), LABEL_RULE, "labels[0]"),
            ("label score above 1", &img, json!({"source": "http://x/s.png", "labels": [{"name": "Cat", "score": 1.5}]}), LABEL_RULE, "labels[0].score"),
            ("detection label without size on a reference", &det, json!({"source": "http://x/d.png", "labels": bndbox(json!([[1, 1], [5, 5]]))}), SIZE_UNKNOWN, "@modelarts:size"),
            ("bndbox outside the image", &det, json!({"name": "out.png", "data": png, "labels": bndbox(json!([[1, 1], [20, 5]]))}), LABEL_RULE, "outside the image"),
            ("bndbox mirrored", &det, json!({"name": "mirror.png", "data": png, "labels": bndbox(json!([[5, 5], [1, 1]]))}), LABEL_RULE, "x1 < x2"),
            ("bndbox without feature", &det, json!({"name": "nofeat.png", "data": png, "labels": [{"name": "Car", "property": {"@modelarts:shape": "bndbox"}}]}), LABEL_RULE, "@modelarts:feature"),
            ("metadata @modelarts:size [0, 5]", &img, json!({"source": "http://x/m.png", "metadata": {"@modelarts:size": [0, 5]}}), INVALID, "metadata.@modelarts:size"),
            ("unknown @modelarts: metadata key", &img, json!({"source": "http://x/k.png", "metadata": {"@modelarts:sizes": [1, 2]}}), INVALID, "@modelarts:sizes"),
            ("encoding GBK", &img, json!({"source": "http://x/e.png", "encoding": "GBK"}), UPLOAD_FAILED, "encoding \"GBK\""),
            ("content:// in an image dataset", &img, json!({"source": "content://hello"}), UPLOAD_FAILED, "content://"),
            ("a relative source", &img, json!({"source": "x/a.png"}), UPLOAD_FAILED, "source must be"),
            ("text data that is not UTF-8", &txt, json!({"name": "t.txt", "data": not_utf8}), UPLOAD_FAILED, "UTF-8"),
        ];
        let before = project_state(&t).await;
        for (case, ds, item, code, fragment) in &rows {
            let a = t.post(&samples_path(ds), json!({"samples": [item]})).await;
            item_failed(&t, case, &a, 200, 1, 0, code, fragment);
            let msg = a.body["results"][0]["error_msg"].as_str().unwrap_or("");
            assert!(
                msg.starts_with("samples[0]"),
                "{} {case}: the message names the item: {msg:?}",
                t.backend
            );
            assert!(
                a.body["results"][0].get("sample_id").is_none(),
                "{} {case}: a failed item has no sample id: {}",
                t.backend,
                a.body
            );
            assert_eq!(
                project_state(&t).await,
                before,
                "{} {case}: a failed item was stored",
                t.backend
            );
        }
    }
}

#[tokio::test]
async fn a_mixed_sample_batch_commits_exactly_its_valid_items() {
    for t in crate::helpers::spawn_all().await {
        let img = t.dataset("images", 0, json!([{"name": "Cat"}])).await;
        t.samples(&img, json!([{"source": "http://x/existing.png"}])).await;
        let count = |v: &Value| v["samples"]["sample_count"].as_u64().unwrap();
        let before = dataset_state(&t, &img).await;
        let items = json!([
            {"source": "http://x/m1.png", "labels": [{"name": "Cat"}]},
            {"name": "bad.png", "data": "@@"},
            {"name": "m2.png", "data": png_b64(3, 2)},
            {"source": "http://y/m1.png"},
            {"source": "http://x/existing.png"},
            {"source": "http://x/m3.png", "labels": [{"name": "Nobody"}]},
        ]);
        let a = t.post(&samples_path(&img), json!({"samples": items})).await;
        item_failed(&t, "mixed batch", &a, 200, 6, 1, UPLOAD_FAILED, "samples[1]");
        let expect: [(bool, &str); 6] = [
            (true, ""),
            (false, UPLOAD_FAILED),
            (true, ""),
            (false, SAMPLE_EXISTS),
            (false, SAMPLE_EXISTS),
            (false, LABEL_NOT_FOUND),
        ];
        let results = a.body["results"].as_array().unwrap();
        for (i, (ok, code)) in expect.iter().enumerate() {
            assert_eq!(results[i]["success"], *ok, "{} results[{i}]: {}", t.backend, a.body);
            if !ok {
                assert_eq!(
                    results[i]["error_code"], *code,
                    "{} results[{i}]: {}",
                    t.backend, a.body
                );
                let msg = results[i]["error_msg"].as_str().unwrap_or("");
                assert!(
                    msg.starts_with(&format!("samples[{i}]")),
                    "{} results[{i}]: {msg:?}",
                    t.backend
                );
            }
        }
        let after = dataset_state(&t, &img).await;
        assert_eq!(
            count(&after),
            count(&before) + 2,
            "{}: exactly the valid items are stored",
            t.backend
        );
        assert_eq!(
            after["dataset"]["total_sample_count"].as_u64().unwrap(),
            before["dataset"]["total_sample_count"].as_u64().unwrap() + 2,
            "{}",
            t.backend
        );
        let mut names: Vec<&str> = after["samples"]["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sample_name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["existing.png", "m1.png", "m2.png"], "{}", t.backend);
        for i in [0, 2] {
            let id = results[i]["sample_id"].as_str().unwrap();
            let s = read_ok(&t, &format!("{}/{id}", samples_path(&img))).await;
            assert_eq!(s["sample_name"], results[i]["name"], "{}", t.backend);
        }
        // The first item's source still points where it said, not at the duplicate's.
        let m1 = after["samples"]["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sample_name"] == "m1.png")
            .unwrap();
        assert_eq!(m1["source"], "http://x/m1.png", "{}", t.backend);
        assert_eq!(m1["labels"].as_array().unwrap().len(), 1, "{}", t.backend);
    }
}

#[tokio::test]
async fn bad_sample_batches_are_refused_whole_and_store_nothing() {
    for t in crate::helpers::spawn_all().await {
        let img = t.dataset("images", 0, json!([{"name": "Cat"}])).await;
        let txt = t.dataset("texts", 100, json!([{"name": "Pos"}])).await;
        let good = json!({"source": "http://x/good.png"});
        let many: Vec<Value> = (0..1001)
            .map(|i| json!({"source": format!("http://x/{i}.png")}))
            .collect();
        let p = samples_path(&img);
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("1001 samples".into(), post(&p, body(json!({"samples": many}))), 400, INVALID, "at most 1000".into()),
            ("label_format".into(), post(&p, body(json!({"samples": [good], "label_format": {"label_type": "0"}}))), 400, INVALID, "label_format".into()),
            ("final_annotation=false in a text dataset".into(), post(samples_path(&txt), body(json!({"samples": [{"source": "content://hi", "labels": [{"name": "Pos"}]}], "final_annotation": false}))), 400, INVALID, "final_annotation".into()),
            ("final_annotation a string".into(), post(&p, body(json!({"samples": [good], "final_annotation": "no"}))), 400, INVALID, "final_annotation: invalid type".into()),
            ("samples not a list".into(), post(&p, body(json!({"samples": "x"}))), 400, INVALID, "samples: invalid type".into()),
            ("a sample_type string".into(), post(&p, body(json!({"samples": [good, {"source": "http://x/b.png", "sample_type": "0"}]}))), 400, INVALID, "samples[1].sample_type: invalid type".into()),
            ("a label score string".into(), post(&p, body(json!({"samples": [{"source": "http://x/b.png", "labels": [{"name": "Cat", "score": "high"}]}]}))), 400, INVALID, "samples[0].labels[0].score: invalid type".into()),
            ("metadata not an object".into(), post(&p, body(json!({"samples": [{"source": "http://x/b.png", "metadata": [1]}]}))), 400, INVALID, "samples[0].metadata: invalid type".into()),
            ("bad JSON".into(), post(&p, raw(b"{\"samples\": [")), 400, BAD_JSON, "Incorrect JSON format".into()),
            ("empty body".into(), post(&p, raw(b"")), 400, EMPTY_REQUEST, "Empty request".into()),
            ("unknown dataset".into(), post(samples_path(UNKNOWN_DATASET), body(json!({"samples": [good]}))), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
        ];
        run_rows(&t, &rows).await;
    }
}

#[tokio::test]
async fn bad_sample_and_stats_queries_are_refused() {
    for t in crate::helpers::spawn_all().await {
        let img = t.dataset("images", 0, json!([{"name": "Cat"}, {"name": "Dog"}])).await;
        t.samples(&img, json!([{"source": "http://x/a.png", "labels": [{"name": "Cat"}]}]))
            .await;
        let p = samples_path(&img);
        let q = |pairs: &[(&str, &str)]| get(query(&p, pairs));
        let two_labels = json!([{"label_list": {"labels": [{"name": "Cat"}, {"name": "Dog"}]}}]).to_string();
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("limit=101".into(), q(&[("limit", "101")]), 400, INVALID, "1 to 100".into()),
            ("limit=0".into(), q(&[("limit", "0")]), 400, INVALID, "1 to 100".into()),
            ("offset=-1".into(), q(&[("offset", "-1")]), 400, INVALID, "offset".into()),
            ("order=up".into(), q(&[("order", "up")]), 400, INVALID, "order".into()),
            ("sample_state=__WHATEVER__".into(), q(&[("sample_state", "__WHATEVER__")]), 400, INVALID, "sample_state".into()),
            ("sample_type=99".into(), q(&[("sample_type", "99")]), 400, INVALID, "sample_type: 99".into()),
            ("sample_type=x".into(), q(&[("sample_type", "x")]), 400, INVALID, "sample_type".into()),
            ("label_type=104".into(), q(&[("label_name", "Cat"), ("label_type", "104")]), 400, INVALID, "label_type: 104".into()),
            ("search_conditions not JSON".into(), q(&[("search_conditions", "not json")]), 400, INVALID, "search_conditions".into()),
            ("search_conditions with an unknown key".into(), q(&[("search_conditions", r#"[{"sample_nam": "a.png"}]"#)]), 400, INVALID, "sample_nam".into()),
            ("search_conditions an object".into(), q(&[("search_conditions", r#"{"sample_name": "a.png"}"#)]), 400, INVALID, "search_conditions".into()),
            ("search_conditions with two labels and no op".into(), q(&[("search_conditions", &two_labels)]), 400, INVALID, "search_conditions[0].label_list.op".into()),
            ("version_id=abc".into(), q(&[("version_id", "abc")]), 404, VERSION_NOT_FOUND, "abc".into()),
            ("email=a@b.c".into(), q(&[("email", "a@b.c")]), 400, INVALID, "email".into()),
            ("unknown dataset".into(), get(samples_path(UNKNOWN_DATASET)), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
            ("stats sample_state".into(), get(format!("/datasets/{img}/data-annotations/stats?sample_state=__ALL__")), 400, INVALID, "sample_state".into()),
            ("stats email".into(), get(format!("/datasets/{img}/data-annotations/stats?email=a@b.c")), 400, INVALID, "email".into()),
            ("stats of an unknown dataset".into(), get(format!("/datasets/{UNKNOWN_DATASET}/data-annotations/stats")), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
        ];
        run_rows(&t, &rows).await;
    }
}

#[tokio::test]
async fn unknown_samples_and_missing_files_are_404() {
    for t in crate::helpers::spawn_all().await {
        let img = t.dataset("images", 0, json!([])).await;
        let ids = t
            .samples(
                &img,
                json!([{"source": "http://x/ref.png"}, {"name": "real.png", "data": png_b64(2, 2)}]),
            )
            .await;
        let (reference, stored) = (&ids[0], &ids[1]);
        let p = samples_path(&img);
        let upper = stored.to_uppercase();
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("unknown 32-hex id".into(), get(format!("{p}/{UNKNOWN_HEX}")), 404, SAMPLE_NOT_FOUND, UNKNOWN_HEX.into()),
            ("non-hex id".into(), get(format!("{p}/not-a-sample")), 404, SAMPLE_NOT_FOUND, "not-a-sample".into()),
            ("upper-case id".into(), get(format!("{p}/{upper}")), 404, SAMPLE_NOT_FOUND, upper.clone()),
            ("file of an unknown id".into(), get(format!("{p}/{UNKNOWN_HEX}/file")), 404, SAMPLE_NOT_FOUND, UNKNOWN_HEX.into()),
            ("file of a non-hex id".into(), get(format!("{p}/zz/file")), 404, SAMPLE_NOT_FOUND, "zz".into()),
            ("file of a reference sample".into(), get(format!("{p}/{reference}/file")), 404, SAMPLE_NOT_FOUND, reference.clone()),
            ("sample of an unknown dataset".into(), get(format!("{}/{stored}", samples_path(UNKNOWN_DATASET))), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
            ("file of an unknown dataset".into(), get(format!("{}/{stored}/file", samples_path(UNKNOWN_DATASET))), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
        ];
        run_rows(&t, &rows).await;
        // The stored one answers, so the 404s above are about the ids.
        let a = t.get(&format!("{p}/{stored}/file")).await;
        assert_eq!(a.status, 200, "{}", t.backend);
    }
}

#[tokio::test]
async fn deleting_unknown_samples_fails_only_those_items() {
    for t in crate::helpers::spawn_all().await {
        let img = t.dataset("images", 0, json!([])).await;
        let ids = t
            .samples(
                &img,
                json!([{"source": "http://x/1.png"}, {"source": "http://x/2.png"}, {"source": "http://x/3.png"}]),
            )
            .await;
        let p = samples_path(&img);
        let del = format!("{p}/delete");
        let too_many: Vec<String> = (0..1001).map(|_| ids[0].clone()).collect();
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("samples not a list".into(), post(&del, body(json!({"samples": ids[0]}))), 400, INVALID, "samples: invalid type".into()),
            ("an id not a string".into(), post(&del, body(json!({"samples": [ids[0], 7]}))), 400, INVALID, "samples[1]: invalid type".into()),
            ("1001 ids".into(), post(&del, body(json!({"samples": too_many}))), 400, INVALID, "at most 1000".into()),
            ("delete_source a string".into(), post(&del, body(json!({"samples": [ids[0]], "delete_source": "yes"}))), 400, INVALID, "delete_source: invalid type".into()),
            ("bad JSON".into(), post(&del, raw(b"[")), 400, BAD_JSON, "Incorrect JSON format".into()),
            ("unknown dataset".into(), post(format!("{}/delete", samples_path(UNKNOWN_DATASET)), body(json!({"samples": [ids[0]]}))), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
        ];
        run_rows(&t, &rows).await;

        assert_eq!(sample_count(&t, &p).await, 3, "{}", t.backend);
        let batch = json!([ids[0], UNKNOWN_HEX, "not-hex", ids[1], ids[0]]);
        let a = t.post(&del, json!({"samples": batch})).await;
        item_failed(
            &t,
            "delete with unknown ids",
            &a,
            200,
            5,
            1,
            SAMPLE_NOT_FOUND,
            UNKNOWN_HEX,
        );
        let results = a.body["results"].as_array().unwrap();
        for (i, ok) in [true, false, false, true, false].iter().enumerate() {
            assert_eq!(results[i]["success"], *ok, "{} results[{i}]: {}", t.backend, a.body);
            assert_eq!(
                results[i]["sample_id"], batch[i],
                "{} results[{i}]: {}",
                t.backend, a.body
            );
            if !ok {
                assert_eq!(
                    results[i]["error_code"], SAMPLE_NOT_FOUND,
                    "{} results[{i}]: {}",
                    t.backend, a.body
                );
            }
        }
        assert_eq!(
            sample_count(&t, &p).await,
            1,
            "{}: exactly the known ids are deleted",
            t.backend
        );
        for id in [&ids[0], &ids[1]] {
            let a = t.get(&format!("{p}/{id}")).await;
            refused(&t, "deleted sample", &a, 404, SAMPLE_NOT_FOUND, id);
        }
        read_ok(&t, &format!("{p}/{}", ids[2])).await;
    }
}

#[tokio::test]
async fn oversize_bodies_are_413_and_store_nothing() {
    for t in crate::helpers::spawn_all().await {
        let img = t.dataset("images", 0, json!([{"name": "Cat"}])).await;
        let filler = "A".repeat(13 * 1024 * 1024);
        let sample = format!(r#"{{"samples": [{{"name": "big.bin", "data": "{filler}"}}]}}"#);
        let dataset = format!(r#"{{"dataset_name": "big", "dataset_type": 0, "description": "{filler}"}}"#);
        let label = format!(r#"{{"x": "{filler}"}}"#);
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("13 MiB of samples".into(), post(samples_path(&img), Some(sample.into_bytes())), 413, BODY_TOO_LARGE, "size exceeds".into()),
            ("13 MiB dataset".into(), post("/datasets", Some(dataset.into_bytes())), 413, BODY_TOO_LARGE, "size exceeds".into()),
            ("13 MiB label properties".into(), put(format!("{}/Cat", labels_path(&img)), Some(label.into_bytes())), 413, BODY_TOO_LARGE, "size exceeds".into()),
        ];
        run_rows(&t, &rows).await;
    }
}
