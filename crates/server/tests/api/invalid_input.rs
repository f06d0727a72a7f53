//! Bad input against the real HTTP server, table-driven. Every row checks the HTTP status, the
//! ModelArts error code, a fragment of the message that names the offending field or rule, and
//! that the stored state is exactly what it was before the request.

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::codes::*;
use crate::helpers::{bytes as body, check_refused, check_refused_at, difference, png_b64, with, Answer, TestApp};

/// A 32-hex id no sample has.
const UNKNOWN_HEX: &str = "0123456789abcdef0123456789abcdef";
/// A dataset id (19 alphanumerics) no dataset has.
const UNKNOWN_DATASET: &str = "NoSuchDataset000000";

/// A request of a table row: method, path below `/v2/{project_id}`, raw body.
type Req = (Method, String, Option<Vec<u8>>);

/// A row of an error table: case, request, status, error code, message fragment.
type Row = (String, Req, u16, &'static str, String);

/// A row of a table of bodies for one route: case, body, status, error code, message fragment.
type BodyRow = (String, Option<Vec<u8>>, u16, &'static str, String);

fn raw(b: &[u8]) -> Option<Vec<u8>> {
    Some(b.to_vec())
}

fn get(path: impl Into<String>) -> Req {
    (Method::GET, path.into(), None)
}

fn post(path: impl Into<String>, b: Option<Vec<u8>>) -> Req {
    (Method::POST, path.into(), b)
}

fn put(path: impl Into<String>, b: Option<Vec<u8>>) -> Req {
    (Method::PUT, path.into(), b)
}

fn delete(path: impl Into<String>) -> Req {
    (Method::DELETE, path.into(), None)
}

/// `path?k=v&...` with the values URL-encoded.
fn query(path: &str, pairs: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params(&format!("http://h{path}"), pairs).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

fn labels_path(ds: &str) -> String {
    format!("/datasets/{ds}/data-annotations/labels")
}

fn samples_path(ds: &str) -> String {
    format!("/datasets/{ds}/data-annotations/samples")
}

async fn send(t: &TestApp, req: &Req) -> Answer {
    let (method, path, b) = req;
    t.send(method.clone(), &t.url(path), Some(&t.token), b.clone()).await
}

/// Asserts a plain error answer (see `check_refused`).
#[track_caller]
fn refused(t: &TestApp, case: &str, a: &Answer, status: u16, code: &str, fragment: &str) {
    if let Err(why) = check_refused(a, status, code, fragment) {
        panic!("{} {case}: {why}", t.backend);
    }
}

/// Asserts a batch answer whose item `index` failed with `code` (the first failure, so it also
/// stands on top) and has `items` results in all.
#[track_caller]
#[allow(clippy::too_many_arguments)]
fn item_failed(
    t: &TestApp,
    case: &str,
    a: &Answer,
    status: u16,
    items: usize,
    index: usize,
    code: &str,
    fragment: &str,
) {
    assert_eq!(a.status, status, "{} {case}: status (body {})", t.backend, a.body);
    assert_eq!(
        a.body["success"], false,
        "{} {case}: success (body {})",
        t.backend, a.body
    );
    assert_eq!(
        a.code(),
        code,
        "{} {case}: top error_code is the first failure's (body {})",
        t.backend,
        a.body
    );
    let results = a.body["results"].as_array().unwrap_or_else(|| {
        panic!("{} {case}: results missing: {}", t.backend, a.body);
    });
    assert_eq!(
        results.len(),
        items,
        "{} {case}: one result per item: {}",
        t.backend,
        a.body
    );
    let item = &results[index];
    assert_eq!(
        item["success"], false,
        "{} {case}: results[{index}].success: {}",
        t.backend, a.body
    );
    assert_eq!(
        item["error_code"], code,
        "{} {case}: results[{index}].error_code: {}",
        t.backend, a.body
    );
    let msg = item["error_msg"].as_str().unwrap_or("");
    assert!(
        msg.contains(fragment),
        "{} {case}: results[{index}].error_msg {msg:?} should contain {fragment:?}",
        t.backend
    );
}

async fn sample_count(t: &TestApp, samples: &str) -> u64 {
    read_ok(t, samples).await["sample_count"].as_u64().unwrap()
}

async fn read_ok(t: &TestApp, path: &str) -> Value {
    let a = t.get(path).await;
    assert_eq!(a.status, 200, "{} GET {path}: {}", t.backend, a.body);
    a.body
}

/// Every dataset of the caller's project with its labels.
async fn all_datasets(t: &TestApp) -> Value {
    read_ok(t, "/datasets?limit=100&with_labels=true").await
}

/// One dataset as stored: the dataset, its labels and its samples.
async fn dataset_state(t: &TestApp, ds: &str) -> Value {
    json!({
        "dataset": read_ok(t, &format!("/datasets/{ds}")).await,
        "labels": read_ok(t, &labels_path(ds)).await,
        "samples": read_ok(t, &format!("{}?limit=100", samples_path(ds))).await,
    })
}

/// Everything the project holds, for "nothing changed" checks.
async fn project_state(t: &TestApp) -> Value {
    let list = all_datasets(t).await;
    let mut each = Vec::new();
    for d in list["datasets"].as_array().unwrap() {
        each.push(dataset_state(t, d["dataset_id"].as_str().unwrap()).await);
    }
    json!({"list": list, "each": each})
}

/// Sends every row and checks each answer and that the project is unchanged after it. Every
/// row runs; the failures are reported together at the end.
async fn run_rows(t: &TestApp, rows: &[Row]) {
    run_rows_checked(t, rows, check_refused).await
}

/// As `run_rows`, with `check` judging each answer.
async fn run_rows_checked(t: &TestApp, rows: &[Row], check: fn(&Answer, u16, &str, &str) -> Result<(), String>) {
    let mut before = project_state(t).await;
    let mut failures = Vec::new();
    for (case, req, status, code, fragment) in rows {
        let a = send(t, req).await;
        let mut why = Vec::new();
        if let Err(e) = check(&a, *status, code, fragment) {
            why.push(e);
        }
        let after = project_state(t).await;
        if after != before {
            let diff = difference(&before, &after, "").unwrap_or_default();
            why.push(format!("the refused request changed stored state: {diff}"));
            before = after;
        }
        if !why.is_empty() {
            failures.push(format!("{case} ({} {}): {}", req.0, req.1, why.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{}: {} of {} rows failed:\n{}",
        t.backend,
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

fn triplet_labels() -> Value {
    json!([
        {"name": "Person", "type": 103},
        {"name": "Book", "type": 103},
        {"name": "Author", "type": 102, "property": {"@modelarts:from_type": "Person", "@modelarts:to_type": "Book"}},
    ])
}

fn bndbox(feature: Value) -> Value {
    json!([{"name": "Car", "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": feature}}])
}

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
        let at = |project: &str, path: &str| format!("http://{}/v2/{project}{path}", t.addr);
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
            ("a project id that is not hex".into(), t.root("/v2/not-a-project/datasets"), 400, INVALID_PROJECT, "not-a-project"),
            ("an upper-case project id".into(), t.root(&format!("/v2/{upper}/datasets")), 400, INVALID_PROJECT, "Invalid project ID"),
            ("a short project id".into(), t.root(&format!("/v2/{}/datasets/{ds}", &t.project_id[..31])), 400, INVALID_PROJECT, "Invalid project ID"),
            ("an unknown path under the project".into(), t.url("/nothing-here"), 404, NO_SUCH_API, "/nothing-here"),
            ("an unknown path under a dataset".into(), t.url(&format!("/datasets/{ds}/data-annotations/nothing")), 404, NO_SUCH_API, "nothing"),
            ("a trailing slash".into(), t.url("/datasets/"), 404, NO_SUCH_API, "API does not exist"),
            ("an unknown root path".into(), t.root("/v3/datasets"), 404, NO_SUCH_API, "/v3/datasets"),
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
    // The dataset, label and sample routes; the team routes are covered in team_rules.rs.
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
