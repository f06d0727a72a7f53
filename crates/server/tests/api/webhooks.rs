//! Webhooks over HTTP on every backend: the owner's endpoints with their refusals, and
//! deliveries to a receiver on loopback (named in the allow-list, as an operator would): each
//! event of a labeling team's day reaches exactly the endpoints subscribed to it, signed with
//! the endpoint's secret; a failing receiver gets the same delivery again after a backoff until
//! it answers or the attempts run out, and a redelivery sends it once more; a name that
//! resolves to a loopback address is refused when the allow-list does not name it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use teamlabel_core::webhooks::dispatch::sign;
use teamlabel_core::webhooks::WebhookSettings;

use crate::acceptance::{class, setup};
use crate::helpers::*;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A receiver on 127.0.0.1: records every request, answers the statuses queued (200 when
/// none is).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    url: String,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut r = Receiver {
            url: format!("http://{}", listener.local_addr().unwrap()),
            ..Receiver::default()
        };
        let me = r.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let me = me.clone();
                async move {
                    me.got.lock().unwrap().push(Received {
                        path: uri.path().to_string(),
                        headers,
                        body: body.to_vec(),
                    });
                    let status = me.answers.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        r.url = r.url.clone();
        r
    }

    fn answer(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    fn got(&self, path: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

/// Quick retries, and the receiver's loopback address allowed.
fn settings(max_attempts: u32) -> WebhookSettings {
    WebhookSettings {
        policy: teamlabel_core::webhooks::guard::AddressPolicy::new(vec!["127.0.0.1".parse().unwrap()]),
        max_attempts,
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
        poll: Duration::from_millis(100),
        ..WebhookSettings::default()
    }
}

/// Registers an endpoint; answers its id and secret.
async fn register(t: &TestApp, url: &str, events: Value) -> (String, String) {
    let a = t.post("/webhooks", json!({"url": url, "events": events})).await;
    let body = expect(t, "register a webhook", &a, 201);
    (
        body["webhook_id"].as_str().unwrap().to_string(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

async fn deliveries(t: &TestApp, webhook: &str) -> Vec<Value> {
    let a = t.get(&format!("/webhooks/{webhook}/deliveries")).await;
    expect(t, "delivery log", &a, 200)["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until every delivery of `webhook` is in a final status and there are `n` of them.
async fn settled(t: &TestApp, webhook: &str, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let log = deliveries(t, webhook).await;
        if log.len() == n && log.iter().all(|d| d["status"] != "PENDING") {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{}: deliveries of {webhook} did not settle: {:?}",
        t.backend,
        deliveries(t, webhook).await
    );
}

#[tokio::test]
async fn the_owner_registers_reads_changes_and_deletes_endpoints_and_bad_ones_are_refused() {
    for t in spawn_all().await {
        let b = t.backend;
        let a = t
            .post(
                "/webhooks",
                json!({"url": "https://hooks.example.com/in", "events": ["copy.labeled"], "description": "ci"}),
            )
            .await;
        let created = expect(&t, "register", &a, 201);
        let id = created["webhook_id"].as_str().unwrap().to_string();
        let secret = created["secret"].as_str().unwrap();
        assert!(
            secret.len() == 64 && secret.bytes().all(|c| c.is_ascii_hexdigit()),
            "{b}: {created}"
        );
        assert_eq!(
            (&created["enabled"], &created["description"]),
            (&json!(true), &json!("ci")),
            "{b}"
        );

        let listed = expect(&t, "list", &t.get("/webhooks").await, 200);
        assert_eq!(listed["total_count"], 1, "{b}: {listed}");
        assert!(
            listed["webhooks"][0].get("secret").is_none(),
            "{b}: the secret is shown once: {listed}"
        );
        let got = expect(&t, "get", &t.get(&format!("/webhooks/{id}")).await, 200);
        assert!(got.get("secret").is_none(), "{b}: {got}");
        assert_eq!(got["events"], json!(["copy.labeled"]), "{b}");

        let a = t
            .put(
                &format!("/webhooks/{id}"),
                json!({"events": ["copy.labeled", "export.finished"], "enabled": false}),
            )
            .await;
        let changed = expect(&t, "update", &a, 200);
        assert_eq!(
            (&changed["events"], &changed["enabled"], &changed["url"]),
            (
                &json!(["copy.labeled", "export.finished"]),
                &json!(false),
                &json!("https://hooks.example.com/in")
            ),
            "{b}: {changed}"
        );

        let refusals = [
            (
                json!({"url": "ftp://hooks.example.com/", "events": ["copy.labeled"]}),
                "url must start with http",
            ),
            (
                json!({"url": "http://127.0.0.1:9/x", "events": ["copy.labeled"]}),
                "webhooks.allow",
            ),
            (
                json!({"url": "http://[::ffff:169.254.169.254]/", "events": ["copy.labeled"]}),
                "webhooks.allow",
            ),
            (
                json!({"url": "http://10.1.2.3/", "events": ["copy.labeled"]}),
                "webhooks.allow",
            ),
            (
                json!({"url": "https://u:p@hooks.example.com/", "events": ["copy.labeled"]}),
                "user name or password",
            ),
            (
                json!({"url": "https://hooks.example.com/", "events": []}),
                "events must name at least one",
            ),
            (
                json!({"url": "https://hooks.example.com/", "events": ["copy.deleted"]}),
                "not an event",
            ),
            (
                json!({"url": "https://hooks.example.com/", "events": ["copy.labeled", "copy.labeled"]}),
                "twice",
            ),
        ];
        for (body, why) in refusals {
            let a = t.post("/webhooks", body.clone()).await;
            check_refused(&a, 400, codes::INVALID, why).unwrap_or_else(|e| panic!("{b}: {body}: {e}"));
        }
        let a = t
            .post(
                "/webhooks",
                json!({"url": "https://hooks.example.com/", "events": ["copy.labeled"], "secret": "mine"}),
            )
            .await;
        check_refused_at(&a, 400, codes::INVALID, "secret: unknown field").unwrap_or_else(|e| panic!("{b}: {e}"));
        let a = t
            .put(&format!("/webhooks/{id}"), json!({"url": "http://192.168.0.1/"}))
            .await;
        check_refused(&a, 400, codes::INVALID, "webhooks.allow").unwrap_or_else(|e| panic!("{b}: {e}"));
        let a = t.get("/webhooks/deliveries?status=LOST").await;
        assert_eq!(a.status, 404, "{b}: {}", a.body);
        let a = t.get(&format!("/webhooks/{id}/deliveries?status=LOST")).await;
        check_refused(&a, 400, codes::INVALID, "status must be").unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            expect(&t, "list", &t.get("/webhooks").await, 200)["total_count"],
            1,
            "{b}: a refusal adds nothing"
        );

        // A project holds at most 20.
        for i in 1..20 {
            register(&t, &format!("https://hooks.example.com/{i}"), json!(["copy.reviewed"])).await;
        }
        let a = t
            .post(
                "/webhooks",
                json!({"url": "https://hooks.example.com/21", "events": ["copy.labeled"]}),
            )
            .await;
        check_refused(&a, 400, codes::WEBHOOK_LIMIT, "20 webhooks").unwrap_or_else(|e| panic!("{b}: {e}"));
        let page = expect(&t, "page", &t.get("/webhooks?offset=6&limit=3").await, 200);
        assert_eq!(
            (page["total_count"].as_u64(), page["webhooks"].as_array().unwrap().len()),
            (Some(20), 2),
            "{b}"
        );

        let a = t.delete(&format!("/webhooks/{id}")).await;
        assert_eq!(a.status, 204, "{b}: {}", a.body);
        for a in [
            t.get(&format!("/webhooks/{id}")).await,
            t.delete(&format!("/webhooks/{id}")).await,
            t.get(&format!("/webhooks/{id}/deliveries")).await,
            t.get("/webhooks/not-an-id").await,
        ] {
            assert_eq!((a.status, a.code()), (404, codes::WEBHOOK_NOT_FOUND), "{b}: {}", a.body);
        }
    }
}

#[tokio::test]
async fn each_event_of_the_team_flow_reaches_exactly_its_subscribers_signed() {
    for t in spawn_all_webhooks(settings(3)).await {
        let b = t.backend;
        let r = Receiver::start().await;
        let (all, all_secret) = register(
            &t,
            &format!("{}/all", r.url),
            json!(["copy.labeled", "copy.reviewed", "acceptance.closed", "export.finished"]),
        )
        .await;
        let (reviews, _) = register(&t, &format!("{}/reviews", r.url), json!(["copy.reviewed"])).await;
        let (off, _) = register(&t, &format!("{}/off", r.url), json!(["copy.labeled"])).await;
        let a = t.put(&format!("/webhooks/{off}"), json!({"enabled": false})).await;
        expect(&t, "disable", &a, 200);

        let fx = setup(&t, 2, 1, true).await;
        let s = fx.samples.clone();
        let copies = fx.copies().await;
        let mine = |who: &str| {
            copies
                .iter()
                .filter(|c| c.worker == who)
                .map(|c| c.sample.clone())
                .collect::<Vec<_>>()
        };
        let ann_samples = mine(&fx.ann_id);
        let items: Vec<Value> = ann_samples
            .iter()
            .map(|id| json!({"sample_id": id, "labels": class("cat")}))
            .collect();
        fx.label_ok(&fx.ann, Value::Array(items)).await;
        let verdicts: Vec<Value> = ann_samples
            .iter()
            .map(|id| json!({"sample_id": id, "worker_id": fx.ann_id, "accept": true, "score": "A"}))
            .collect();
        expect(&t, "review", &fx.review(&fx.rita, Value::Array(verdicts)).await, 200);

        let log = settled(&t, &all, 2).await;
        assert!(
            log.iter().all(|d| d["status"] == "DELIVERED" && d["attempts"] == 1),
            "{b}: {log:?}"
        );
        let got = r.got("/all");
        assert_eq!(got.len(), 2, "{b}: {got:?}");
        let labeled = got
            .iter()
            .find(|g| g.header("x-teamlabel-event") == "copy.labeled")
            .unwrap();
        let body = labeled.json();
        assert_eq!(
            labeled.header("x-teamlabel-signature"),
            sign(all_secret.as_bytes(), &labeled.body),
            "{b}: the signature is the HMAC of the body with the secret"
        );
        assert_eq!(
            labeled.header("x-teamlabel-delivery"),
            format!("{}.{all}", body["event_id"].as_str().unwrap()),
            "{b}"
        );
        assert_eq!(labeled.header("content-type"), "application/json", "{b}");
        assert_eq!(
            (&body["event"], &body["dataset_id"]),
            (&json!("copy.labeled"), &json!(fx.ds)),
            "{b}: {body}"
        );
        assert_eq!(body["data"]["task_id"], json!(fx.task_id), "{b}: {body}");
        assert_eq!(body["data"]["actor"], json!(crate::acceptance::ANN), "{b}: {body}");
        let mut labeled_samples: Vec<&str> = body["data"]["copies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                assert_eq!(
                    (&c["worker_id"], &c["state"], &c["version"]),
                    (&json!(fx.ann_id), &json!("__UNREVIEWED__"), &json!(1)),
                    "{b}: {c}"
                );
                c["sample_id"].as_str().unwrap()
            })
            .collect();
        labeled_samples.sort();
        let mut want = ann_samples.clone();
        want.sort();
        assert_eq!(labeled_samples, want, "{b}");
        // The delivery log holds the body as sent.
        let logged = log.iter().find(|d| d["event"] == "copy.labeled").unwrap();
        assert_eq!(logged["payload"], body, "{b}");
        assert_eq!(logged["last_status_code"], 200, "{b}");

        let reviewed = got
            .iter()
            .find(|g| g.header("x-teamlabel-event") == "copy.reviewed")
            .unwrap()
            .json();
        assert_eq!(
            (&reviewed["data"]["by"], &reviewed["data"]["copies"][0]["accept"]),
            (&json!("reviewer"), &json!(true)),
            "{b}: {reviewed}"
        );
        assert_eq!(reviewed["data"]["copies"][0]["score"], "A", "{b}: {reviewed}");
        // Subscribed to reviews only: one delivery. Disabled: none.
        assert_eq!(settled(&t, &reviews, 1).await.len(), 1, "{b}");
        assert_eq!(r.got("/reviews").len(), 1, "{b}");
        assert!(deliveries(&t, &off).await.is_empty() && r.got("/off").is_empty(), "{b}");

        // Bob labels and Rita passes his copies too; the owner accepts everything.
        let bob_samples = mine(&fx.bob_id);
        let items: Vec<Value> = bob_samples
            .iter()
            .map(|id| json!({"sample_id": id, "labels": class("dog")}))
            .collect();
        fx.label_ok(&fx.bob, Value::Array(items)).await;
        let verdicts: Vec<Value> = bob_samples
            .iter()
            .map(|id| json!({"sample_id": id, "worker_id": fx.bob_id, "accept": true}))
            .collect();
        expect(
            &t,
            "review bob",
            &fx.review(&fx.rita, Value::Array(verdicts)).await,
            200,
        );
        expect(
            &t,
            "start acceptance",
            &fx.start(fx.owner(), json!({"sampling_rate": 1.0})).await,
            200,
        );
        let a = fx.close(fx.owner(), "", json!({"action": 0})).await;
        expect(&t, "accept all", &a, 200);
        let log = settled(&t, &all, 5).await;
        let closed = log.iter().find(|d| d["event"] == "acceptance.closed").unwrap();
        let data = &closed["payload"]["data"];
        assert_eq!(
            (&data["task_id"], &data["action"], &data["synced_sample_count"]),
            (&json!(fx.task_id), &json!(0), &json!(s.len())),
            "{b}: {closed}"
        );

        // An export's end (the local object store makes a bucket on its first write).
        crate::data_io::put(&t, &format!("/{}/keep.txt", t.bucket), "x").await;
        let a = t
            .post(
                &format!("/datasets/{}/export-tasks", fx.ds),
                json!({"path": format!("/{}/wh-out/", t.bucket)}),
            )
            .await;
        let export = expect(&t, "export", &a, 200)["task_id"].as_str().unwrap().to_string();
        let log = settled(&t, &all, 6).await;
        let finished = log.iter().find(|d| d["event"] == "export.finished").unwrap();
        assert_eq!(
            (
                &finished["payload"]["data"]["task_id"],
                &finished["payload"]["data"]["status"]
            ),
            (&json!(export), &json!("SUCCESSED")),
            "{b}: {finished}"
        );
        assert!(log.iter().all(|d| d["status"] == "DELIVERED"), "{b}: {log:?}");
        assert_eq!(r.got("/all").len(), 6, "{b}: one request per delivery");
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_delivery_again_until_it_answers_or_attempts_run_out() {
    for t in spawn_all_webhooks(settings(3)).await {
        let b = t.backend;
        let r = Receiver::start().await;
        let (hook, secret) = register(&t, &format!("{}/in", r.url), json!(["copy.labeled"])).await;
        let fx = setup(&t, 2, 1, false).await;
        let copies = fx.copies().await;
        let ann = copies
            .iter()
            .filter(|c| c.worker == fx.ann_id)
            .map(|c| c.sample.clone())
            .collect::<Vec<_>>();

        // Two failures, then an answer: delivered on the third attempt.
        r.answer(&[500, 503]);
        fx.label_ok(&fx.ann, json!([{"sample_id": ann[0], "labels": class("cat")}]))
            .await;
        let log = settled(&t, &hook, 1).await;
        assert_eq!(
            (&log[0]["status"], &log[0]["attempts"], &log[0]["last_status_code"]),
            (&json!("DELIVERED"), &json!(3), &json!(200)),
            "{b}: {log:?}"
        );
        let got = r.got("/in");
        assert_eq!(got.len(), 3, "{b}");
        assert!(
            got.iter().all(|g| g.body == got[0].body
                && g.header("x-teamlabel-delivery") == got[0].header("x-teamlabel-delivery")
                && g.header("x-teamlabel-signature") == sign(secret.as_bytes(), &g.body)),
            "{b}: every retry is the same delivery"
        );

        // Three failures: the attempts run out.
        r.answer(&[500, 502, 504]);
        fx.label_ok(&fx.ann, json!([{"sample_id": ann[0], "labels": class("dog")}]))
            .await;
        let log = settled(&t, &hook, 2).await;
        let failed = &log[0];
        assert_eq!(
            (&failed["status"], &failed["attempts"], &failed["last_status_code"]),
            (&json!("FAILED"), &json!(3), &json!(504)),
            "{b}: {log:?}"
        );
        assert_eq!(failed["last_error"], "the endpoint answered HTTP 504", "{b}");
        assert!(failed.get("next_attempt_time").is_none(), "{b}: {failed}");
        let failed_id = failed["delivery_id"].as_str().unwrap();
        let only_failed = expect(
            &t,
            "failed only",
            &t.get(&format!("/webhooks/{hook}/deliveries?status=FAILED")).await,
            200,
        );
        assert_eq!(only_failed["total_count"], 1, "{b}: {only_failed}");

        // Sent once more on request, under the same id.
        let a = t
            .post(&format!("/webhooks/{hook}/deliveries/{failed_id}/redeliver"), json!({}))
            .await;
        let again = expect(&t, "redeliver", &a, 200);
        assert_eq!(
            (&again["status"], &again["attempts"]),
            (&json!("PENDING"), &json!(0)),
            "{b}: {again}"
        );
        let log = settled(&t, &hook, 2).await;
        assert_eq!(
            (&log[0]["status"], &log[0]["attempts"]),
            (&json!("DELIVERED"), &json!(1)),
            "{b}: {log:?}"
        );
        let last = r.got("/in").pop().unwrap();
        assert_eq!(last.header("x-teamlabel-delivery"), failed_id, "{b}");
        let a = t
            .post(
                &format!("/webhooks/{hook}/deliveries/{failed_id}x/redeliver"),
                json!({}),
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (404, codes::DELIVERY_NOT_FOUND),
            "{b}: {}",
            a.body
        );
    }
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_unless_the_allow_list_names_it() {
    let strict = WebhookSettings {
        policy: Default::default(),
        ..settings(1)
    };
    for t in spawn_all_webhooks(strict).await {
        let b = t.backend;
        let r = Receiver::start().await;
        let port = r.url.rsplit(':').next().unwrap();
        // A name passes registration; what it resolves to is checked at delivery.
        let (hook, _) = register(&t, &format!("http://localhost:{port}/in"), json!(["copy.labeled"])).await;
        let fx = setup(&t, 2, 1, false).await;
        let copies = fx.copies().await;
        let ann = copies.iter().find(|c| c.worker == fx.ann_id).unwrap().sample.clone();
        fx.label_ok(&fx.ann, json!([{"sample_id": ann, "labels": class("cat")}]))
            .await;
        let log = settled(&t, &hook, 1).await;
        assert_eq!(log[0]["status"], "FAILED", "{b}: {log:?}");
        let error = log[0]["last_error"].as_str().unwrap();
        assert!(
            error.contains("refused: localhost is") && error.contains("webhooks.allow"),
            "{b}: {error}"
        );
        assert!(r.got("/in").is_empty(), "{b}: nothing reached the receiver");
    }
}
