//! Request ids and `GET /metrics`: the id a request is answered with (echoed when sane, made
//! otherwise, the same in an internal error's message), where the metrics endpoint answers and
//! who may read it, and what it counts.
//!
//! The `metrics` recorder is global to the test binary, where tests run side by side. Tests that
//! count exactly install a recorder of their own for their thread (`metrics::set_default_local_recorder`):
//! `#[tokio::test]` runs the server, the client and every async step on that one thread, so
//! everything recorded in the async code of this test lands there and nowhere else. What is
//! recorded on other threads (the SQLite writer thread, the SQLite read pool in blocking tasks)
//! reaches only the global recorder; those checks compare before and after, so another test's
//! work can only add to what they see.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use teamlabel_client::{Auth, Client, Method};
use teamlabel_core::error::Error;
use teamlabel_server::error::ApiError;
use teamlabel_server::exporter::{self, Exporter, MetricsEndpoint};
use teamlabel_server::observe::{HTTP_REQUESTS, HTTP_SECONDS};

use crate::helpers::codes::*;
use crate::helpers::{call, spawn, spawn_router, token, Answer, TestApp};

/// The bearer token of `GET /metrics` in these tests.
const METRICS_TOKEN: &str = "metrics-token-0123456789";
/// A 32-hex id nothing has.
const UNKNOWN_HEX: &str = "0123456789abcdef0123456789abcdef";

fn backends() -> Vec<&'static str> {
    let mut b = vec!["sqlite"];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        b.push("postgres");
    }
    b
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One series of the text format: its name, its labels and its value.
type Series = (String, BTreeMap<String, String>, f64);

fn parse(text: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a series line: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a value: {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let mut labels = BTreeMap::new();
                let mut rest = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("labels end with }}: {line}"));
                while !rest.is_empty() {
                    let (key, after) = rest
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("key=\"value\": {line}"));
                    let (val, after) = after
                        .split_once('"')
                        .unwrap_or_else(|| panic!("a closing quote: {line}"));
                    labels.insert(key.to_string(), val.to_string());
                    rest = after.strip_prefix(',').unwrap_or(after);
                }
                (name.to_string(), labels)
            }
        };
        out.push((name, labels, value));
    }
    out
}

/// The sum of the series `name` whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    parse(text)
        .into_iter()
        .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
        .map(|(_, _, v)| v)
        .sum()
}

