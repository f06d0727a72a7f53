//! Seeding the server through the public API before the clock starts: a dataset (also the
//! empty one `import` and `export` fill), N samples in it (the `ingest` figure is timed here), a
//! team of C labelers, a started task, each labeler's sample ids and, with `--auth aksk`, their
//! access key pairs. Every request goes through `teamlabel-client`; this module measures
//! nothing but the ingest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use teamlabel_client::{Bytes, Client, Method};

use crate::target::{labeler_token, Target};
use crate::{Args, Auth};

/// An access key and its secret key.
pub type AccessPair = (String, String);

pub struct Setup {
    pub dataset: String,
    pub task: String,
    /// Per client: token (labeler's, or the owner's when writing on behalf), worker id, samples.
    pub labelers: Vec<(String, String, Vec<String>)>,
    /// Per client with `--auth aksk`: the access key and secret key of the same user.
    pub pairs: Vec<AccessPair>,
}

fn sample_item(i: usize) -> Value {
    json!({"source": format!("http://bench.local/images/{i}.jpg"), "sample_type": 0, "metadata": {"@modelarts:size": [1920, 1080, 3]}})
}

/// Adds N samples in batches of 1000 with C concurrent clients; answers the elapsed time.
async fn ingest(owner: &Client, dataset: &str, n: usize, clients: usize) -> Result<Duration> {
    let path = format!("/datasets/{dataset}/data-annotations/samples");
    let batches: Vec<Bytes> = (0..n)
        .step_by(1000)
        .map(|start| {
            serde_json::to_vec(&json!({"samples": (start..(start + 1000).min(n)).map(sample_item).collect::<Vec<_>>()}))
                .unwrap()
                .into()
        })
        .collect();
    let batches = Arc::new(batches);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (owner, path, batches, next) = (owner.clone(), path.clone(), batches.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = batches.get(i) else {
                    return Ok::<_, anyhow::Error>(());
                };
                let res = owner
                    .request(Method::POST, &path)
                    .json_bytes(body.clone())
                    .send()
                    .await?;
                let status = crate::workloads::status_text(res.status);
                let v: Value = res.decode()?;
                if !res.is_success() || v["success"] != true {
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

/// Creates a dataset of `dataset_type` with `labels` (name and label type); answers its id.
pub async fn create_dataset(owner: &Client, name: &str, dataset_type: i32, labels: &[(&str, i32)]) -> Result<String> {
    let labels: Vec<Value> = labels.iter().map(|(n, t)| json!({"name": n, "type": t})).collect();
    let ds: Value = owner
        .create_dataset(&json!({"dataset_name": name, "dataset_type": dataset_type, "labels": labels}))
        .await
        .context("creating the dataset")?;
    Ok(ds["dataset_id"].as_str().context("dataset_id")?.to_string())
}

pub async fn setup(args: &Args, t: &Target, owner: &Client) -> Result<(Setup, Duration)> {
    let name = format!("bench{}", std::process::id());
    let labels = [("cat", 0), ("dog", 0), ("car", 1), ("person", 1)];
    let dataset = create_dataset(owner, &name, 900, &labels).await?;
    let ingest_time = ingest(owner, &dataset, args.samples, args.clients).await?;
    let team: Value = owner
        .create_workforce(&json!({ "workforce_name": name }))
        .await
        .context("creating the team")?;
    let team = team["workforce_id"].as_str().context("workforce_id")?.to_string();
    let emails: Vec<String> = (0..args.clients).map(|i| format!("bench{i}@example.com")).collect();
    for e in &emails {
        let _: Value = owner
            .add_workers(&team, &json!({"emails": e, "role": 0}))
            .await
            .with_context(|| format!("adding {e} to the team"))?;
    }
    let workers: Vec<Value> = emails.iter().map(|e| json!({"email": e})).collect();
    let task: Value = owner
        .create_task(
            &dataset,
            &json!({
                "task_name": name, "repetition": 1, "workforces_config": {"workforces": [{"workforce_id": team, "workers": workers}]}
            }),
        )
        .await
        .context("creating the task")?;
    let task = task["task_id"].as_str().context("task_id")?.to_string();
    let started = Instant::now();
    let _: Value = owner
        .start_task(&dataset, &task, &json!({}))
        .await
        .context("starting the task")?;
    eprintln!(
        "started the task over {} samples in {:.1} s",
        args.samples,
        started.elapsed().as_secs_f64()
    );
    let members: Value = owner
        .list_workers(&team, &[("limit", "100"), ("sort_by", "email"), ("order", "asc")])
        .await
        .context("listing the team")?;
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
            (Some(dir), None) => labeler_token(args, t, dir, e).await?,
            _ => t.owner.clone(),
        };
        let labeler = owner.with_auth(teamlabel_client::Auth::Token(token.clone()));
        // Pages spread over the labeler's share of the dataset.
        let pages_total = per_labeler.div_ceil(100).max(1);
        let mut ids = Vec::new();
        for k in 0..args.pages.min(pages_total) {
            let page = k * pages_total / args.pages.min(pages_total);
            let offset = page.to_string();
            let v: Value = labeler
                .list_team_samples(
                    &dataset,
                    &task,
                    &[
                        ("limit", "100"),
                        ("offset", offset.as_str()),
                        ("worker_id", worker.as_str()),
                    ],
                )
                .await
                .with_context(|| format!("listing the samples of labeler {i}"))?;
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
            let v: Value = owner
                .create_credential(&json!({ "credential": credential }))
                .await
                .context("creating an access key")?;
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
