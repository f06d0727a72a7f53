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

mod datasets;
mod labels;
mod routes;
mod samples;
