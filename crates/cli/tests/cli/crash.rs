//! The crash test: labelers write batches concurrently, the server is killed with SIGKILL at a
//! random moment, restarted, and every acknowledged batch must be there exactly as acknowledged,
//! with no batch half-applied. 20 kill cycles on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set. The counts are printed (run with `--nocapture` to see them).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::helpers::{kill, serve, Server, BIN};
const LABELERS: usize = 4;
const SAMPLES_PER_LABELER: usize = 8;
const CYCLES: usize = 20;

/// A small xorshift generator, seeded from the clock; the seed is printed to replay a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn call(
    client: &reqwest::blocking::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut req = client.request(method, url).header("X-Auth-Token", token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().unwrap();
    let status = res.status();
    let v: Value = res.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

struct Setup {
    project: String,
    owner: String,
    dataset: String,
    task: String,
    /// Per labeler: token, worker id, and the sample ids assigned to them.
    labelers: Vec<(String, String, Vec<String>)>,
}

fn setup(s: &Server, dir: &Path, database: Option<&str>) -> Setup {
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("initial-credentials.json")).unwrap()).unwrap();
    let project = creds["project_id"].as_str().unwrap().to_string();
    let owner = creds["token"].as_str().unwrap().to_string();
    let c = reqwest::blocking::Client::new();
    let api = format!("{}/v2/{project}", s.base);
    let ds = call(
        &c,
        reqwest::Method::POST,
        &format!("{api}/datasets"),
        &owner,
        Some(json!({"dataset_name": "crash", "dataset_type": 0, "labels": [{"name": "cat"}, {"name": "dog"}]})),
    );
    let dataset = ds["dataset_id"].as_str().unwrap().to_string();
    let samples: Vec<Value> = (0..LABELERS * SAMPLES_PER_LABELER)
        .map(|i| json!({"source": format!("http://images.example.com/{i}.jpg")}))
        .collect();
    call(
        &c,
        reqwest::Method::POST,
        &format!("{api}/datasets/{dataset}/data-annotations/samples"),
        &owner,
        Some(json!({"samples": samples})),
    );
    let team = call(
        &c,
        reqwest::Method::POST,
        &format!("{api}/workforces"),
        &owner,
        Some(json!({"workforce_name": "crew"})),
    );
    let team = team["workforce_id"].as_str().unwrap().to_string();
    for i in 0..LABELERS {
        call(
            &c,
            reqwest::Method::POST,
            &format!("{api}/workforces/{team}/workers"),
            &owner,
            Some(json!({"emails": format!("l{i}@example.com"), "role": 0})),
        );
    }
    let workers: Vec<Value> = (0..LABELERS)
        .map(|i| json!({"email": format!("l{i}@example.com")}))
        .collect();
    let task = call(
        &c,
        reqwest::Method::POST,
        &format!("{api}/datasets/{dataset}/workforce-tasks"),
        &owner,
        Some(
            json!({"task_name": "t", "workforces_config": {"workforces": [{"workforce_id": team, "workers": workers}]}}),
        ),
    );
    let task = task["task_id"].as_str().unwrap().to_string();
    call(
        &c,
        reqwest::Method::POST,
        &format!("{api}/datasets/{dataset}/workforce-tasks/{task}"),
        &owner,
        Some(json!({})),
    );
    let mut labelers = Vec::new();
    for i in 0..LABELERS {
        let mut args = vec![
            "token".to_string(),
            "create".into(),
            "--data-dir".into(),
            dir.to_str().unwrap().into(),
            "--project-id".into(),
            project.clone(),
            "--email".into(),
            format!("l{i}@example.com"),
        ];
        if let Some(db) = database {
            args.extend(["--database".into(), db.to_string()]);
        }
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let token: Value = serde_json::from_slice(&out.stdout).unwrap();
        let token = token["token"].as_str().unwrap().to_string();
        let mine = call(
            &c,
            reqwest::Method::GET,
            &format!("{api}/datasets/{dataset}/workforce-tasks/{task}/data-annotations/samples?limit=100"),
            &token,
            None,
        );
        let ids: Vec<String> = mine["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sample_id"].as_str().unwrap().to_string())
            .collect();
        let worker = mine["samples"][0]["worker_id"].as_str().unwrap().to_string();
        assert_eq!(ids.len(), SAMPLES_PER_LABELER);
        labelers.push((token, worker, ids));
    }
    Setup {
        project,
        owner,
        dataset,
        task,
        labelers,
    }
}

