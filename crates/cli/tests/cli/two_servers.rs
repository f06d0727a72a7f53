//! Two `teamlabel serve` processes on one PostgreSQL schema, written through at once.
//!
//! The first server creates the default project; the second finds it and creates none. A team
//! task is set up through the first; then four labelers write batches through both servers at the
//! same time (each labeler alternates servers between batches), some batches carrying the
//! `version` each copy was last acknowledged at, some a deliberately stale one, while readers
//! poll every copy through both servers. Afterwards, through both servers: every acknowledged
//! write is there (final labels = the last acknowledged write of each copy, final version = the
//! number of acknowledged writes), no read ever saw a version go backwards or a version whose
//! labels are not the ones written at that version, and the history holds exactly one row per
//! applied change (versions 1..=final, each with the labels written). Runs only when
//! `TEST_DATABASE_URL` is set; the counts are printed (run with `--nocapture` to see them).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::Schema;

use crate::helpers::BIN;
const LABELERS: usize = 4;
const SAMPLES_PER_LABELER: usize = 8;
/// How long the labelers write.
const LOAD: Duration = Duration::from_secs(3);
/// At most this many batches per labeler (bounds the request count on a fast machine).
const MAX_BATCHES: u64 = 60;
/// At most this many list requests per reader.
const MAX_READS: u64 = 120;
const READERS: usize = 2;
const VERSION_CONFLICT: &str = "ModelArts.4690";

struct Server {
    child: Child,
    base: String,
    /// What the server printed to stdout before announcing its address.
    banner: Vec<String>,
    log: PathBuf,
}

