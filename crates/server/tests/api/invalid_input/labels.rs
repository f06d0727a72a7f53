//! Bad label requests: refused, and label batches are all or nothing.

use super::*;

#[tokio::test]
async fn bad_label_requests_are_refused_and_batches_are_all_or_nothing() {
    for t in crate::helpers::spawn_all().await {
        let ds = t
            .dataset(
                "animals",
                0,
                json!([{"name": "Cat", "property": {"@modelarts:color": "#ffffff"}}, {"name": "Dog", "property": {"@modelarts:shortcut": "d"}}]),
            )
            .await;
        let labels = labels_path(&ds);
        let one = |name: &str| format!("{labels}/{name}");
        let cat = json!({"labels": [{"name": "Cat"}]});
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("POST an empty list".into(), post(&labels, body(json!({"labels": []}))), 400, INVALID, "labels: send at least one label".into()),
            ("POST without labels".into(), post(&labels, body(json!({}))), 400, INVALID, "labels: send at least one label".into()),
            ("POST labels not a list".into(), post(&labels, body(json!({"labels": "Cat"}))), 400, INVALID, "labels: invalid type".into()),
            ("POST a label name of the wrong type".into(), post(&labels, body(json!({"labels": [{"name": ["Fox"]}]}))), 400, INVALID, "labels[0].name: invalid type".into()),
            ("POST bad JSON".into(), post(&labels, raw(b"{\"labels\": [")), 400, BAD_JSON, "Incorrect JSON format".into()),
            ("POST an empty body".into(), post(&labels, raw(b"")), 400, EMPTY_REQUEST, "Empty request".into()),
            ("POST to an unknown dataset".into(), post(labels_path(UNKNOWN_DATASET), body(json!({"labels": [{"name": "Fox"}]}))), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
            ("PUT an empty list".into(), put(&labels, body(json!({"labels": []}))), 400, INVALID, "labels: send at least one label".into()),
            ("POST delete an empty list".into(), post(format!("{labels}/delete"), body(json!({"labels": []}))), 400, INVALID, "labels: send at least one label".into()),
            ("delete_policy=3".into(), post(format!("{labels}/delete?delete_policy=3"), body(cat.clone())), 400, INVALID, "delete_policy must be an integer from 0 to 2".into()),
            ("delete_policy=x".into(), post(format!("{labels}/delete?delete_policy=x"), body(cat.clone())), 400, INVALID, "delete_policy".into()),
            ("PUT one label with a list body".into(), put(one("Cat"), body(json!([1]))), 400, INVALID, "body must be a JSON object".into()),
            ("PUT one label with a string body".into(), put(one("Cat"), body(json!("red"))), 400, INVALID, "body must be a JSON object".into()),
            ("PUT one label with bad JSON".into(), put(one("Cat"), raw(b"{\"@modelarts:color\"")), 400, BAD_JSON, "Incorrect JSON format".into()),
            ("PUT an unknown label".into(), put(one("Nobody"), body(json!({"@modelarts:color": "#000000"}))), 404, LABEL_NOT_FOUND, "Nobody".into()),
            ("PUT label_type=999".into(), put(format!("{}?label_type=999", one("Cat")), body(json!({}))), 400, INVALID, "label_type: 999".into()),
            ("PUT label_type=x".into(), put(format!("{}?label_type=x", one("Cat")), body(json!({}))), 400, INVALID, "label_type".into()),
            ("PUT a label of another type".into(), put(format!("{}?label_type=1", one("Cat")), body(json!({"@modelarts:color": "#000000"}))), 404, LABEL_NOT_FOUND, "Cat".into()),
            ("PUT a bad colour".into(), put(one("Cat"), body(json!({"@modelarts:color": "red"}))), 400, INVALID, "@modelarts:color".into()),
            ("PUT a taken shortcut".into(), put(one("Cat"), body(json!({"@modelarts:shortcut": "d"}))), 400, SHORTCUT_EXISTS, "\"d\"".into()),
            ("PUT a rename onto a taken name".into(), put(one("Cat"), body(json!({"@modelarts:rename_to": "Dog"}))), 400, LABEL_EXISTS, "\"Dog\"".into()),
            ("PUT an unknown @modelarts: key".into(), put(one("Cat"), body(json!({"@modelarts:nope": 1}))), 400, LABEL_RULE, "@modelarts:nope".into()),
            ("DELETE an unknown label".into(), delete(one("Nobody")), 404, LABEL_NOT_FOUND, "Nobody".into()),
            ("DELETE delete_source=maybe".into(), delete(format!("{}?delete_source=maybe", one("Cat"))), 400, INVALID, "delete_source".into()),
            ("DELETE label_type=abc".into(), delete(format!("{}?label_type=abc", one("Cat"))), 400, INVALID, "label_type".into()),
            ("GET labels version_id".into(), get(format!("{labels}?version_id=v1")), 404, VERSION_NOT_FOUND, "v1".into()),
            ("GET labels limit=0".into(), get(format!("{labels}?limit=0")), 400, INVALID, "limit".into()),
            ("GET labels limit too large".into(), get(format!("{labels}?limit=100001")), 400, INVALID, "1 to 100000".into()),
        ];
        run_rows(&t, &rows).await;

        // Batch items: 400 with a BatchResponse naming the failing item; nothing is written even
        // when other items of the batch were fine.
        let delete_path = format!("{labels}/delete");
        #[rustfmt::skip]
        let batches: Vec<(&str, Req, usize, usize, &str, &str)> = vec![
            ("a label without name", post(&labels, body(json!({"labels": [{"type": 0}]}))), 1, 0, INVALID, "labels[0].name is required"),
            ("a duplicate of an existing label", post(&labels, body(cat.clone())), 1, 0, LABEL_EXISTS, "\"Cat\""),
            ("one good and one duplicate", post(&labels, body(json!({"labels": [{"name": "Fox"}, {"name": "Cat"}]}))), 2, 1, LABEL_EXISTS, "\"Cat\""),
            ("the same new label twice", post(&labels, body(json!({"labels": [{"name": "Fox"}, {"name": "Fox"}]}))), 2, 1, LABEL_EXISTS, "\"Fox\""),
            ("a label of a foreign type", post(&labels, body(json!({"labels": [{"name": "Fox"}, {"name": "Car", "type": 1}]}))), 2, 1, LABEL_RULE, "type 1 is not allowed"),
            ("a taken shortcut", post(&labels, body(json!({"labels": [{"name": "Fox", "property": {"@modelarts:shortcut": "d"}}]}))), 1, 0, SHORTCUT_EXISTS, "\"d\""),
            ("update one good and one unknown", put(&labels, body(json!({"labels": [{"name": "Cat", "property": {"@modelarts:color": "#000000"}}, {"name": "Nobody"}]}))), 2, 1, LABEL_NOT_FOUND, "Nobody"),
            ("update without name", put(&labels, body(json!({"labels": [{"property": {}}]}))), 1, 0, INVALID, "labels[0].name is required"),
            ("delete one good and one unknown", post(&delete_path, body(json!({"labels": [{"name": "Cat"}, {"name": "Nobody"}]}))), 2, 1, LABEL_NOT_FOUND, "Nobody"),
            ("delete with policy 1 of an unknown label", post(format!("{delete_path}?delete_policy=1"), body(json!({"labels": [{"name": "Dog"}, {"name": "Nobody"}]}))), 2, 1, LABEL_NOT_FOUND, "Nobody"),
        ];
        let before = project_state(&t).await;
        for (case, req, items, index, code, fragment) in &batches {
            let a = send(&t, req).await;
            item_failed(&t, case, &a, 400, *items, *index, code, fragment);
            assert_eq!(
                project_state(&t).await,
                before,
                "{} {case}: a refused batch wrote something",
                t.backend
            );
        }
        let names: Vec<Value> = read_ok(&t, &labels).await["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].clone())
            .collect();
        assert_eq!(names, [json!("Cat"), json!("Dog")], "{}", t.backend);
    }
}
