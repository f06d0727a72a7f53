//! teamlabel-bench: the load generator. It starts the release `teamlabel` binary on a fresh data
//! dir (or targets a running server), seeds a dataset, a team and a started task through the
//! public API, then drives a scenario for a fixed time with concurrent keep-alive clients whose
//! request bodies are prepared before the clock starts, and reports throughput, latency, errors,
//! the server's peak memory and the database size, as a table and one JSON line.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

/// How fast teams can label: drives a teamlabel server and reports figures.
#[derive(Parser, Debug, Clone)]
#[command(name = "teamlabel-bench", version, about, long_about = None)]
struct Args {
    /// What to measure: `label` (labelers sending batch updates of their own samples),
    /// `mixed` (label, plus one owner paging the task's samples and reading single ones),
    /// `ingest` (adding the N samples in batches of 1000, timed)
    #[arg(long, value_enum, default_value = "label")]
    scenario: Scenario,

    /// Storage of the server the bench starts: `sqlite` (a fresh data dir) or `postgres`
    /// (a fresh schema in --database)
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,

    /// PostgreSQL URL for --backend postgres, e.g. postgres://postgres@127.0.0.1:5432/test
    #[arg(long)]
    database: Option<String>,

    /// Target a running server instead of starting one (base URL, e.g. http://127.0.0.1:8080);
    /// needs --token and --project-id of its owner. Labelers are then written for by the owner
    /// (on behalf, by worker_id), and RSS and database size are not reported
    #[arg(long)]
    server: Option<String>,

    /// Owner token of the --server
    #[arg(long)]
    token: Option<String>,

    /// Project id of the --server owner
    #[arg(long)]
    project_id: Option<String>,

    /// Number of samples in the dataset (N)
    #[arg(short = 'n', long, default_value_t = 10_000)]
    samples: usize,

    /// Samples per batch update (B)
    #[arg(short = 'b', long, default_value_t = 100)]
    batch: usize,

    /// Concurrent clients (C); each is one labeler of the task
    #[arg(short = 'c', long, default_value_t = 8)]
    clients: usize,

    /// How long to drive the workload, in seconds
    #[arg(long, default_value_t = 30)]
    duration: u64,

    /// Pages of 100 own samples each labeler fetches to build its batches (spread over the dataset)
    #[arg(long, default_value_t = 20)]
    pages: usize,

    /// The teamlabel binary to start [default: `teamlabel` next to this executable]
    #[arg(long)]
    binary: Option<PathBuf>,

    /// Keep the data dir (and PostgreSQL schema) after the run
    #[arg(long)]
    keep: bool,

    /// How the labelers' batch updates authenticate: `token` (X-Auth-Token) or `aksk`
    /// (SDK-HMAC-SHA256 signatures, made per request as the official SDKs make them, with a
    /// pair issued by the owner's credential API)
    #[arg(long, value_enum, default_value = "token")]
    auth: Auth,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Auth {
    Token,
    Aksk,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Label,
    Mixed,
    Ingest,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A server under test.
struct Target {
    base: String,
    project: String,
    owner: String,
    /// Started by the bench: the child, its data dir, and the PostgreSQL schema if any.
    child: Option<tokio::process::Child>,
    data_dir: Option<tempfile::TempDir>,
    database: Option<String>,
    schema: Option<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("teamlabel-bench: {e:#}");
        std::process::exit(1);
    }
}

fn binary(args: &Args) -> Result<PathBuf> {
    if let Some(b) = &args.binary {
        return Ok(b.clone());
    }
    let here = std::env::current_exe()?;
    let b = here.with_file_name("teamlabel");
    anyhow::ensure!(
        b.exists(),
        "{} not found: build it with `cargo build --release -p teamlabel` or pass --binary",
        b.display()
    );
    Ok(b)
}

async fn start(args: &Args) -> Result<Target> {
    if let Some(base) = &args.server {
        return Ok(Target {
            base: base.trim_end_matches('/').to_string(),
            project: args.project_id.clone().context("--server needs --project-id")?,
            owner: args.token.clone().context("--server needs --token")?,
            child: None,
            data_dir: None,
            database: None,
            schema: None,
        });
    }
    let bin = binary(args)?;
    let dir = tempfile::Builder::new().prefix("teamlabel-bench-").tempdir()?;
    let (database, schema) = match args.backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => {
            let url = args
                .database
                .clone()
                .context("--backend postgres needs --database postgres://...")?;
            let schema = format!("bench_{}", std::process::id());
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .context("connecting to --database")?;
            tokio::spawn(conn);
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                ))
                .await?;
            let sep = if url.contains('?') { '&' } else { '?' };
            (
                Some(format!("{url}{sep}options=-c%20search_path%3D{schema}")),
                Some((url, schema)),
            )
        }
    };
    let mut cmd = tokio::process::Command::new(&bin);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path());
    if let Some(db) = &database {
        cmd.args(["--database", db]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await??
            .context("the server exited before listening")?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let creds: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("initial-credentials.json"))?)?;
    Ok(Target {
        base,
        project: creds["project_id"].as_str().context("project_id")?.to_string(),
        owner: creds["token"].as_str().context("token")?.to_string(),
        child: Some(child),
        data_dir: Some(dir),
        database,
        schema: schema.map(|(url, s)| format!("{url}\u{0}{s}")),
    })
}

