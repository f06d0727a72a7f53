//! What every route refuses: missing, bogus and foreign tokens, malformed project ids and
//! unknown paths, unsupported methods, JSON arrays for objects, unknown fields in write bodies.

use super::*;

#[tokio::test]
async fn every_route_refuses_missing_bogus_and_foreign_tokens() {
    for t in crate::helpers::spawn_all().await {
        let ds = t.dataset("mine", 0, json!([{"name": "Cat"}])).await;
        let ids = t.samples(&ds, json!([{"name": "a.png", "data": png_b64(2, 2)}])).await;
        let sid = &ids[0];
        let (other_project, other_token) = t.other_project().await;
        let labels = labels_path(&ds);
        let samples = samples_path(&ds);
        // Each route with a body it would accept from the right caller.
        #[rustfmt::skip]
        let routes: Vec<Req> = vec![
            get("/datasets"),
            post("/datasets", body(json!({"dataset_name": "intruder", "dataset_type": 0}))),
            get(format!("/datasets/{ds}")),
            put(format!("/datasets/{ds}"), body(json!({"description": "hacked"}))),
            delete(format!("/datasets/{ds}")),
            get(format!("/datasets/{ds}/data-annotations/stats")),
            get(labels.clone()),
            post(labels.clone(), body(json!({"labels": [{"name": "Hacked"}]}))),
            put(labels.clone(), body(json!({"labels": [{"name": "Cat", "property": {"@modelarts:color": "#000000"}}]}))),
            post(format!("{labels}/delete"), body(json!({"labels": [{"name": "Cat"}]}))),
            put(format!("{labels}/Cat"), body(json!({"@modelarts:color": "#000000"}))),
            delete(format!("{labels}/Cat")),
            get(samples.clone()),
            post(samples.clone(), body(json!({"samples": [{"source": "http://x/hacked.png"}]}))),
            post(format!("{samples}/delete"), body(json!({"samples": [sid]}))),
            get(format!("{samples}/{sid}")),
            get(format!("{samples}/{sid}/file")),
        ];
        let before = project_state(&t).await;
        let at = |project: &str, path: &str| format!("/v2/{project}{path}");
        for (method, path, b) in &routes {
            let route = format!("{method} {path}");
            let mine = at(&t.project_id, path);
            let callers: [(&str, Option<&str>, u16, &str, &str); 4] = [
                ("without a token", None, 401, TOKEN_MISSING, "X-Auth-Token"),
                ("with an empty token", Some(""), 401, TOKEN_INVALID, "Invalid token"),
                (
                    "with a bogus token",
                    Some("bogus-token"),
                    401,
                    TOKEN_INVALID,
                    "Invalid token",
                ),
                (
                    "with another project's token",
                    Some(&other_token),
                    403,
                    INVALID_PROJECT,
                    "project id",
                ),
            ];
            for (who, token, status, code, fragment) in callers {
                let a = t.send(method.clone(), &mine, token, b.clone()).await;
                refused(&t, &format!("{route} {who}"), &a, status, code, fragment);
            }
            if path.starts_with("/datasets/") {
                let theirs = at(&other_project, path);
                let a = t.send(method.clone(), &theirs, Some(&other_token), b.clone()).await;
                refused(
                    &t,
                    &format!("{route} under the other project"),
                    &a,
                    404,
                    DATASET_NOT_FOUND,
                    &ds,
                );
            } else if *method == Method::GET {
                let a = t
                    .send(Method::GET, &at(&other_project, path), Some(&other_token), None)
                    .await;
                assert_eq!(
                    a.status, 200,
                    "{} {route} under the other project: {}",
                    t.backend, a.body
                );
                assert_eq!(
                    a.body["total_number"], 0,
                    "{} {route}: the other project sees none of ours",
                    t.backend
                );
            }
            assert_eq!(
                project_state(&t).await,
                before,
                "{} {route}: a refused caller changed stored state",
                t.backend
            );
        }
        let theirs = t
            .send(Method::GET, &at(&other_project, "/datasets"), Some(&other_token), None)
            .await;
        assert_eq!(
            theirs.body["total_number"], 0,
            "{}: nothing was created in the other project",
            t.backend
        );
    }
}

