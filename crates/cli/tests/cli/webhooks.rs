//! Webhook events survive a crash: a labeled copy's event is written with the label, so a
//! server killed with SIGKILL before it could deliver (its receiver was down) delivers it after
//! the restart, signed, under the same delivery id. On SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{kill, serve, Schema, Server};

fn start(dir: &Path, database: Option<&str>) -> Server {
    let config = dir.join("webhooks.toml");
    // A claim cut short by the kill holds for the timeout and 5 s: 7 s.
    std::fs::write(&config, "[webhooks]\nbackoff_base = 1\nbackoff_cap = 1\ntimeout = 2\n").unwrap();
    let extra = ["--webhook-allow", "127.0.0.1", "--config", config.to_str().unwrap()];
    serve(dir, database, &extra)
}

fn call(c: &reqwest::blocking::Client, method: reqwest::Method, url: &str, token: &str, body: Value) -> Value {
    let res = c
        .request(method, url)
        .header("X-Auth-Token", token)
        .json(&body)
        .send()
        .unwrap();
    let status = res.status();
    let v: Value = res.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

/// One request a receiver got: its headers (lower-case names) and body.
type Got = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

/// A receiver on `listener` answering 200 to every request, in a thread of its own.
fn receive(listener: TcpListener) -> Got {
    let got: Got = Arc::default();
    let mine = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                let (k, v) = l.split_once(':').unwrap();
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            mine.lock().unwrap().push((headers, body));
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    got
}

fn a_labeled_event_survives_sigkill(database: Option<&str>, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on until the first server is dead.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = start(dir.path(), database);
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("initial-credentials.json")).unwrap()).unwrap();
    let (project, owner) = (creds["project_id"].as_str().unwrap(), creds["token"].as_str().unwrap());
    let c = reqwest::blocking::Client::new();
    let api = format!("{}/v2/{project}", s.base);
    use reqwest::Method;
    let hook = call(
        &c,
        Method::POST,
        &format!("{api}/webhooks"),
        owner,
        json!({"url": format!("http://127.0.0.1:{port}/in"), "events": ["copy.labeled"]}),
    );
    let (hook_id, secret) = (hook["webhook_id"].as_str().unwrap(), hook["secret"].as_str().unwrap());
    let ds = call(
        &c,
        Method::POST,
        &format!("{api}/datasets"),
        owner,
        json!({"dataset_name": "hooked", "dataset_type": 0, "labels": [{"name": "cat"}]}),
    );
    let ds = ds["dataset_id"].as_str().unwrap();
    let added = call(
        &c,
        Method::POST,
        &format!("{api}/datasets/{ds}/data-annotations/samples"),
        owner,
        json!({"samples": [{"source": "http://images.example.com/1.jpg"}]}),
    );
    let sample = added["results"][0]["sample_id"].as_str().unwrap().to_string();
    let team = call(
        &c,
        Method::POST,
        &format!("{api}/workforces"),
        owner,
        json!({"workforce_name": "crew"}),
    );
    let team = team["workforce_id"].as_str().unwrap();
    call(
        &c,
        Method::POST,
        &format!("{api}/workforces/{team}/workers"),
        owner,
        json!({"emails": "ann@example.com", "role": 0}),
    );
    let task = call(
        &c,
        Method::POST,
        &format!("{api}/datasets/{ds}/workforce-tasks"),
        owner,
        json!({"task_name": "t", "workforces_config": {"workforces": [{"workforce_id": team, "workers": [{"email": "ann@example.com"}]}]}}),
    );
    let task = format!(
        "{api}/datasets/{ds}/workforce-tasks/{}",
        task["task_id"].as_str().unwrap()
    );
    call(&c, Method::POST, &task, owner, json!({}));
    let copies = call(
        &c,
        Method::GET,
        &format!("{task}/data-annotations/samples"),
        owner,
        json!({}),
    );
    let worker = copies["samples"][0]["worker_id"].as_str().unwrap().to_string();
    // The owner labels on the labeler's behalf; acknowledged, then the server dies at once.
    let done = call(
        &c,
        Method::PUT,
        &format!("{task}/data-annotations/samples"),
        owner,
        json!({"samples": [{"sample_id": sample, "worker_id": worker, "labels": [{"name": "cat"}]}]}),
    );
    assert_eq!(done["success"], true, "{label}: {done}");
    kill(s);

    let got = receive(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let s = start(dir.path(), database);
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "{label}: the event was not delivered after the restart"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (headers, body) = got.lock().unwrap()[0].clone();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["event"], "copy.labeled", "{label}: {event}");
    assert_eq!(
        event["data"]["copies"][0]["sample_id"],
        json!(sample),
        "{label}: {event}"
    );
    assert_eq!(
        header("x-teamlabel-delivery"),
        format!("{}.{hook_id}", event["event_id"].as_str().unwrap())
    );
    assert_eq!(
        header("x-teamlabel-signature"),
        teamlabel_core::webhooks::dispatch::sign(secret.as_bytes(), &body),
        "{label}"
    );
    let api = format!("{}/v2/{project}", s.base);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = call(
            &c,
            Method::GET,
            &format!("{api}/webhooks/{hook_id}/deliveries"),
            owner,
            json!({}),
        );
        let d = &log["deliveries"][0];
        if d["status"] == "DELIVERED" {
            assert_eq!(log["total_count"], 1, "{label}: one event, one delivery: {log}");
            assert_eq!(d["last_status_code"], 200, "{label}: {d}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{label}: the log never said DELIVERED: {log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_webhook_event_survives_sigkill_on_sqlite() {
    a_labeled_event_survives_sigkill(None, "sqlite");
}

#[test]
fn a_webhook_event_survives_sigkill_on_postgres() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipping PostgreSQL: TEST_DATABASE_URL is not set");
        return;
    };
    let schema = Schema::create(&url);
    a_labeled_event_survives_sigkill(Some(&schema.database_url()), "postgres");
}
