//! Bad dataset bodies, list queries and updates: refused, nothing created or changed.

use super::*;

#[tokio::test]
async fn bad_dataset_bodies_are_refused_and_create_nothing() {
    for t in crate::helpers::spawn_all().await {
        t.dataset("existing", 0, json!([{"name": "Cat"}])).await;
        let count = all_datasets(&t).await["total_number"].clone();
        assert_eq!(count, 1, "{}", t.backend);
        let ok = json!({"dataset_name": "fresh", "dataset_type": 0});
        let triplet = json!({"dataset_name": "fresh", "dataset_type": 102});
        let src = |path: &str| json!([{"data_path": path, "data_type": 0}]);
        #[rustfmt::skip]
        let mut rows: Vec<BodyRow> = vec![
            ("not JSON".into(), raw(b"dataset please"), 400, BAD_JSON, "Incorrect JSON format".into()),
            ("truncated JSON".into(), raw(br#"{"dataset_name": "fresh", "dataset_type": 0"#), 400, BAD_JSON, "Incorrect JSON format".into()),
            ("trailing garbage".into(), raw(br#"{"dataset_name": "fresh", "dataset_type": 0} x"#), 400, BAD_JSON, "Incorrect JSON format".into()),
            ("empty body".into(), raw(b""), 400, EMPTY_REQUEST, "Empty request".into()),
            ("blank body".into(), raw(b" \n "), 400, EMPTY_REQUEST, "Empty request".into()),
            ("JSON string".into(), body(json!("fresh")), 400, INVALID, "body".into()),
            ("JSON null".into(), raw(b"null"), 400, INVALID, "body".into()),
            ("dataset_name a number".into(), body(with(&ok, json!({"dataset_name": 5}))), 400, INVALID, "dataset_name: invalid type".into()),
            ("dataset_name missing".into(), body(with(&ok, json!({"dataset_name": null}))), 400, INVALID, "dataset_name is required".into()),
            ("dataset_name empty".into(), body(with(&ok, json!({"dataset_name": ""}))), 400, INVALID, "dataset_name must be 1 to 100".into()),
            ("dataset_name 101 chars".into(), body(with(&ok, json!({"dataset_name": "a".repeat(101)}))), 400, INVALID, "dataset_name must be 1 to 100".into()),
            ("dataset_name with a space".into(), body(with(&ok, json!({"dataset_name": "a b"}))), 400, INVALID, "dataset_name may contain only".into()),
            ("dataset_name with a slash".into(), body(with(&ok, json!({"dataset_name": "a/b"}))), 400, INVALID, "dataset_name may contain only".into()),
            ("dataset_type missing".into(), body(with(&ok, json!({"dataset_type": null}))), 400, INVALID, "dataset_type is required".into()),
            ("dataset_type a string".into(), body(with(&ok, json!({"dataset_type": "0"}))), 400, INVALID, "dataset_type: invalid type".into()),
            ("dataset_type a fraction".into(), body(with(&ok, json!({"dataset_type": 1.5}))), 400, INVALID, "dataset_type:".into()),
            ("dataset_type 5".into(), body(with(&ok, json!({"dataset_type": 5}))), 400, INVALID, "dataset_type: 5 is not a valid dataset_type".into()),
            ("dataset_type 400 (table)".into(), body(with(&ok, json!({"dataset_type": 400}))), 400, UNSUPPORTED_OPERATION, "dataset_type 400".into()),
            ("description 257 chars".into(), body(with(&ok, json!({"description": "d".repeat(257)}))), 400, INVALID, "description must be at most 256".into()),
            ("description with a control char".into(), body(with(&ok, json!({"description": "bell\u{7}"}))), 400, INVALID, "description must not contain".into()),
            ("two data_sources".into(), body(with(&ok, json!({"data_sources": [{"data_path": "/bucket/a/"}, {"data_path": "/bucket/b/"}]}))), 400, INVALID, "data_sources: only one source".into()),
            ("data_sources data_type 1".into(), body(with(&ok, json!({"data_sources": [{"data_path": "/bucket/a/", "data_type": 1}]}))), 400, INVALID, "data_sources[0].data_type".into()),
            ("data_sources without data_path".into(), body(with(&ok, json!({"data_sources": [{"data_type": 0}]}))), 400, INVALID, "data_sources[0].data_path is required".into()),
            ("data_path a bare bucket".into(), body(with(&ok, json!({"data_sources": src("/bucket/")}))), 400, SUBDIRECTORY_REQUIRED, "data_sources[0].data_path".into()),
            ("data_path without trailing slash".into(), body(with(&ok, json!({"data_sources": src("/bucket/dir")}))), 400, INVALID_PATH, "data_sources[0].data_path must be a directory".into()),
            ("data_path with ..".into(), body(with(&ok, json!({"data_sources": src("/bucket/../etc/")}))), 400, INVALID_PATH, "data_sources[0].data_path".into()),
            ("work_path inside the input path".into(), body(with(&ok, json!({"data_sources": src("/bucket/input/"), "work_path": "/bucket/input/output/"}))), 400, SUBDIRECTORY_REQUIRED, "work_path".into()),
            ("work_path equal to the input path".into(), body(with(&ok, json!({"data_sources": src("/bucket/input/"), "work_path": "/bucket/input/"}))), 400, SUBDIRECTORY_REQUIRED, "work_path".into()),
            ("work_path a bare bucket".into(), body(with(&ok, json!({"work_path": "/bucket/"}))), 400, SUBDIRECTORY_REQUIRED, "work_path".into()),
            ("work_path_type 1".into(), body(with(&ok, json!({"work_path": "/bucket/out/", "work_path_type": 1}))), 400, INVALID, "work_path_type must be 0".into()),
            ("data_format CarbonData".into(), body(with(&ok, json!({"data_format": "CarbonData"}))), 400, INVALID, "data_format".into()),
            ("workforce_information present".into(), body(with(&ok, json!({"workforce_information": {"workforces": []}}))), 400, INVALID, "workforce_information".into()),
            ("import_data true".into(), body(with(&ok, json!({"import_data": true}))), 400, INVALID, "import_data".into()),
            ("label_format on an image dataset".into(), body(with(&ok, json!({"label_format": {"label_type": "0"}}))), 400, INVALID, "label_format".into()),
            ("labels not a list".into(), body(with(&ok, json!({"labels": "Cat"}))), 400, INVALID, "labels: invalid type".into()),
            ("label name a number".into(), body(with(&ok, json!({"labels": [{"name": "Cat"}, {"name": 5}]}))), 400, INVALID, "labels[1].name: invalid type".into()),
            ("label without name".into(), body(with(&ok, json!({"labels": [{"type": 0}]}))), 400, INVALID, "labels[0].name is required".into()),
            ("label with an empty name".into(), body(with(&ok, json!({"labels": [{"name": " "}]}))), 400, INVALID, "labels[0].name must not be empty".into()),
            ("labels with a duplicate name".into(), body(with(&ok, json!({"labels": [{"name": "Cat"}, {"name": "Dog"}, {"name": "Cat"}]}))), 400, LABEL_EXISTS, "Label already exists: \"Cat\"".into()),
            ("label of a foreign type".into(), body(with(&ok, json!({"labels": [{"name": "Car", "type": 1}]}))), 400, LABEL_RULE, "type 1 is not allowed".into()),
            ("label type 999".into(), body(with(&ok, json!({"labels": [{"name": "Car", "type": 999}]}))), 400, INVALID, "labels[0].type".into()),
            ("triplet label without type".into(), body(with(&triplet, json!({"labels": [{"name": "Person"}]}))), 400, LABEL_RULE, "type is required".into()),
            ("relation without from_type".into(), body(with(&triplet, json!({"labels": [{"name": "Person", "type": 103}, {"name": "Book", "type": 103}, {"name": "Author", "type": 102, "property": {"@modelarts:to_type": "Book"}}]}))), 400, LABEL_RULE, "@modelarts:from_type".into()),
            ("relation naming a missing entity".into(), body(with(&triplet, json!({"labels": [{"name": "Person", "type": 103}, {"name": "Author", "type": 102, "property": {"@modelarts:from_type": "Person", "@modelarts:to_type": "Nobody"}}]}))), 400, TRIPLET_ENTITY_MISSING, "\"Nobody\"".into()),
            ("unknown @modelarts: label property".into(), body(with(&ok, json!({"labels": [{"name": "Cat", "property": {"@modelarts:colour": "#ffffff"}}]}))), 400, LABEL_RULE, "@modelarts:colour".into()),
            ("@modelarts:rename_to on create".into(), body(with(&ok, json!({"labels": [{"name": "Cat", "property": {"@modelarts:rename_to": "Dog"}}]}))), 400, LABEL_RULE, "@modelarts:rename_to".into()),
            ("a table source: with_column_header".into(), body(with(&ok, json!({"data_sources": [{"data_path": "/bucket/in/", "with_column_header": true}]}))), 400, INVALID, "data_sources[0].with_column_header: table and database sources are not supported".into()),
            ("a table source: schema_maps".into(), body(with(&ok, json!({"data_sources": [{"data_path": "/bucket/in/", "schema_maps": [{"src_name": "a", "dest_name": "b"}]}]}))), 400, INVALID, "data_sources[0].schema_maps".into()),
            ("a database source: source_info".into(), body(with(&ok, json!({"data_sources": [{"data_path": "/bucket/in/", "source_info": {"cluster_id": "c1"}}]}))), 400, INVALID, "data_sources[0].source_info".into()),
            ("duplicate dataset name".into(), body(with(&ok, json!({"dataset_name": "existing"}))), 400, DATASET_EXISTS, "Dataset already exists".into()),
        ];
        for c in "^!<>=&\"'".chars() {
            rows.push((
                format!("description with {c:?}"),
                body(with(&ok, json!({"description": format!("a{c}b")}))),
                400,
                INVALID,
                "description must not contain".into(),
            ));
        }
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|(case, b, s, code, frag)| (case, post("/datasets", b), s, code, frag))
            .collect();
        run_rows(&t, &rows).await;
        assert_eq!(all_datasets(&t).await["total_number"], 1, "{}", t.backend);
    }
}

#[tokio::test]
async fn bad_dataset_list_queries_are_refused_and_unknown_parameters_ignored() {
    for t in crate::helpers::spawn_all().await {
        t.dataset("one", 0, json!([])).await;
        t.dataset("two", 1, json!([])).await;
        let table: &[(&str, &str, &str)] = &[
            ("limit", "0", "limit must be an integer from 1 to 100"),
            ("limit", "101", "1 to 100"),
            ("limit", "x", "limit"),
            ("limit", "1.5", "limit"),
            ("offset", "-1", "offset"),
            ("offset", "x", "offset"),
            ("sort_by", "size", "sort_by"),
            ("order", "up", "order"),
            ("dataset_type", "5", "dataset_type"),
            ("dataset_type", "image", "dataset_type"),
            ("with_labels", "maybe", "with_labels"),
            ("offset", "1000000001", "offset must be an integer from 0 to 1000000000"),
        ];
        let mut rows: Vec<Row> = table
            .iter()
            .map(|(k, v, frag)| {
                (
                    format!("{k}={v}"),
                    get(query("/datasets", &[(k, v)])),
                    400,
                    INVALID,
                    frag.to_string(),
                )
            })
            .collect();
        rows.push((
            "limit twice".into(),
            get("/datasets?limit=1&limit=2"),
            400,
            INVALID,
            "duplicate field `limit`".into(),
        ));
        let long = "s".repeat(101);
        rows.push((
            "search_content of 101 chars".into(),
            get(query("/datasets", &[("search_content", &long)])),
            400,
            INVALID,
            "search_content".into(),
        ));
        run_rows(&t, &rows).await;

        let plain = read_ok(&t, "/datasets").await;
        let last = t.get("/datasets?offset=1000000000&limit=100").await;
        assert_eq!(last.status, 200, "{}: the last page: {}", t.backend, last.body);
        assert_eq!(last.body, json!({"total_number": 2, "datasets": []}), "{}", t.backend);
        for q in ["marker=abc", "marker=abc&limit=10", "project=x&unknown="] {
            let a = t.get(&format!("/datasets?{q}")).await;
            assert_eq!(a.status, 200, "{} ?{q}: {}", t.backend, a.body);
            assert_eq!(a.body, plain, "{} ?{q} is ignored", t.backend);
        }
        assert_eq!(plain["total_number"], 2, "{}", t.backend);
    }
}

#[tokio::test]
async fn bad_dataset_updates_are_refused_and_change_nothing() {
    for t in crate::helpers::spawn_all().await {
        let ds = t.dataset("triplets", 102, triplet_labels()).await;
        t.dataset("taken", 0, json!([])).await;
        let a = t
            .put(&format!("/datasets/{ds}"), json!({"description": "original"}))
            .await;
        assert_eq!(a.status, 200, "{}: {}", t.backend, a.body);
        let path = format!("/datasets/{ds}");
        let b = |v: Value| put(path.clone(), body(v));
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("not JSON".into(), put(path.clone(), raw(b"{")), 400, BAD_JSON, "Incorrect JSON format".into()),
            ("empty body".into(), put(path.clone(), raw(b"")), 400, EMPTY_REQUEST, "Empty request".into()),
            ("dataset_name with a space".into(), b(json!({"dataset_name": "a b"})), 400, INVALID, "dataset_name may contain only".into()),
            ("dataset_name empty".into(), b(json!({"dataset_name": ""})), 400, INVALID, "dataset_name must be 1 to 100".into()),
            ("dataset_name 101 chars".into(), b(json!({"dataset_name": "n".repeat(101)})), 400, INVALID, "dataset_name must be 1 to 100".into()),
            ("dataset_name a number".into(), b(json!({"dataset_name": 5})), 400, INVALID, "dataset_name: invalid type".into()),
            ("dataset_name taken".into(), b(json!({"dataset_name": "taken"})), 400, DATASET_EXISTS, "Dataset already exists".into()),
            ("description with <".into(), b(json!({"description": "<b>"})), 400, INVALID, "description must not contain".into()),
            ("description 257 chars".into(), b(json!({"description": "d".repeat(257)})), 400, INVALID, "description must be at most 256".into()),
            ("current_version_id".into(), b(json!({"current_version_id": "v1"})), 404, VERSION_NOT_FOUND, "v1".into()),
            ("update_labels of an unknown label".into(), b(json!({"update_labels": [{"name": "Nobody", "type": 103}]})), 404, LABEL_NOT_FOUND, "update_labels[0]".into()),
            ("update_labels without name".into(), b(json!({"update_labels": [{"type": 103}]})), 400, INVALID, "update_labels[0].name is required".into()),
            ("update_labels renaming onto a taken name".into(), b(json!({"update_labels": [{"name": "Person", "type": 103, "property": {"@modelarts:rename_to": "Book"}}]})), 400, LABEL_EXISTS, "\"Book\"".into()),
            ("update_labels with a bad colour".into(), b(json!({"update_labels": [{"name": "Person", "type": 103, "property": {"@modelarts:color": "red"}}]})), 400, INVALID, "@modelarts:color".into()),
            ("delete_labels of an entity in use".into(), b(json!({"delete_labels": [{"name": "Person", "type": 103}]})), 400, ENTITY_IN_USE, "delete_labels[0]".into()),
            ("delete_labels of an unknown label".into(), b(json!({"delete_labels": [{"name": "Nobody"}]})), 404, LABEL_NOT_FOUND, "delete_labels[0]".into()),
            ("add_labels duplicate".into(), b(json!({"add_labels": [{"name": "Book", "type": 103}]})), 400, LABEL_EXISTS, "Label already exists: \"Book\"".into()),
            ("add_labels relation to a missing entity".into(), b(json!({"add_labels": [{"name": "Wrote", "type": 102, "property": {"@modelarts:from_type": "Person", "@modelarts:to_type": "Nobody"}}]})), 400, TRIPLET_ENTITY_MISSING, "\"Nobody\"".into()),
            ("add_labels of a foreign type".into(), b(json!({"add_labels": [{"name": "Cat", "type": 0}]})), 400, LABEL_RULE, "type 0 is not allowed".into()),
            ("a good rename with a duplicate label".into(), b(json!({"dataset_name": "renamed", "description": "changed", "add_labels": [{"name": "Book", "type": 103}]})), 400, LABEL_EXISTS, "\"Book\"".into()),
            ("a good add with a bad delete".into(), b(json!({"add_labels": [{"name": "Place", "type": 103}], "delete_labels": [{"name": "Person", "type": 103}]})), 400, ENTITY_IN_USE, "Person".into()),
            ("a good delete with a bad add".into(), b(json!({"delete_labels": [{"name": "Author", "type": 102}], "add_labels": [{"name": "Book", "type": 103}]})), 400, LABEL_EXISTS, "\"Book\"".into()),
            ("unknown dataset".into(), put(format!("/datasets/{UNKNOWN_DATASET}"), body(json!({"description": "x"}))), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
            ("GET an unknown dataset".into(), get(format!("/datasets/{UNKNOWN_DATASET}")), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
            ("DELETE an unknown dataset".into(), delete(format!("/datasets/{UNKNOWN_DATASET}")), 404, DATASET_NOT_FOUND, UNKNOWN_DATASET.into()),
            ("DELETE a dataset id with odd characters".into(), delete("/datasets/x'%20OR%201=1"), 404, DATASET_NOT_FOUND, "Dataset does not exist".into()),
        ];
        run_rows(&t, &rows).await;
        let d = read_ok(&t, &path).await;
        assert_eq!(d["dataset_name"], "triplets", "{}", t.backend);
        assert_eq!(d["description"], "original", "{}", t.backend);
        assert_eq!(d["labels"].as_array().unwrap().len(), 3, "{}", t.backend);
    }
}