#[tokio::test]
async fn malformed_project_ids_and_unknown_paths_are_refused() {
    for t in crate::helpers::spawn_all().await {
        let ds = t.dataset("mine", 0, json!([])).await;
        let before = project_state(&t).await;
        let upper = t.project_id.to_uppercase();
        #[rustfmt::skip]
        let cases: Vec<(String, String, u16, &str, &str)> = vec![
            ("a project id that is not hex".into(), "/v2/not-a-project/datasets".to_string(), 400, INVALID_PROJECT, "not-a-project"),
            ("an upper-case project id".into(), format!("/v2/{upper}/datasets"), 400, INVALID_PROJECT, "Invalid project ID"),
            ("a short project id".into(), format!("/v2/{}/datasets/{ds}", &t.project_id[..31]), 400, INVALID_PROJECT, "Invalid project ID"),
            ("an unknown path under the project".into(), t.path("/nothing-here"), 404, NO_SUCH_API, "/nothing-here"),
            ("an unknown path under a dataset".into(), t.path(&format!("/datasets/{ds}/data-annotations/nothing")), 404, NO_SUCH_API, "nothing"),
            ("a trailing slash".into(), t.path("/datasets/"), 404, NO_SUCH_API, "API does not exist"),
            // Below /v3 the body also carries Keystone's error object (iam.rs checks that shape).
            ("an unknown root path".into(), "/v4/datasets".to_string(), 404, NO_SUCH_API, "/v4/datasets"),
        ];
        for (case, url, status, code, fragment) in &cases {
            let a = t.send(Method::GET, url, Some(&t.token), None).await;
            refused(&t, case, &a, *status, code, fragment);
        }
        assert_eq!(project_state(&t).await, before, "{}", t.backend);
    }
}

#[tokio::test]
async fn unsupported_methods_are_405_with_the_error_body() {
    for t in crate::helpers::spawn_all().await {
        let ds = t.dataset("mine", 0, json!([{"name": "Cat"}])).await;
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("PATCH the dataset list".into(), (Method::PATCH, "/datasets".into(), body(json!({}))), 405, NO_SUCH_API, "/datasets".into()),
            ("DELETE the dataset list".into(), delete("/datasets"), 405, NO_SUCH_API, "/datasets".into()),
            ("POST a dataset".into(), post(format!("/datasets/{ds}"), body(json!({}))), 405, NO_SUCH_API, ds.clone()),
            ("DELETE the label list".into(), delete(labels_path(&ds)), 405, NO_SUCH_API, "labels".into()),
            ("GET a label".into(), get(format!("{}/Cat", labels_path(&ds))), 405, NO_SUCH_API, "Cat".into()),
            ("GET samples/delete".into(), get(format!("{}/delete", samples_path(&ds))), 405, NO_SUCH_API, "delete".into()),
            ("PUT the stats".into(), put(format!("/datasets/{ds}/data-annotations/stats"), body(json!({}))), 405, NO_SUCH_API, "stats".into()),
        ];
        run_rows(&t, &rows).await;
    }
}