fn start(dir: &Path, database: &str) -> Server {
    std::fs::create_dir_all(dir).unwrap();
    let log = dir.with_extension("log");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--database",
            database,
        ])
        // Servers sharing a database share the key that seals AK/SK secrets.
        .env(
            "TEAMLABEL_SECRET_KEY_FILE",
            dir.parent().unwrap().join("shared-secret.key"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let base = loop {
        match lines.next() {
            Some(Ok(l)) => match l.strip_prefix("listening on ") {
                Some(addr) => break addr.to_string(),
                None => banner.push(l),
            },
            _ => panic!(
                "the server exited before announcing its address: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }
    };
    // Keep draining stdout so a late line never meets a closed pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Server {
        child,
        base,
        banner,
        log,
    }
}

/// Sends SIGTERM and waits (bounded) for the exit; the server must exit 0.
fn stop_gracefully(s: &mut Server, name: &str) {
    assert!(Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            assert!(
                status.success(),
                "server {name}: graceful shutdown exits 0, got {status}; log:\n{}",
                std::fs::read_to_string(&s.log).unwrap_or_default()
            );
            return;
        }
        assert!(Instant::now() < deadline, "server {name} did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    /// A failed test does not leave its servers running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
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
    let res = req.send().unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = res.status();
    let v: Value = res.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

struct Labeler {
    email: String,
    token: String,
    worker: String,
    samples: Vec<String>,
}

struct Setup {
    /// The two servers' base URLs.
    bases: [String; 2],
    project: String,
    owner: String,
    dataset: String,
    task: String,
    labelers: Vec<Labeler>,
}

impl Setup {
    fn task_samples(&self, server: usize) -> String {
        format!(
            "{}/v2/{}/datasets/{}/workforce-tasks/{}/data-annotations/samples",
            self.bases[server], self.project, self.dataset, self.task
        )
    }

    /// One member's copies through one server, by sample id: (version, labels).
    fn copies_of(&self, c: &reqwest::blocking::Client, server: usize, worker: &str) -> HashMap<String, (i64, Value)> {
        let url = format!("{}?limit=100&worker_id={worker}", self.task_samples(server));
        let v = call(c, reqwest::Method::GET, &url, &self.owner, None);
        v["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                assert_eq!(s["worker_id"], worker, "{s}");
                (
                    s["sample_id"].as_str().unwrap().to_string(),
                    (s["version"].as_i64().unwrap(), s["labels"].clone()),
                )
            })
            .collect()
    }

    /// A sample's whole history through one server, newest first, and its total_number.
    fn history(&self, c: &reqwest::blocking::Client, server: usize, sample: &str) -> (u64, Vec<Value>) {
        let mut rows = Vec::new();
        let mut total;
        loop {
            let url = format!(
                "{}/v2/{}/datasets/{}/data-annotations/samples/{sample}/history?limit=100&offset={}",
                self.bases[server],
                self.project,
                self.dataset,
                rows.len()
            );
            let v = call(c, reqwest::Method::GET, &url, &self.owner, None);
            total = v["total_number"].as_u64().unwrap();
            let page = v["history"].as_array().unwrap();
            rows.extend(page.iter().cloned());
            if page.is_empty() || rows.len() as u64 >= total {
                break;
            }
        }
        (total, rows)
    }
}

fn token_create(data_dir: &Path, database: &str, project: &str, email: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "token",
            "create",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--database",
            database,
            "--project-id",
            project,
            "--email",
            email,
        ])
        .env(
            "TEAMLABEL_SECRET_KEY_FILE",
            data_dir.parent().unwrap().join("shared-secret.key"),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token: Value = serde_json::from_slice(&out.stdout).unwrap();
    token["token"].as_str().unwrap().to_string()
}

/// Sets up a dataset, a team of labelers and a started task through server A. Labelers 0 and 1
/// get their tokens through A's data dir, 2 and 3 through B's (the store is the same).
fn setup(a: &Server, b: &Server, dirs: [&Path; 2], database: &str) -> Setup {
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(dirs[0].join("initial-credentials.json")).unwrap()).unwrap();
    let project = creds["project_id"].as_str().unwrap().to_string();
    let owner = creds["token"].as_str().unwrap().to_string();
    let c = client();
    let api = format!("{}/v2/{project}", a.base);
    let ds = call(
        &c,
        reqwest::Method::POST,
        &format!("{api}/datasets"),
        &owner,
        Some(json!({"dataset_name": "two-servers", "dataset_type": 0, "labels": [{"name": "cat"}, {"name": "dog"}]})),
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
    let mut setup = Setup {
        bases: [a.base.clone(), b.base.clone()],
        project,
        owner,
        dataset,
        task,
        labelers: Vec::new(),
    };
    for i in 0..LABELERS {
        let email = format!("l{i}@example.com");
        let server = i / 2;
        let token = token_create(dirs[server], database, &setup.project, &email);
        // The labeler's own view, through the server whose data dir issued the token.
        let mine = call(
            &c,
            reqwest::Method::GET,
            &format!("{}?limit=100", setup.task_samples(server)),
            &token,
            None,
        );
        let copies = mine["samples"].as_array().unwrap();
        assert_eq!(copies.len(), SAMPLES_PER_LABELER, "{mine}");
        let worker = copies[0]["worker_id"].as_str().unwrap().to_string();
        for copy in copies {
            assert_eq!(copy["worker_id"], worker.as_str());
            assert_eq!(copy["version"], 0, "a fresh copy starts at version 0: {copy}");
        }
        let samples = copies
            .iter()
            .map(|s| s["sample_id"].as_str().unwrap().to_string())
            .collect();
        setup.labelers.push(Labeler {
            email,
            token,
            worker,
            samples,
        });
    }
    // Each sample belongs to exactly one labeler, so a sample's history is its one copy's.
    let mut all: Vec<&String> = setup.labelers.iter().flat_map(|l| &l.samples).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), LABELERS * SAMPLES_PER_LABELER);
    setup
}

/// What identifies a label set as written by this test: (name, batch, labeler) per label.
fn key(labels: &Value) -> Vec<(String, Option<u64>, Option<u64>)> {
    labels
        .as_array()
        .unwrap_or_else(|| panic!("labels are an array: {labels}"))
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or_default().to_string(),
                l["property"]["batch"].as_u64(),
                l["property"]["labeler"].as_u64(),
            )
        })
        .collect()
}

/// What one labeler had acknowledged, per sample (in `Labeler::samples` order): the label
/// sets of its acknowledged writes in order, so the write that made version v is `writes[v-1]`.
#[derive(Default)]
struct WriterLog {
    writes: Vec<Vec<Value>>,
    batches_sent: u64,
    batches_acked: u64,
    items_acked: u64,
    conflicts: u64,
    read_backs: u64,
}

/// A copy's version as last acknowledged to a writer or read by a reader; a read that starts
/// after this value was recorded must not see less.
type Floors = Arc<Mutex<HashMap<String, i64>>>;