/// What one labeler sent and had acknowledged: batch numbers.
#[derive(Default, Clone, Copy)]
struct Progress {
    acked: u64,
    sent: u64,
}

/// The marker and version of each of `ids` in a list of copies.
fn copy_states(list: &Value, ids: &[String]) -> Vec<(Option<u64>, u64)> {
    ids.iter()
        .map(|id| {
            let copy = list["samples"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["sample_id"] == id.as_str());
            (
                copy.and_then(marker_of),
                copy.and_then(|c| c["version"].as_u64()).unwrap_or(0),
            )
        })
        .collect()
}

fn marker_of(copy: &Value) -> Option<u64> {
    copy["labels"][0]["property"]["batch"].as_u64()
}

fn crash_cycles(database: Option<&str>, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut server = serve(dir.path(), database, &[]);
    let setup = Arc::new(setup(&server, dir.path(), database));
    let mut progress = [Progress::default(); LABELERS];
    let (mut acked_batches, mut verified_items, mut lost_items, mut half_applied, mut replays) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let started = Instant::now();
    for cycle in 0..CYCLES {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (i, p) in progress.iter().enumerate() {
            let (setup, stop, base, start_at) = (setup.clone(), stop.clone(), server.base.clone(), *p);
            threads.push(std::thread::spawn(move || {
                let c = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let (token, _, ids) = &setup.labelers[i];
                let url = format!(
                    "{base}/v2/{}/datasets/{}/workforce-tasks/{}/data-annotations/samples",
                    setup.project, setup.dataset, setup.task
                );
                // Only what was acknowledged counts as acknowledged; numbering goes on from
                // what was sent.
                let mut p = start_at;
                while !stop.load(Ordering::Relaxed) {
                    let n = p.sent + 1;
                    let name = if n.is_multiple_of(2) { "cat" } else { "dog" };
                    let items: Vec<Value> = ids
                        .iter()
                        .map(|id| json!({"sample_id": id, "labels": [{"name": name, "property": {"batch": n}}]}))
                        .collect();
                    p.sent = n;
                    match c
                        .put(&url)
                        .header("X-Auth-Token", token)
                        .header("X-Idempotency-Key", format!("c{i}-b{n}"))
                        .json(&json!({"samples": items}))
                        .send()
                    {
                        Ok(res) if res.status().is_success() => {
                            let v: Value = res.json().unwrap_or(Value::Null);
                            assert_eq!(v["success"], true, "{v}");
                            p.acked = n;
                        }
                        _ => break,
                    }
                }
                p
            }));
        }
        std::thread::sleep(Duration::from_millis(100 + rng.next() % 400));
        let old = std::mem::replace(
            &mut server,
            Server {
                child: Command::new("true").spawn().unwrap(),
                base: String::new(),
            },
        );
        kill(old);
        stop.store(true, Ordering::Relaxed);
        for (i, t) in threads.into_iter().enumerate() {
            let p = t.join().unwrap();
            acked_batches += p.acked - progress[i].acked;
            progress[i] = p;
        }
        server = serve(dir.path(), database, &[]);
        let c = reqwest::blocking::Client::new();
        for (i, (_, worker, ids)) in setup.labelers.iter().enumerate() {
            let url = format!(
                "{}/v2/{}/datasets/{}/workforce-tasks/{}/data-annotations/samples?limit=100&worker_id={worker}",
                server.base, setup.project, setup.dataset, setup.task
            );
            let copies = call(&c, reqwest::Method::GET, &url, &setup.owner, None);
            let markers: Vec<Option<u64>> = ids
                .iter()
                .map(|id| {
                    copies["samples"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["sample_id"] == id.as_str())
                        .and_then(marker_of)
                })
                .collect();
            verified_items += markers.len() as u64;
            let p = progress[i];
            let first = markers[0];
            if markers.iter().any(|m| *m != first) {
                half_applied += 1;
            }
            for m in &markers {
                let m = m.unwrap_or(0);
                if m < p.acked {
                    lost_items += 1;
                }
                assert!(m <= p.sent, "{label}: a batch that was never sent appeared");
            }
            // A retry of the last acknowledged batch after the restart answers as the first time
            // and writes nothing: markers and versions stay as they are.
            let before = copy_states(&copies, ids);
            let mut latest = markers.clone();
            if p.acked > 0 {
                let (token, _, _) = &setup.labelers[i];
                let name = if p.acked.is_multiple_of(2) { "cat" } else { "dog" };
                let items: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"sample_id": id, "labels": [{"name": name, "property": {"batch": p.acked}}]}))
                    .collect();
                let put = format!(
                    "{}/v2/{}/datasets/{}/workforce-tasks/{}/data-annotations/samples",
                    server.base, setup.project, setup.dataset, setup.task
                );
                let res = c
                    .put(&put)
                    .header("X-Auth-Token", token)
                    .header("X-Idempotency-Key", format!("c{i}-b{}", p.acked))
                    .json(&json!({"samples": items}))
                    .send()
                    .unwrap();
                assert!(res.status().is_success(), "{label}: replay answered {}", res.status());
                let v: Value = res.json().unwrap();
                assert_eq!(v["success"], true, "{label}: {v}");
                let after = copy_states(&call(&c, reqwest::Method::GET, &url, &setup.owner, None), ids);
                // A batch the killed server had in flight may still commit after the restart
                // (PostgreSQL completes a COMMIT it received): it lands whole, one version up,
                // with its own marker. Anything else that moved was written by the replay.
                let late_landing = p.sent > p.acked
                    && after
                        .iter()
                        .zip(&before)
                        .all(|((m, v), (_, v0))| *m == Some(p.sent) && *v == v0 + 1);
                assert!(
                    after == before || late_landing,
                    "{label}: a replay after the restart wrote again: before {before:?}, after {after:?}"
                );
                latest = after.iter().map(|(m, _)| *m).collect();
                replays += 1;
            }
            // The next cycle continues from what is stored (an unacknowledged batch may have landed).
            let first = latest[0];
            progress[i] = Progress {
                acked: first.unwrap_or(0).max(p.acked),
                sent: first.unwrap_or(0).max(p.sent),
            };
        }
        if cycle + 1 == CYCLES {
            kill(std::mem::replace(
                &mut server,
                Server {
                    child: Command::new("true").spawn().unwrap(),
                    base: String::new(),
                },
            ));
        }
    }
    println!(
        "crash test ({label}, seed {seed}): {CYCLES} kill cycles in {:.1} s; batches acknowledged: {acked_batches}, items verified: {verified_items}, items lost: {lost_items}, half-applied batches: {half_applied}, idempotent replays after restart: {replays}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        acked_batches > 0,
        "{label}: no batch was acknowledged; the test proved nothing"
    );
    assert_eq!(lost_items, 0, "{label}: acknowledged items were lost");
    assert_eq!(half_applied, 0, "{label}: batches were half-applied");
}

#[test]
fn acknowledged_batches_survive_sigkill_on_sqlite() {
    crash_cycles(None, "sqlite");
}

#[test]
fn acknowledged_batches_survive_sigkill_on_postgres() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let schema = format!("api_{:032x}", (std::process::id() as u128) << 20 | 0xc4a5);
    assert!(Command::new("psql")
        .args([url.as_str(), "-qc", &format!("CREATE SCHEMA IF NOT EXISTS {schema}")])
        .status()
        .unwrap()
        .success());
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    crash_cycles(Some(&db), "postgres");
    Command::new("psql")
        .env("PGOPTIONS", "--client-min-messages=warning")
        .args([url.as_str(), "-qc", &format!("DROP SCHEMA {schema} CASCADE")])
        .status()
        .unwrap();
}