/// Request bodies are JSON objects: a positional array must not stand in for one, at the top
/// or nested (serde's derived structs accept `["name", 0]` for `{"dataset_name": "name",
/// "dataset_type": 0}` unless the server refuses it).
#[tokio::test]
async fn json_arrays_are_not_accepted_in_place_of_objects() {
    for t in crate::helpers::spawn_all().await {
        let ds = t.dataset("mine", 0, json!([{"name": "Cat"}])).await;
        let id = t.samples(&ds, json!([{"source": "http://x/a.png"}])).await.remove(0);
        let ok = json!({"dataset_name": "fresh", "dataset_type": 0});
        let good = json!({"source": "http://x/good.png"});
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("the create body in an array".into(), post("/datasets", body(json!([ok]))), 400, INVALID, "body".into()),
            ("a positional create body".into(), post("/datasets", body(json!(["fresh", 0]))), 400, INVALID, "body".into()),
            ("a positional label in a create body".into(), post("/datasets", body(json!({"dataset_name": "label-array", "dataset_type": 0, "labels": [["Fox"]]}))), 400, INVALID, "labels[0]".into()),
            ("an empty array as update".into(), put(format!("/datasets/{ds}"), body(json!([]))), 400, INVALID, "body".into()),
            ("a positional update".into(), put(format!("/datasets/{ds}"), body(json!(["renamed"]))), 400, INVALID, "body".into()),
            ("a positional label batch".into(), post(labels_path(&ds), body(json!([[{"name": "Fox"}]]))), 400, INVALID, "body".into()),
            ("a positional sample batch".into(), post(samples_path(&ds), body(json!([[good]]))), 400, INVALID, "body".into()),
            ("a positional delete batch".into(), post(format!("{}/delete", samples_path(&ds)), body(json!([[id]]))), 400, INVALID, "body".into()),
        ];
        run_rows(&t, &rows).await;
    }
}

/// The routes that take a JSON body, as `(tag, "METHOD path")`, from the OpenAPI document.
fn write_routes() -> Vec<(String, String)> {
    let doc = serde_json::to_value(teamlabel_server::openapi()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("requestBody").is_some() {
                let tag = op["tags"][0].as_str().unwrap_or("").to_string();
                routes.push((tag, format!("{} {path}", method.to_uppercase())));
            }
        }
    }
    routes.sort();
    routes
}