fn writer(i: usize, setup: Arc<Setup>, floors: Floors, started: Instant) -> WriterLog {
    let c = client();
    let me = &setup.labelers[i];
    let mut log = WriterLog {
        writes: vec![Vec::new(); me.samples.len()],
        ..WriterLog::default()
    };
    for n in 0..MAX_BATCHES {
        if started.elapsed() >= LOAD {
            break;
        }
        // Labelers 0 and 1 start on A, 2 and 3 on B; each alternates servers between batches.
        let server = (i / 2 + n as usize) % 2;
        // 0: no versions; 1: the versions last acknowledged; 2: those, but stale for some items.
        let mode = n % 3;
        let mut stale = vec![false; me.samples.len()];
        let items: Vec<Value> = me
            .samples
            .iter()
            .enumerate()
            .map(|(j, id)| {
                let name = if (n as usize + j).is_multiple_of(2) {
                    "cat"
                } else {
                    "dog"
                };
                let labels = json!([{"name": name, "property": {"batch": n, "labeler": i}}]);
                let version = log.writes[j].len() as i64;
                let mut item = json!({"sample_id": id, "labels": labels});
                match mode {
                    1 => item["version"] = json!(version),
                    2 if (j + n as usize).is_multiple_of(3) => {
                        stale[j] = true;
                        item["version"] = json!(if version > 0 { version - 1 } else { version + 1 });
                    }
                    2 => item["version"] = json!(version),
                    _ => {}
                }
                item
            })
            .collect();
        log.batches_sent += 1;
        let url = setup.task_samples(server);
        let res = c
            .put(&url)
            .header("X-Auth-Token", &me.token)
            .json(&json!({"samples": items}))
            .send()
            .unwrap_or_else(|e| panic!("labeler {i}, batch {n} through server {server}: {e}"));
        let status = res.status();
        let v: Value = res.json().unwrap_or(Value::Null);
        assert_eq!(
            status, 200,
            "labeler {i}, batch {n} through server {server}: every batch is answered 200: {v}"
        );
        let results = v["results"].as_array().unwrap();
        assert_eq!(results.len(), items.len(), "{v}");
        let mut acked_here = 0;
        for (j, r) in results.iter().enumerate() {
            assert_eq!(
                r["sample_id"],
                me.samples[j].as_str(),
                "results are in input order: {v}"
            );
            if r["success"] == true {
                assert!(
                    !stale[j],
                    "labeler {i}, batch {n}, server {server}: an item with a stale version was applied: {}",
                    items[j]
                );
                log.writes[j].push(items[j]["labels"].clone());
                acked_here += 1;
            } else {
                assert_eq!(
                    r["error_code"], VERSION_CONFLICT,
                    "labeler {i}, batch {n}, server {server}: only stale versions fail: {r}"
                );
                assert!(
                    stale[j],
                    "labeler {i}, batch {n}, server {server}: the version last acknowledged ({}) was refused: {r}",
                    log.writes[j].len()
                );
                log.conflicts += 1;
            }
        }
        log.items_acked += acked_here;
        if acked_here > 0 {
            log.batches_acked += 1;
        }
        {
            let mut f = floors.lock().unwrap();
            for (j, id) in me.samples.iter().enumerate() {
                let e = f.entry(id.clone()).or_insert(0);
                *e = (*e).max(log.writes[j].len() as i64);
            }
        }
        // Every fourth batch: read it back at once through the other server.
        if n % 4 == 3 {
            let other = 1 - server;
            let copies = setup.copies_of(&c, other, &me.worker);
            for (j, id) in me.samples.iter().enumerate() {
                let (version, labels) = &copies[id];
                assert_eq!(
                    *version,
                    log.writes[j].len() as i64,
                    "labeler {i}: batch {n} acknowledged by server {server}, read back through server {other}: version of {id}"
                );
                let expected = log.writes[j].last().cloned().unwrap_or(json!([]));
                assert_eq!(
                    key(labels),
                    key(&expected),
                    "labeler {i}: batch {n} acknowledged by server {server}, read back through server {other}: labels of {id}"
                );
            }
            log.read_backs += 1;
        }
    }
    log
}

/// One read of one copy: (sample, version, labels).
type Observation = (String, i64, Value);

struct ReaderLog {
    reads: u64,
    observations: Vec<Observation>,
}