/// `GET /metrics` on `t`'s API listener with the metrics token; answers the text.
async fn scrape(t: &TestApp) -> String {
    let a = t
        .client
        .request_root(Method::GET, "/metrics")
        .header("Authorization", &format!("Bearer {METRICS_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}: {}", t.backend, String::from_utf8_lossy(&a.bytes));
    String::from_utf8(a.bytes.to_vec()).unwrap()
}

/// A server whose API listener also answers `GET /metrics` from `exporter`, behind the token.
async fn spawn_with_metrics(backend: &'static str, exporter: &Exporter) -> TestApp {
    let endpoint = MetricsEndpoint::new(exporter.clone(), Some(METRICS_TOKEN.to_string()));
    spawn_router(backend, move |state| {
        teamlabel_server::router_with(state, Some(endpoint))
    })
    .await
}

async fn get_with_request_id(t: &TestApp, target: &str, id: &str) -> Answer {
    t.client
        .request_root(Method::GET, target)
        .header("X-Request-Id", id)
        .send()
        .await
        .unwrap()
        .into()
}

fn request_id(a: &Answer) -> String {
    a.headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("an X-Request-Id answer header: {:?}", a.headers))
        .to_string()
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_any_other_is_replaced_by_a_new_one() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let longest = "r".repeat(128);
        for given in [
            "trace-42.abc:Z",
            "0af7651916cd43dd8448eb211c80319c",
            "!#$%&'*+/=?^_`{|}~",
            longest.as_str(),
        ] {
            let a = get_with_request_id(&t, "/health", given).await;
            assert_eq!(request_id(&a), given, "{b}: a sane id comes back as given");
        }
        // Refusals carry it too: no token, a bad signature, a path the server does not have.
        let datasets = t.path("/datasets");
        for target in [datasets.as_str(), "/no/such/api"] {
            let a = get_with_request_id(&t, target, "refused-1").await;
            assert!(a.status >= 400, "{b}: {target}: {}", a.status);
            assert_eq!(request_id(&a), "refused-1", "{b}: {target}");
        }
        let signed = t
            .client
            .request_root(Method::GET, &datasets)
            .header(
                "Authorization",
                "SDK-HMAC-SHA256 Access=nobody, SignedHeaders=host, Signature=00",
            )
            .header("X-Request-Id", "refused-2")
            .send()
            .await
            .unwrap();
        assert_eq!(
            (signed.status, signed.header("x-request-id")),
            (401, Some("refused-2")),
            "{b}"
        );

        let made: Vec<String> = {
            let mut ids = Vec::new();
            for _ in 0..2 {
                let a: Answer = t
                    .client
                    .request_root(Method::GET, "/health")
                    .send()
                    .await
                    .unwrap()
                    .into();
                ids.push(request_id(&a));
            }
            ids
        };
        assert!(made.iter().all(|id| is_hex32(id)), "{b}: a made id is 32 hex: {made:?}");
        assert_ne!(made[0], made[1], "{b}: each request gets its own id");

        let too_long = "r".repeat(129);
        for insane in ["", "two words", "tab\tinside", "café", too_long.as_str()] {
            let a = get_with_request_id(&t, "/health", insane).await;
            assert_eq!(a.status, 200, "{b}");
            let id = request_id(&a);
            assert!(
                is_hex32(&id) && id != insane,
                "{b}: {insane:?} is replaced by a made id, got {id:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_internal_error_names_the_id_of_its_request() {
    // A route that fails inside, behind the server's own middleware and error mapping.
    let router = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async { ApiError(Error::internal("the disk is on fire at /secret/path")) }),
        )
        .layer(axum::middleware::from_fn(teamlabel_server::observe::observe));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = Client::new(format!("http://{}", listener.local_addr().unwrap()), "p", Auth::None);
    tokio::spawn(teamlabel_server::serve_router(listener, router, std::future::pending()));

    let given = client
        .request_root(Method::GET, "/boom")
        .header("X-Request-Id", "boom-1")
        .send()
        .await
        .unwrap();
    let body: Value = given.decode().unwrap();
    assert_eq!(given.status, 500);
    assert_eq!(given.header("x-request-id"), Some("boom-1"));
    assert_eq!(body["error_msg"], "Internal error. (request id boom-1)");

    let made = client.request_root(Method::GET, "/boom").send().await.unwrap();
    let id = made.header("x-request-id").unwrap().to_string();
    let body: Value = made.decode().unwrap();
    assert!(is_hex32(&id), "{id}");
    assert_eq!(body["error_msg"], format!("Internal error. (request id {id})"));
}