async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let mut req = c.request(method.clone(), url).header("X-Auth-Token", token);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.with_context(|| format!("{method} {url}"))?;
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{method} {url}: {status} {v}");
    }
    Ok(v)
}

/// An access key and its secret key.
type AccessPair = (String, String);

/// Signs a JSON PUT as the official SDKs do (SignedHeaders content-type;host;x-sdk-date); answers
/// the `X-Sdk-Date` and `Authorization` values.
fn sign_put(url: &str, body: &[u8], ak: &str, sk: &str) -> (String, String) {
    use teamlabel_api::signing as aksk;
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let date = aksk::sdk_date_now();
    let headers = [
        ("content-type".to_string(), b"application/json".to_vec()),
        ("host".to_string(), host.as_bytes().to_vec()),
        ("x-sdk-date".to_string(), date.as_bytes().to_vec()),
    ];
    let received = aksk::Received {
        method: "PUT",
        target,
        headers: &headers,
        body,
    };
    let authorization = aksk::authorization(&received, ak, sk.as_bytes()).expect("the request carries its date");
    (date, authorization)
}

/// Latency samples in microseconds, and failures.
#[derive(Default)]
struct Tally {
    micros: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn percentile(sorted: &[u32], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i] as f64 / 1000.0
    }
}

struct Setup {
    dataset: String,
    task: String,
    /// Per client: token (labeler's, or the owner's when writing on behalf), worker id, samples.
    labelers: Vec<(String, String, Vec<String>)>,
    /// Per client with `--auth aksk`: the access key and secret key of the same user.
    pairs: Vec<AccessPair>,
}

fn sample_item(i: usize) -> Value {
    json!({"source": format!("http://bench.local/images/{i}.jpg"), "sample_type": 0, "metadata": {"@modelarts:size": [1920, 1080, 3]}})
}