fn reader(r: usize, setup: Arc<Setup>, floors: Floors, stop: Arc<AtomicBool>) -> ReaderLog {
    let c = client();
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut log = ReaderLog {
        reads: 0,
        observations: Vec::new(),
    };
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) && log.reads < MAX_READS {
        let server = (r + n) % 2;
        let labeler = &setup.labelers[(n / 2 + r) % LABELERS];
        n += 1;
        let before: HashMap<String, i64> = {
            let f = floors.lock().unwrap();
            labeler
                .samples
                .iter()
                .map(|id| (id.clone(), f.get(id).copied().unwrap_or(0)))
                .collect()
        };
        let copies = setup.copies_of(&c, server, &labeler.worker);
        log.reads += 1;
        assert_eq!(copies.len(), SAMPLES_PER_LABELER);
        let mut f = floors.lock().unwrap();
        for (id, (version, labels)) in copies {
            assert!(
                version >= before[&id],
                "reader {r}, server {server}: copy {id} of {} read at version {version}, but version {} had been acknowledged or read before this read began",
                labeler.email,
                before[&id]
            );
            let prev = last.insert(id.clone(), version).unwrap_or(0);
            assert!(
                version >= prev,
                "reader {r}, server {server}: copy {id} of {} went back from version {prev} to {version}",
                labeler.email
            );
            let e = f.entry(id.clone()).or_insert(0);
            *e = (*e).max(version);
            log.observations.push((id, version, labels));
        }
        drop(f);
        std::thread::sleep(Duration::from_millis(15));
    }
    log
}