#[tokio::test]
async fn metrics_are_not_on_the_api_listener_unless_a_token_guards_them() {
    let plain = spawn("sqlite").await;
    for token in [None, Some(plain.token.as_str())] {
        let a = plain.send(Method::GET, "/metrics", token, None).await;
        assert_eq!((a.status, a.code()), (404, NO_SUCH_API), "off by default: {:?}", a.body);
    }

    let exporter = Exporter::install().unwrap();
    let t = spawn_with_metrics("sqlite", &exporter).await;
    let refused: [(&str, &str); 4] = [
        ("", ""),
        ("Authorization", "Bearer not-the-metrics-token"),
        ("Authorization", METRICS_TOKEN),
        ("X-Auth-Token", t.token.as_str()),
    ];
    for (name, value) in refused {
        let mut req = t.client.request_root(Method::GET, "/metrics");
        if !name.is_empty() {
            req = req.header(name, value);
        }
        let a = req.send().await.unwrap();
        assert_eq!(a.status, 401, "{name}: {value}");
        assert_eq!(a.header("www-authenticate"), Some("Bearer realm=\"metrics\""));
        assert!(
            !String::from_utf8_lossy(&a.bytes).contains("teamlabel_"),
            "nothing is shown"
        );
    }
    let a = t
        .client
        .request_root(Method::GET, "/metrics")
        .header("Authorization", &format!("Bearer {METRICS_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(a.bytes.to_vec()).unwrap();
    assert!(text.contains("# TYPE teamlabel_http_requests_total counter"), "{text}");

    // Not an API route: neither in the OpenAPI document nor in the policy table.
    let doc = t.send(Method::GET, "/openapi.json", None, None).await;
    assert!(doc.body["paths"].get("/metrics").is_none());
    assert!(teamlabel_core::iam::policy::ROUTES.iter().all(|r| r.path != "/metrics"));
}

#[tokio::test]
async fn a_metrics_listener_of_its_own_answers_metrics_only() {
    let exporter = Exporter::install().unwrap();
    let mut clients = Vec::new();
    for token in [None, Some(METRICS_TOKEN.to_string())] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = Client::new(format!("http://{}", listener.local_addr().unwrap()), "p", Auth::None);
        let router = teamlabel_server::metrics_router(MetricsEndpoint::new(exporter.clone(), token.clone()));
        tokio::spawn(teamlabel_server::serve_router(listener, router, std::future::pending()));
        clients.push((client, token.is_some()));
    }
    for (client, guarded) in &clients {
        let open = client.request_root(Method::GET, "/metrics").send().await.unwrap();
        assert_eq!(open.status, if *guarded { 401 } else { 200 });
        let with_token = client
            .request_root(Method::GET, "/metrics")
            .header("Authorization", &format!("Bearer {METRICS_TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(with_token.status, 200);
        assert!(with_token.header("x-request-id").is_some_and(is_hex32));
        for path in ["/health", "/v2/p/datasets", "/openapi.json"] {
            let a = client.request_root(Method::GET, path).send().await.unwrap();
            assert_eq!(a.status, 404, "{path}: only /metrics is served here");
        }
    }
}

#[tokio::test]
async fn requests_are_counted_and_timed_by_route_template_without_ids() {
    for backend in backends() {
        let recorder = exporter::builder().build_recorder();
        let _local = metrics::set_default_local_recorder(&recorder);
        let t = spawn_with_metrics(backend, &Exporter::from(recorder.handle())).await;
        let b = t.backend;
        let ds = t.dataset("counted", 0, json!([{"name": "cat"}])).await;
        for _ in 0..3 {
            assert_eq!(t.get(&format!("/datasets/{ds}")).await.status, 200, "{b}");
        }
        assert_eq!(t.get("/datasets/NoSuchThing00000000").await.status, 404, "{b}");
        assert_eq!(t.send(Method::GET, "/no/such/api", None, None).await.status, 404);

        let text = scrape(&t).await;
        let one = "/v2/{project_id}/datasets/{dataset_id}";
        let get = |status| [("method", "GET"), ("route", one), ("status", status)];
        assert_eq!(value(&text, HTTP_REQUESTS, &get("200")), 3.0, "{b}:\n{text}");
        assert_eq!(value(&text, HTTP_REQUESTS, &get("404")), 1.0, "{b}");
        assert_eq!(value(&text, &format!("{HTTP_SECONDS}_count"), &get("200")), 3.0, "{b}");
        assert!(value(&text, &format!("{HTTP_SECONDS}_sum"), &get("200")) > 0.0, "{b}");
        let created = [
            ("method", "POST"),
            ("route", "/v2/{project_id}/datasets"),
            ("status", "201"),
        ];
        assert_eq!(value(&text, HTTP_REQUESTS, &created), 1.0, "{b}");
        let unmatched = [("route", "unmatched"), ("status", "404")];
        assert_eq!(value(&text, HTTP_REQUESTS, &unmatched), 1.0, "{b}");

        // Every route label is a template of the router (or the two outside it): no ids.
        let doc = t.send(Method::GET, "/openapi.json", None, None).await;
        let mut templates: BTreeSet<String> = doc.body["paths"].as_object().unwrap().keys().cloned().collect();
        templates.extend(["/metrics".to_string(), "unmatched".to_string()]);
        let routes: BTreeSet<String> = parse(&text)
            .into_iter()
            .filter_map(|(_, labels, _)| labels.get("route").cloned())
            .collect();
        assert!(!routes.is_empty() && routes.is_subset(&templates), "{b}: {routes:?}");
        for id in [&t.project_id, &ds] {
            assert!(!text.contains(id.as_str()), "{b}: {id} appears in the metrics");
        }

        // The counter goes on counting.
        assert_eq!(t.get(&format!("/datasets/{ds}")).await.status, 200, "{b}");
        let text = scrape(&t).await;
        assert_eq!(value(&text, HTTP_REQUESTS, &get("200")), 4.0, "{b}");
    }
}

/// A started team task over `ds` with Ann as its only labeler; answers the task's path.
async fn task_with_ann(t: &TestApp, ds: &str) -> String {
    let b = t.backend;
    let team = t.post("/workforces", json!({"workforce_name": "counted"})).await;
    assert_eq!(team.status, 201, "{b}: {:?}", team.body);
    let team_id = team.body["workforce_id"].as_str().unwrap();
    crate::helpers::add_member(t, team_id, "ann@example.com", 0).await;
    let task = t
        .post(
            &format!("/datasets/{ds}/workforce-tasks"),
            json!({
                "task_name": "counted", "repetition": 1,
                "workforces_config": {"workforces": [{"workforce_id": team_id}]}
            }),
        )
        .await;
    assert_eq!(task.status, 200, "{b}: {:?}", task.body);
    let path = format!(
        "/datasets/{ds}/workforce-tasks/{}",
        task.body["task_id"].as_str().unwrap()
    );
    let started = t.post(&path, json!({})).await;
    assert_eq!(started.status, 200, "{b}: {:?}", started.body);
    path
}

#[tokio::test]
async fn batch_items_are_counted_as_applied_or_failed_by_error_code() {
    const APPLIED: &str = "teamlabel_batch_items_applied_total";
    const FAILED: &str = "teamlabel_batch_items_failed_total";
    for backend in backends() {
        let recorder = exporter::builder().build_recorder();
        let _local = metrics::set_default_local_recorder(&recorder);
        let t = spawn_with_metrics(backend, &Exporter::from(recorder.handle())).await;
        let b = t.backend;
        let ds = t.dataset("batches", 0, json!([{"name": "cat"}, {"name": "dog"}])).await;
        let ids = t
            .samples(&ds, json!([{"source": "http://x/1.jpg"}, {"source": "http://x/2.jpg"}]))
            .await;
        let batch = format!("/datasets/{ds}/data-annotations/samples");

        // One applied, one unknown sample, one unknown label.
        let a = t
            .put(
                &batch,
                json!({"samples": [
                    {"sample_id": ids[0], "labels": [{"name": "cat"}]},
                    {"sample_id": UNKNOWN_HEX, "labels": [{"name": "cat"}]},
                    {"sample_id": ids[1], "labels": [{"name": "bird"}]}
                ]}),
            )
            .await;
        assert_eq!(a.status, 200, "{b}: {:?}", a.body);
        let codes: Vec<&Value> = a.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["error_code"])
            .collect();
        assert_eq!(
            codes,
            [&Value::Null, &json!(SAMPLE_NOT_FOUND), &json!(LABEL_NOT_FOUND)],
            "{b}"
        );
        // All or nothing: the good item is not applied (4417), the bad one fails as itself.
        let a = t
            .put(
                &format!("{batch}?atomic=true"),
                json!({"samples": [
                    {"sample_id": ids[1], "labels": [{"name": "dog"}]},
                    {"sample_id": ids[0], "labels": [{"name": "bird"}]}
                ]}),
            )
            .await;
        assert_eq!(a.status, 400, "{b}: {:?}", a.body);
        // A retry with the same idempotency key answers the first answer and counts nothing.
        for _ in 0..2 {
            let a = t
                .client_as(Some(&t.token))
                .request(Method::PUT, &format!("/datasets/{ds}/data-annotations/samples"))
                .header("X-Idempotency-Key", "once-1")
                .json(&json!({"samples": [{"sample_id": ids[1], "labels": [{"name": "dog"}]}]}))
                .send()
                .await
                .unwrap();
            assert_eq!(a.status, 200, "{b}");
        }

        // The team task update counts under its own scope.
        let task = task_with_ann(&t, &ds).await;
        let ann = token(&t, "ann@example.com").await;
        let a = call(
            &t,
            &ann,
            Method::PUT,
            &format!("{task}/data-annotations/samples"),
            Some(json!({"samples": [
                {"sample_id": ids[0], "labels": [{"name": "cat"}]},
                {"sample_id": ids[1], "labels": [{"name": "cat"}]},
                {"sample_id": UNKNOWN_HEX, "labels": [{"name": "cat"}]}
            ]})),
        )
        .await;
        assert_eq!(a.status, 200, "{b}: {:?}", a.body);
        assert_eq!(
            a.body["results"][2]["error_code"], SAMPLE_NOT_FOUND,
            "{b}: {:?}",
            a.body
        );

        let text = scrape(&t).await;
        let dataset = |code: &'static str| [("scope", "dataset"), ("code", code)];
        assert_eq!(value(&text, APPLIED, &[("scope", "dataset")]), 2.0, "{b}:\n{text}");
        assert_eq!(value(&text, FAILED, &dataset(SAMPLE_NOT_FOUND)), 1.0, "{b}");
        assert_eq!(value(&text, FAILED, &dataset(LABEL_NOT_FOUND)), 2.0, "{b}");
        assert_eq!(value(&text, FAILED, &dataset(NOT_APPLIED)), 1.0, "{b}");
        assert_eq!(value(&text, FAILED, &[("scope", "dataset")]), 4.0, "{b}");
        assert_eq!(value(&text, APPLIED, &[("scope", "task")]), 2.0, "{b}");
        assert_eq!(
            value(&text, FAILED, &[("scope", "task"), ("code", SAMPLE_NOT_FOUND)]),
            1.0,
            "{b}"
        );
        assert_eq!(value(&text, FAILED, &[("scope", "task")]), 1.0, "{b}");
    }
}

#[tokio::test]
async fn sign_ins_and_lockouts_are_counted() {
    const SIGN_INS: &str = "teamlabel_sign_ins_total";
    for backend in backends() {
        let recorder = exporter::builder().build_recorder();
        let _local = metrics::set_default_local_recorder(&recorder);
        let t = spawn_with_metrics(backend, &Exporter::from(recorder.handle())).await;
        let b = t.backend;
        t.app
            .set_password(&t.project_id, "owner@example.com", "correct horse")
            .await
            .unwrap();
        let sign_in = |password: &'static str| {
            let body = json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": "owner@example.com", "password": password}}},
                "scope": {"project": {"id": t.project_id}},
            }});
            t.send(
                Method::POST,
                "/v3/auth/tokens",
                None,
                Some(body.to_string().into_bytes()),
            )
        };
        assert_eq!(sign_in("correct horse").await.status, 201, "{b}");
        for _ in 0..4 {
            assert_eq!(sign_in("wrong horse").await.status, 401, "{b}");
        }
        assert_eq!(sign_in("wrong horse").await.status, 429, "{b}: the fifth locks");
        assert_eq!(sign_in("correct horse").await.status, 429, "{b}: locked");

        let text = scrape(&t).await;
        assert_eq!(value(&text, SIGN_INS, &[("result", "ok")]), 1.0, "{b}:\n{text}");
        assert_eq!(value(&text, SIGN_INS, &[("result", "wrong")]), 5.0, "{b}");
        assert_eq!(value(&text, SIGN_INS, &[("result", "locked")]), 1.0, "{b}");
        assert_eq!(value(&text, "teamlabel_sign_in_lockouts_total", &[]), 1.0, "{b}");
        assert!(
            !text.contains("correct horse") && !text.contains("owner@example.com"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn storage_and_blob_work_shows_in_the_metrics() {
    // The SQLite writer thread and read pool record on threads of their own: to the global
    // recorder, read before and after.
    let global = Exporter::install().unwrap();
    for backend in backends() {
        let before = global.render();
        let recorder = exporter::builder().build_recorder();
        let _local = metrics::set_default_local_recorder(&recorder);
        let t = spawn_with_metrics(backend, &Exporter::from(recorder.handle())).await;
        let b = t.backend;
        let ds = t.dataset("stored", 0, json!([{"name": "cat"}])).await;
        let png = crate::helpers::png_b64(4, 3);
        let ids = t.samples(&ds, json!([{"name": "a.png", "data": png}])).await;
        let file = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}/file", ids[0]))
            .await;
        assert_eq!(file.status, 200, "{b}: {:?}", file.body);

        // Blob operations run on the request's thread: counted exactly.
        let text = scrape(&t).await;
        let blob = |op| [("op", op), ("outcome", "ok")];
        let blob_count = "teamlabel_blob_operation_seconds_count";
        assert_eq!(value(&text, blob_count, &blob("put")), 1.0, "{b}:\n{text}");
        assert_eq!(value(&text, blob_count, &blob("get")), 1.0, "{b}");
        assert!(
            value(&text, "teamlabel_blob_operation_seconds_sum", &blob("put")) > 0.0,
            "{b}"
        );

        let backend_label = [("backend", backend)];
        let (pool_waits, commits) = (
            "teamlabel_db_pool_wait_seconds_count",
            "teamlabel_db_commit_seconds_count",
        );
        if backend == "postgres" {
            // The pool and the transactions are awaited on the request's thread.
            assert!(value(&text, pool_waits, &backend_label) >= 3.0, "{b}:\n{text}");
            assert!(value(&text, commits, &backend_label) >= 1.0, "{b}");
        } else {
            let after = global.render();
            let grew = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) > value(&before, name, labels);
            assert!(
                grew(pool_waits, &backend_label),
                "{b}: reads waited for the pool:\n{after}"
            );
            assert!(grew(commits, &backend_label), "{b}: writes committed");
            assert!(grew("teamlabel_sqlite_group_commit_jobs_count", &[]), "{b}");
            assert!(
                parse(&after)
                    .iter()
                    .any(|(n, _, _)| n == "teamlabel_sqlite_writer_queue_depth"),
                "{b}: the writer's queue is reported"
            );
        }
    }
}