/// Adds N samples in batches of 1000 with C concurrent clients; answers the elapsed time.
async fn ingest(t: &Target, c: &reqwest::Client, dataset: &str, n: usize, clients: usize) -> Result<Duration> {
    let url = format!(
        "{}/v2/{}/datasets/{dataset}/data-annotations/samples",
        t.base, t.project
    );
    let batches: Vec<Vec<u8>> = (0..n)
        .step_by(1000)
        .map(|start| {
            serde_json::to_vec(&json!({"samples": (start..(start + 1000).min(n)).map(sample_item).collect::<Vec<_>>()}))
                .unwrap()
        })
        .collect();
    let batches = Arc::new(batches);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (c, url, token, batches, next) = (c.clone(), url.clone(), t.owner.clone(), batches.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = batches.get(i) else {
                    return Ok::<_, anyhow::Error>(());
                };
                let res = c
                    .post(&url)
                    .header("X-Auth-Token", &token)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                let status = res.status();
                let v: Value = res.json().await?;
                if !status.is_success() || v["success"] != true {
                    bail!("adding samples failed: {status} {}", v["error_msg"]);
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

async fn setup(args: &Args, t: &Target, c: &reqwest::Client) -> Result<(Setup, Duration)> {
    let api = format!("{}/v2/{}", t.base, t.project);
    let name = format!("bench{}", std::process::id());
    let ds = call(c, reqwest::Method::POST, &format!("{api}/datasets"), &t.owner, Some(&json!({
        "dataset_name": name, "dataset_type": 900,
        "labels": [{"name": "cat", "type": 0}, {"name": "dog", "type": 0}, {"name": "car", "type": 1}, {"name": "person", "type": 1}]
    }))).await?;
    let dataset = ds["dataset_id"].as_str().context("dataset_id")?.to_string();
    let ingest_time = ingest(t, c, &dataset, args.samples, args.clients).await?;
    let team = call(
        c,
        reqwest::Method::POST,
        &format!("{api}/workforces"),
        &t.owner,
        Some(&json!({"workforce_name": name})),
    )
    .await?;
    let team = team["workforce_id"].as_str().context("workforce_id")?.to_string();
    let emails: Vec<String> = (0..args.clients).map(|i| format!("bench{i}@example.com")).collect();
    for e in &emails {
        call(
            c,
            reqwest::Method::POST,
            &format!("{api}/workforces/{team}/workers"),
            &t.owner,
            Some(&json!({"emails": e, "role": 0})),
        )
        .await?;
    }
    let workers: Vec<Value> = emails.iter().map(|e| json!({"email": e})).collect();
    let task = call(c, reqwest::Method::POST, &format!("{api}/datasets/{dataset}/workforce-tasks"), &t.owner, Some(&json!({
        "task_name": name, "repetition": 1, "workforces_config": {"workforces": [{"workforce_id": team, "workers": workers}]}
    }))).await?;
    let task = task["task_id"].as_str().context("task_id")?.to_string();
    let started = Instant::now();
    call(
        c,
        reqwest::Method::POST,
        &format!("{api}/datasets/{dataset}/workforce-tasks/{task}"),
        &t.owner,
        Some(&json!({})),
    )
    .await?;
    eprintln!(
        "started the task over {} samples in {:.1} s",
        args.samples,
        started.elapsed().as_secs_f64()
    );
    let members = call(
        c,
        reqwest::Method::GET,
        &format!("{api}/workforces/{team}/workers?limit=100&sort_by=email&order=asc"),
        &t.owner,
        None,
    )
    .await?;
    let mut labelers = Vec::new();
    let mut pairs = Vec::new();
    let per_labeler = args.samples.div_ceil(args.clients.max(1));
    for (i, e) in emails.iter().enumerate() {
        let worker = members["workers"]
            .as_array()
            .context("workers")?
            .iter()
            .find(|w| w["email"] == e.as_str())
            .context("member")?["worker_id"]
            .as_str()
            .context("worker_id")?
            .to_string();
        let token = match (&t.data_dir, &args.server) {
            (Some(dir), None) => {
                let mut cmd = tokio::process::Command::new(binary(args)?);
                cmd.args([
                    "token",
                    "create",
                    "--project-id",
                    &t.project,
                    "--email",
                    e,
                    "--data-dir",
                ])
                .arg(dir.path());
                if let Some(db) = &t.database {
                    cmd.args(["--database", db]);
                }
                let out = cmd.output().await?;
                anyhow::ensure!(
                    out.status.success(),
                    "token create: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let v: Value = serde_json::from_slice(&out.stdout)?;
                v["token"].as_str().context("token")?.to_string()
            }
            _ => t.owner.clone(),
        };
        // Pages spread over the labeler's share of the dataset.
        let pages_total = per_labeler.div_ceil(100).max(1);
        let mut ids = Vec::new();
        for k in 0..args.pages.min(pages_total) {
            let page = k * pages_total / args.pages.min(pages_total);
            let url = format!("{api}/datasets/{dataset}/workforce-tasks/{task}/data-annotations/samples?limit=100&offset={page}&worker_id={worker}");
            let v = call(c, reqwest::Method::GET, &url, &token, None).await?;
            ids.extend(
                v["samples"]
                    .as_array()
                    .context("samples")?
                    .iter()
                    .filter_map(|s| s["sample_id"].as_str().map(str::to_string)),
            );
        }
        anyhow::ensure!(
            ids.len() >= args.batch,
            "labeler {i} has {} samples, fewer than a batch of {}",
            ids.len(),
            args.batch
        );
        if args.auth == Auth::Aksk {
            // The labeler's own pair, or the owner's when writing on behalf.
            let credential = if args.server.is_some() {
                json!({})
            } else {
                json!({"email": e})
            };
            let v = call(
                c,
                reqwest::Method::POST,
                &format!("{}/v3.0/OS-CREDENTIAL/credentials", t.base),
                &t.owner,
                Some(&json!({"credential": credential})),
            )
            .await?;
            let pair = &v["credential"];
            pairs.push((
                pair["access"].as_str().context("access")?.to_string(),
                pair["secret"].as_str().context("secret")?.to_string(),
            ));
        }
        labelers.push((token, worker, ids));
    }
    Ok((
        Setup {
            dataset,
            task,
            labelers,
            pairs,
        },
        ingest_time,
    ))
}

/// The body of one batch: each sample gets a classification label and two boxes, with its size.
fn label_body(ids: &[String], worker: Option<&str>, round: usize) -> Vec<u8> {
    let cls = if round.is_multiple_of(2) { "cat" } else { "dog" };
    let items: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| {
            let x = ((round * 37 + k * 11) % 1500) as i64;
            let mut item = json!({"sample_id": id, "metadata": {"@modelarts:size": [1920, 1080, 3]}, "labels": [
                {"name": cls, "type": 0},
                {"name": "car", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[x, 100], [x + 300, 400]]}},
                {"name": "person", "type": 1, "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[x + 10, 500], [x + 120, 900]]}}
            ]});
            if let Some(w) = worker {
                item["worker_id"] = json!(w);
            }
            item
        })
        .collect();
    serde_json::to_vec(&json!({"samples": items})).expect("JSON")
}

/// A `/proc/PID/status` memory figure (`VmHWM`: peak since start, `VmRSS`: now) in MiB.
fn rss_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn database_size_mib(t: &Target) -> Option<f64> {
    if let Some(dir) = &t.data_dir {
        if t.database.is_none() {
            let size: u64 = ["teamlabel.db", "teamlabel.db-wal"]
                .iter()
                .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
                .map(|m| m.len())
                .sum();
            return Some(size as f64 / 1048576.0);
        }
    }
    let (url, schema) = t.schema.as_ref()?.split_once('\u{0}')?;
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.ok()?;
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            &[&schema],
        )
        .await
        .ok()?;
    Some(row.get::<_, i64>(0) as f64 / 1048576.0)
}

async fn run(args: Args) -> Result<()> {
    anyhow::ensure!(args.clients >= 1 && args.clients <= 100, "--clients must be 1 to 100");
    anyhow::ensure!(args.batch >= 1 && args.batch <= 1000, "--batch must be 1 to 1000");
    anyhow::ensure!(
        args.samples >= args.clients * args.batch,
        "-n must be at least clients x batch"
    );
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut t = start(&args).await?;
    let c = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let backend = match (&args.server, args.backend) {
        (Some(_), _) => "external",
        (None, Backend::Sqlite) => "sqlite",
        (None, Backend::Postgres) => "postgres",
    };
    let (setup, ingest_time) = setup(&args, &t, &c).await?;
    eprintln!(
        "ingested {} samples in {:.1} s",
        args.samples,
        ingest_time.as_secs_f64()
    );

    let mut report = json!({
        "scenario": format!("{:?}", args.scenario).to_lowercase(), "auth": format!("{:?}", args.auth).to_lowercase(), "backend": backend, "n": args.samples,
        "b": args.batch, "c": args.clients, "cores": cores,
    });
    if args.scenario == Scenario::Ingest {
        report["duration_s"] = json!(round(ingest_time.as_secs_f64(), 2));
        report["samples_per_s"] = json!(round(args.samples as f64 / ingest_time.as_secs_f64(), 0));
        report["requests_per_s"] = json!(round(args.samples.div_ceil(1000) as f64 / ingest_time.as_secs_f64(), 1));
        report["errors"] = json!(0);
    } else {
        let on_behalf = args.server.is_some();
        let url = format!(
            "{}/v2/{}/datasets/{}/workforce-tasks/{}/data-annotations/samples",
            t.base, t.project, setup.dataset, setup.task
        );
        // Bodies are prepared before the clock starts.
        let prepared: Vec<(String, Option<AccessPair>, Vec<Vec<u8>>)> = setup
            .labelers
            .iter()
            .enumerate()
            .map(|(i, (token, worker, ids))| {
                let bodies = ids
                    .chunks(args.batch)
                    .filter(|c| c.len() == args.batch)
                    .enumerate()
                    .map(|(r, chunk)| label_body(chunk, on_behalf.then_some(worker.as_str()), r))
                    .collect();
                (token.clone(), setup.pairs.get(i).cloned(), bodies)
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(args.duration);
        let started = Instant::now();
        // The server's resident memory, sampled while the workload runs.
        let sampler = t.child.as_ref().and_then(|c| c.id()).map(|pid| {
            tokio::spawn(async move {
                let mut peak = 0f64;
                while Instant::now() < deadline {
                    peak = peak.max(rss_mib(pid, "VmRSS:").unwrap_or(0.0));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                peak
            })
        });
        let mut writers = Vec::new();
        for (token, pair, bodies) in prepared {
            let (c, url) = (c.clone(), url.clone());
            writers.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut round = 0usize;
                while Instant::now() < deadline {
                    let body = bodies[round % bodies.len()].clone();
                    round += 1;
                    let sent = Instant::now();
                    let req = c.put(&url).header("Content-Type", "application/json");
                    let req = match &pair {
                        None => req.header("X-Auth-Token", &token),
                        Some((ak, sk)) => {
                            let (date, authorization) = sign_put(&url, &body, ak, sk);
                            req.header("X-Sdk-Date", date).header("Authorization", authorization)
                        }
                    };
                    let res = req.body(body).send().await;
                    let ok = match res {
                        Ok(r) => {
                            let status = r.status();
                            match r.json::<Value>().await {
                                Ok(v) if status.is_success() && v["success"] == true => Ok(()),
                                Ok(v) => Err(format!("{status} {}", v["error_msg"])),
                                Err(e) => Err(e.to_string()),
                            }
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    tally
                        .micros
                        .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    if let Err(e) = ok {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(e);
                    }
                }
                tally
            }));
        }
        let reader = if args.scenario == Scenario::Mixed {
            let (c, url, owner, ids) = (c.clone(), url.clone(), t.owner.clone(), setup.labelers[0].2.clone());
            Some(tokio::spawn(async move {
                let (mut pages, mut singles) = (Tally::default(), Tally::default());
                let mut k = 0usize;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let ok = call(
                        &c,
                        reqwest::Method::GET,
                        &format!("{url}?limit=100&offset={k}"),
                        &owner,
                        None,
                    )
                    .await;
                    pages.micros.push(sent.elapsed().as_micros() as u32);
                    if let Err(e) = ok {
                        pages.errors += 1;
                        pages.first_error.get_or_insert(e.to_string());
                    }
                    for id in ids.iter().skip(k * 3 % ids.len()).take(3) {
                        let sent = Instant::now();
                        let ok = call(&c, reqwest::Method::GET, &format!("{url}/{id}"), &owner, None).await;
                        singles.micros.push(sent.elapsed().as_micros() as u32);
                        if let Err(e) = ok {
                            singles.errors += 1;
                            singles.first_error.get_or_insert(e.to_string());
                        }
                    }
                    k += 1;
                }
                (pages, singles)
            }))
        } else {
            None
        };
        let mut tally = Tally::default();
        for w in writers {
            tally.merge(w.await?);
        }
        if let Some(sampler) = sampler {
            report["server_peak_rss_workload_mib"] = json!(round(sampler.await?, 1));
        }
        let elapsed = started.elapsed().as_secs_f64();
        tally.micros.sort_unstable();
        let requests = tally.micros.len() as f64;
        let ok = requests - tally.errors as f64;
        report["duration_s"] = json!(round(elapsed, 2));
        report["requests_per_s"] = json!(round(requests / elapsed, 1));
        report["samples_per_s"] = json!(round(ok * args.batch as f64 / elapsed, 0));
        report["p50_ms"] = json!(round(Tally::percentile(&tally.micros, 0.50), 2));
        report["p95_ms"] = json!(round(Tally::percentile(&tally.micros, 0.95), 2));
        report["p99_ms"] = json!(round(Tally::percentile(&tally.micros, 0.99), 2));
        report["max_ms"] = json!(round(Tally::percentile(&tally.micros, 1.0), 2));
        report["errors"] = json!(tally.errors);
        if let Some(e) = &tally.first_error {
            eprintln!("first error: {e}");
        }
        if let Some(reader) = reader {
            let (mut pages, mut singles) = reader.await?;
            pages.micros.sort_unstable();
            singles.micros.sort_unstable();
            report["list_pages"] = json!(pages.micros.len());
            report["list_p50_ms"] = json!(round(Tally::percentile(&pages.micros, 0.50), 2));
            report["list_p99_ms"] = json!(round(Tally::percentile(&pages.micros, 0.99), 2));
            report["get_p99_ms"] = json!(round(Tally::percentile(&singles.micros, 0.99), 2));
            report["read_errors"] = json!(pages.errors + singles.errors);
        }
    }
    if let Some(child) = &t.child {
        if let Some(pid) = child.id() {
            report["server_peak_rss_mib"] = json!(rss_mib(pid, "VmHWM:").map(|m| round(m, 1)));
        }
    }
    report["database_mib"] = json!(database_size_mib(&t).await.map(|m| round(m, 1)));
    print_table(&report);
    println!("{report}");
    finish(&mut t, args.keep).await;
    Ok(())
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn print_table(report: &Value) {
    for (k, v) in report.as_object().into_iter().flatten() {
        eprintln!("{k:>22}  {v}");
    }
}

async fn finish(t: &mut Target, keep: bool) {
    if let Some(child) = &mut t.child {
        if let Some(pid) = child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    }
    if keep {
        if let Some(dir) = t.data_dir.take() {
            eprintln!("kept {}", dir.keep().display());
        }
        return;
    }
    if let Some((url, schema)) = t.schema.as_ref().and_then(|s| s.split_once('\u{0}')) {
        if let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!(
                    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE"
                ))
                .await;
        }
    }
}