fn psql_count(url: &str, schema: &str, query: &str) -> i64 {
    let out = Command::new("psql")
        .env("PGOPTIONS", format!("-c search_path={schema}"))
        .args([url, "-tAc", query])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn two_servers_on_one_postgres_schema_keep_every_acknowledged_write() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let schema = Schema::create(&url);
    assert!(schema.name.len() == 36 && schema.name[4..].chars().all(|c| c.is_ascii_hexdigit()));
    let db = schema.database_url();

    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = start(&dir_a, &db);
    let mut b = start(&dir_b, &db);

    // Only the first start creates the project; the second finds it.
    assert!(
        a.banner.iter().any(|l| l.starts_with("created project")),
        "server A created the default project: {:?}",
        a.banner
    );
    assert!(dir_a.join("initial-credentials.json").exists());
    assert!(
        !b.banner.iter().any(|l| l.starts_with("created project")),
        "server B must find the project, not create another: {:?}",
        b.banner
    );
    assert!(
        !dir_b.join("initial-credentials.json").exists(),
        "server B wrote initial credentials: it created a second project"
    );
    assert_eq!(
        psql_count(&url, &schema.name, "SELECT count(*) FROM projects"),
        1,
        "one project in the store"
    );

    let setup = Arc::new(setup(&a, &b, [&dir_a, &dir_b], &db));
    let floors: Floors = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let writers: Vec<_> = (0..LABELERS)
        .map(|i| {
            let (setup, floors) = (setup.clone(), floors.clone());
            std::thread::spawn(move || writer(i, setup, floors, started))
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (setup, floors, stop) = (setup.clone(), floors.clone(), stop.clone());
            std::thread::spawn(move || reader(r, setup, floors, stop))
        })
        .collect();
    let mut logs = Vec::new();
    let mut failure = None;
    for w in writers {
        match w.join() {
            Ok(log) => logs.push(log),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut reader_logs = Vec::new();
    for r in readers {
        match r.join() {
            Ok(log) => reader_logs.push(log),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    if let Some(e) = failure {
        std::panic::resume_unwind(e);
    }
    let load_time = started.elapsed();

    // The acknowledged label set of each copy at each version: sample -> [labels at v1, v2, ...].
    let mut written: HashMap<&str, (usize, &Vec<Value>)> = HashMap::new();
    for (i, (labeler, log)) in setup.labelers.iter().zip(&logs).enumerate() {
        for (j, id) in labeler.samples.iter().enumerate() {
            written.insert(id.as_str(), (i, &log.writes[j]));
        }
    }
    let at_version = |id: &str, v: i64| -> Value {
        let (_, writes) = written[id];
        if v == 0 {
            json!([])
        } else {
            writes[v as usize - 1].clone()
        }
    };

    // (2) What the readers saw while the writers ran: never a version that was not acknowledged
    // yet nor one whose labels differ from the labels acknowledged at that version.
    let mut observed = 0u64;
    for (r, log) in reader_logs.iter().enumerate() {
        for (id, version, labels) in &log.observations {
            let (i, writes) = written[id.as_str()];
            assert!(
                *version <= writes.len() as i64,
                "reader {r}: copy {id} of labeler {i} read at version {version}, but only {} writes were acknowledged",
                writes.len()
            );
            assert_eq!(
                key(labels),
                key(&at_version(id, *version)),
                "reader {r}: copy {id} of labeler {i} at version {version}: labels are not the ones written at that version"
            );
            observed += 1;
        }
    }

    let c = client();
    let mut items_verified = 0u64;
    let mut history_rows = 0u64;
    for server in 0..2 {
        // (1) Every acknowledged write reads back from both servers; the last one stands.
        for (i, labeler) in setup.labelers.iter().enumerate() {
            let copies = setup.copies_of(&c, server, &labeler.worker);
            assert_eq!(copies.len(), SAMPLES_PER_LABELER);
            for (j, id) in labeler.samples.iter().enumerate() {
                let writes = &logs[i].writes[j];
                let (version, labels) = &copies[id];
                assert_eq!(
                    *version,
                    writes.len() as i64,
                    "server {server}: copy {id} of labeler {i}: the final version is the number of acknowledged writes"
                );
                assert_eq!(
                    key(labels),
                    key(&at_version(id, *version)),
                    "server {server}: copy {id} of labeler {i}: the final labels are the last acknowledged write"
                );
                items_verified += 1;

                // (3) One history row per applied change, versions exactly 1..=final.
                let (total, rows) = setup.history(&c, server, id);
                assert_eq!(
                    total,
                    writes.len() as u64,
                    "server {server}: sample {id}: history total_number is the copy's final version"
                );
                let versions: Vec<i64> = rows.iter().map(|h| h["version"].as_i64().unwrap()).collect();
                let expected: Vec<i64> = (1..=writes.len() as i64).rev().collect();
                assert_eq!(
                    versions, expected,
                    "server {server}: sample {id}: history versions, newest first, are exactly final..=1"
                );
                for h in &rows {
                    let v = h["version"].as_i64().unwrap();
                    assert_eq!(h["worker_id"], labeler.worker.as_str(), "{h}");
                    assert_eq!(h["actor_email"], labeler.email.as_str(), "{h}");
                    assert_eq!(h["task_id"], setup.task.as_str(), "{h}");
                    assert_eq!(
                        key(&h["labels_after"]),
                        key(&at_version(id, v)),
                        "server {server}: sample {id}: history row of version {v}: labels_after"
                    );
                    assert_eq!(
                        key(&h["labels_before"]),
                        key(&at_version(id, v - 1)),
                        "server {server}: sample {id}: history row of version {v}: labels_before"
                    );
                    history_rows += 1;
                }
            }
        }
    }

    let sum = |f: fn(&WriterLog) -> u64| logs.iter().map(f).sum::<u64>();
    let (batches_sent, batches_acked, items_acked, conflicts, read_backs) = (
        sum(|l| l.batches_sent),
        sum(|l| l.batches_acked),
        sum(|l| l.items_acked),
        sum(|l| l.conflicts),
        sum(|l| l.read_backs),
    );
    let reads: u64 = reader_logs.iter().map(|l| l.reads).sum();
    println!(
        "two servers (schema {}): load {:.1} s; batches sent: {batches_sent}, batches acknowledged: {batches_acked}, items acknowledged: {items_acked}, version conflicts: {conflicts}, immediate read-backs: {read_backs}, concurrent reads: {reads} ({observed} copy versions checked), items verified: {items_verified} (both servers), history rows verified: {history_rows}",
        schema.name,
        load_time.as_secs_f64()
    );
    assert!(batches_acked > 0, "no batch was acknowledged; the test proved nothing");
    assert!(
        conflicts > 0,
        "no stale version was sent; the conflict path went untested"
    );
    assert!(reads > 0, "no concurrent read; monotonic versions went untested");

    stop_gracefully(&mut a, "A");
    stop_gracefully(&mut b, "B");
}
