//! The timed workloads: C writers sending batch updates of their own samples (`label`), plus one
//! owner paging the task's samples and reading single ones (`mixed`), with the server's memory
//! sampled meanwhile. Request bodies are prepared before the clock starts; every request goes
//! through `teamlabel-client` (a token, or an `SDK-HMAC-SHA256` signature made per request).
//! The figures are written into the report; printing it is `report`'s.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{json, Value};
use teamlabel_client::{Auth, Bytes, Client, Method};

use crate::report::round;
use crate::setup::Setup;
use crate::target::{RssSampler, Target};
use crate::{Args, Scenario};

/// Latency samples in microseconds, and failures.
#[derive(Default)]
pub struct Tally {
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

    /// Records one request that took since `sent`.
    fn record(&mut self, sent: Instant, outcome: Result<(), String>) {
        self.micros
            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        if let Err(e) = outcome {
            self.errors += 1;
            self.first_error.get_or_insert(e);
        }
    }
}

/// An HTTP status as `200 OK`.
pub fn status_text(status: u16) -> String {
    match teamlabel_client::StatusCode::from_u16(status) {
        Ok(s) => s.to_string(),
        Err(_) => status.to_string(),
    }
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

/// One writer: sends its prepared batches in turn until the deadline.
async fn write(client: Client, path: String, bodies: Vec<Bytes>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut round = 0usize;
    while Instant::now() < deadline {
        let body = bodies[round % bodies.len()].clone();
        round += 1;
        let sent = Instant::now();
        let res = client.request(Method::PUT, &path).json_bytes(body).send().await;
        let ok = match res {
            Ok(r) => match r.decode::<Value>() {
                Ok(v) if r.is_success() && v["success"] == true => Ok(()),
                Ok(v) => Err(format!("{} {}", status_text(r.status), v["error_msg"])),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        tally.record(sent, ok);
    }
    tally
}

/// The `mixed` reader: the owner pages the task's samples and reads three single ones per page.
async fn read(owner: Client, setup_at: (String, String), ids: Vec<String>, deadline: Instant) -> (Tally, Tally) {
    let (dataset, task) = setup_at;
    let (mut pages, mut singles) = (Tally::default(), Tally::default());
    let mut k = 0usize;
    while Instant::now() < deadline {
        let sent = Instant::now();
        let offset = k.to_string();
        let ok = owner
            .list_team_samples::<_, Value>(&dataset, &task, &[("limit", "100"), ("offset", offset.as_str())])
            .await;
        pages.record(sent, ok.map(|_| ()).map_err(|e| e.to_string()));
        for id in ids.iter().skip(k * 3 % ids.len()).take(3) {
            let sent = Instant::now();
            let ok = owner.get_team_sample::<_, Value>(&dataset, &task, id, &()).await;
            singles.record(sent, ok.map(|_| ()).map_err(|e| e.to_string()));
        }
        k += 1;
    }
    (pages, singles)
}

/// Drives `label` or `mixed` for `--duration` seconds and writes the figures into `report`.
pub async fn drive(args: &Args, t: &Target, owner: &Client, setup: &Setup, report: &mut Value) -> Result<()> {
    let on_behalf = args.server.is_some();
    let path = format!(
        "/datasets/{}/workforce-tasks/{}/data-annotations/samples",
        setup.dataset, setup.task
    );
    // Bodies are prepared before the clock starts.
    let prepared: Vec<(Client, Vec<Bytes>)> = setup
        .labelers
        .iter()
        .enumerate()
        .map(|(i, (token, worker, ids))| {
            let bodies = ids
                .chunks(args.batch)
                .filter(|c| c.len() == args.batch)
                .enumerate()
                .map(|(r, chunk)| label_body(chunk, on_behalf.then_some(worker.as_str()), r).into())
                .collect();
            let auth = match setup.pairs.get(i).cloned() {
                None => Auth::Token(token.clone()),
                Some((ak, sk)) => Auth::AkSk {
                    ak,
                    sk,
                    security_token: None,
                },
            };
            (owner.with_auth(auth), bodies)
        })
        .collect();
    // The database's size before and after the workload gives its growth per applied change.
    let size_before = crate::target::database_size_mib(t).await;
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    // The server's resident memory, sampled while the workload runs.
    let sampler = RssSampler::start(t, Duration::from_millis(200));
    let writers: Vec<_> = prepared
        .into_iter()
        .map(|(client, bodies)| tokio::spawn(write(client, path.clone(), bodies, deadline)))
        .collect();
    let reader = (args.scenario == Scenario::Mixed).then(|| {
        let at = (setup.dataset.clone(), setup.task.clone());
        tokio::spawn(read(owner.clone(), at, setup.labelers[0].2.clone(), deadline))
    });
    let mut tally = Tally::default();
    for w in writers {
        tally.merge(w.await?);
    }
    if let Some(sampler) = sampler {
        report["server_peak_rss_workload_mib"] = json!(round(sampler.peak().await, 1));
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
    let changes = ok * args.batch as f64;
    if let (Some(before), Some(after)) = (size_before, crate::target::database_size_mib(t).await) {
        if changes > 0.0 {
            report["growth_bytes_per_change"] = json!(round((after - before) * 1048576.0 / changes, 0));
        }
    }
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
    Ok(())
}