/// Write bodies refuse fields they do not define, at the top and inside every nested object,
/// with a message that begins with the field's JSON path (`samples[0].lables: unknown field ...`):
/// a misspelt field is an error, never silently dropped. The free-form maps (label `property`, sample `metadata`) stay free-form.
#[tokio::test]
async fn unknown_fields_in_write_bodies_are_refused_with_their_path_and_change_nothing() {
    // The dataset, label and sample routes; the team routes are covered in the team_rules module.
    let covered = [
        "POST /v2/{project_id}/datasets",
        "PUT /v2/{project_id}/datasets/{dataset_id}",
        "POST /v2/{project_id}/datasets/{dataset_id}/data-annotations/labels",
        "PUT /v2/{project_id}/datasets/{dataset_id}/data-annotations/labels",
        "POST /v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/delete",
        "POST /v2/{project_id}/datasets/{dataset_id}/data-annotations/samples",
        "POST /v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/delete",
        "PUT /v2/{project_id}/datasets/{dataset_id}/data-annotations/samples",
    ];
    // Its body is a bare label property map, free-form by definition (checked below).
    let free_form = "PUT /v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/{label_name}";
    let routes = write_routes();
    let tags = [
        "datasets",
        "labels",
        "samples",
        "workforces",
        "workforce-tasks",
        "team-samples",
        // The credential and token bodies: the iam module.
        "iam",
        // Review and acceptance bodies: the acceptance module's refusals.
        "acceptance",
        // Version, import and export bodies: the data_io module.
        "versions",
        "import-tasks",
        "export-tasks",
        // The sync body (an empty object): the sync module.
        "sync-data",
        // The webhook bodies: the webhooks module.
        "webhooks",
    ];
    for (tag, route) in &routes {
        assert!(
            tags.contains(&tag.as_str()),
            "{route}: tag {tag:?} is covered by no test"
        );
    }
    let mut mine: Vec<&str> = routes
        .iter()
        .filter(|(tag, route)| ["datasets", "labels", "samples"].contains(&tag.as_str()) && route != free_form)
        .map(|(_, route)| route.as_str())
        .collect();
    mine.sort();
    let mut expected = covered.to_vec();
    expected.sort();
    assert_eq!(
        mine, expected,
        "every dataset, label and sample write route has a row below"
    );

    for t in crate::helpers::spawn_all().await {
        let ds = t.dataset("mine", 0, json!([{"name": "Cat"}])).await;
        let id = t.samples(&ds, json!([{"source": "http://x/a.png"}])).await.remove(0);
        let labels = labels_path(&ds);
        let samples = samples_path(&ds);
        let update = format!("/datasets/{ds}");
        let create = json!({"dataset_name": "fresh", "dataset_type": 0});
        let fox = |extra: Value| with(&json!({"name": "Fox"}), extra);
        let with_attr = |attr: Value| json!({"labels": [fox(json!({"attributes": [attr]}))]});
        let new_sample = |extra: Value| json!({"samples": [with(&json!({"source": "http://x/b.png"}), extra)]});
        let relabel =
            |extra: Value| json!({"samples": [with(&json!({"sample_id": id, "labels": [{"name": "Cat"}]}), extra)]});
        // The message begins with the JSON path of the unknown field (`at` holds it).
        let row = |case: &str, req: Req, at: &str, field: &str| -> Row {
            let path = if at.is_empty() {
                field.to_string()
            } else {
                format!("{at}.{field}")
            };
            (
                case.into(),
                req,
                400,
                INVALID,
                format!("{path}: unknown field `{field}`"),
            )
        };
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            // One unknown top-level field per route; each body is valid without it.
            row("create dataset", post("/datasets", body(with(&create, json!({"lables": [{"name": "Fox"}]})))), "", "lables"),
            row("update dataset", put(&update, body(json!({"description": "new", "add_label": [{"name": "Fox"}]}))), "", "add_label"),
            row("create labels", post(&labels, body(json!({"labels": [{"name": "Fox"}], "label": {"name": "Owl"}}))), "", "label"),
            row("update labels", put(&labels, body(json!({"labels": [{"name": "Cat", "property": {"@modelarts:color": "#000000"}}], "type": 0}))), "", "type"),
            row("delete labels (delete_policy belongs in the query)", post(format!("{labels}/delete"), body(json!({"labels": [{"name": "Cat"}], "delete_policy": 1}))), "", "delete_policy"),
            row("add samples", post(&samples, body(with(&new_sample(json!({})), json!({"final_annotations": false})))), "", "final_annotations"),
            row("delete samples", post(format!("{samples}/delete"), body(json!({"samples": [id], "delete_sources": true}))), "", "delete_sources"),
            row("update sample labels (atomic belongs in the query)", put(&samples, body(with(&relabel(json!({})), json!({"atomic": true})))), "", "atomic"),
            // One row per nested object type (and per field that holds one).
            row("a label of a new dataset", post("/datasets", body(with(&create, json!({"labels": [fox(json!({"colour": "#ffffff"}))]})))), "labels[0]", "colour"),
            row("a label attribute", post("/datasets", body(with(&create, with_attr(json!({"name": "size", "type": "text", "required": true}))))), "labels[0].attributes[0]", "required"),
            row("a value of a label attribute", post("/datasets", body(with(&create, with_attr(json!({"name": "size", "type": "select", "values": [{"value": "big", "default": true}]}))))), "labels[0].attributes[0].values[0]", "default"),
            row("a data source of a new dataset", post("/datasets", body(with(&create, json!({"data_sources": [{"data_path": "/bucket/in/", "data_type": 0, "recursive": true}]})))), "data_sources[0]", "recursive"),
            row("the label format of a new text dataset", post("/datasets", body(json!({"dataset_name": "fresh", "dataset_type": 100, "label_format": {"label_type": "1", "separator": ","}}))), "label_format", "separator"),
            row("a label to add", put(&update, body(json!({"add_labels": [fox(json!({"color": "#ffffff"}))]}))), "add_labels[0]", "color"),
            row("a label to update (the new name goes in property)", put(&update, body(json!({"update_labels": [{"name": "Cat", "rename_to": "Dog"}]}))), "update_labels[0]", "rename_to"),
            row("a label to delete", put(&update, body(json!({"delete_labels": [{"name": "Cat", "label_type": 0}]}))), "delete_labels[0]", "label_type"),
            row("a label to create", post(&labels, body(json!({"labels": [fox(json!({"shortcut": "F"}))]}))), "labels[0]", "shortcut"),
            row("a label to change", put(&labels, body(json!({"labels": [{"name": "Cat", "new_name": "Dog"}]}))), "labels[0]", "new_name"),
            row("a label to remove", post(format!("{labels}/delete"), body(json!({"labels": [{"name": "Cat", "id": 1}]}))), "labels[0]", "id"),
            row("a sample to add", post(&samples, body(new_sample(json!({"lables": [{"name": "Cat"}]})))), "samples[0]", "lables"),
            row("the data source of a sample to add", post(&samples, body(json!({"samples": [{"data_source": {"data_path": "http://x/b.png", "url": "http://x/b.png"}}]}))), "samples[0].data_source", "url"),
            row("a label of a sample to add", post(&samples, body(new_sample(json!({"labels": [{"name": "Cat", "confidence": 0.9}]})))), "samples[0].labels[0]", "confidence"),
            row("an item of the label update", put(&samples, body(json!({"samples": [{"sample_id": id, "lables": [{"name": "Cat"}]}]}))), "samples[0]", "lables"),
            row("a label of an item of the label update", put(&samples, body(relabel(json!({"labels": [{"name": "Cat", "scroe": 0.5}]})))), "samples[0].labels[0]", "scroe"),
        ];
        run_rows_checked(&t, &rows, check_refused_at).await;

        // Each body above is accepted without its unknown field, and the free-form maps keep
        // keys of their own.
        let a = t.post("/datasets", with(&create, json!({"labels": [fox(json!({"property": {"tint": "red"}}))], "data_sources": [{"data_path": "/bucket/in/", "data_type": 0, "with_column_header": false, "schema_maps": []}]}))).await;
        assert_eq!(a.status, 201, "{}: {}", t.backend, a.body);
        let fresh = a.body["dataset_id"].as_str().unwrap().to_string();
        let read = read_ok(&t, &format!("/datasets/{fresh}")).await;
        assert_eq!(
            read["data_sources"],
            json!([{"data_path": "/bucket/in/", "data_type": 0}]),
            "{}: the location alone is kept",
            t.backend
        );
        assert_eq!(read["labels"][0]["property"]["tint"], "red", "{}: {read}", t.backend);
        let a = t
            .post(
                &samples,
                new_sample(
                    json!({"metadata": {"camera": "front"}, "labels": [{"name": "Cat", "property": {"note": "kept"}}]}),
                ),
            )
            .await;
        assert_eq!(a.body["success"], true, "{}: {}", t.backend, a.body);
        let added = a.body["results"][0]["sample_id"].as_str().unwrap().to_string();
        let a = t.put(&samples, relabel(json!({"metadata": {"camera": "rear"}}))).await;
        assert_eq!(a.body["success"], true, "{}: {}", t.backend, a.body);
        let sample = read_ok(&t, &format!("{samples}/{added}")).await;
        assert_eq!(sample["metadata"]["camera"], "front", "{}: {sample}", t.backend);
        assert_eq!(
            sample["labels"][0]["property"]["note"], "kept",
            "{}: {sample}",
            t.backend
        );
        assert_eq!(
            read_ok(&t, &format!("{samples}/{id}")).await["metadata"]["camera"],
            "rear",
            "{}",
            t.backend
        );
        let a = t.put(&format!("{labels}/Cat"), json!({"tint": "blue"})).await;
        assert_eq!(a.status, 204, "{}: {}", t.backend, a.body);
        let cat = read_ok(&t, &labels).await["labels"][0].clone();
        assert_eq!(cat["property"]["tint"], "blue", "{}: {cat}", t.backend);
    }
}
