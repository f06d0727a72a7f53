//! teamlabel-bench: the load generator. It starts the release `teamlabel` binary on a fresh data
//! dir (or targets a running server), seeds a dataset, a team and a started task through the
//! public API, then drives a scenario for a fixed time with concurrent keep-alive clients whose
//! request bodies are prepared before the clock starts, and reports throughput, latency, errors,
//! the server's peak memory and the database size, as a table and one JSON line. The `import`
//! and `export` scenarios instead time one import or export task of N samples to its end, and
//! `sync` a sync of a dataset with a folder of N files.
//!
//! This file owns the flags and the order of a run; the server under test is `target`'s, the
//! seeding `setup`'s, the timed workloads `workloads`', the import and export tasks
//! `data_io`'s, the sync `sync`'s, the output `report`'s. The bench talks to the server only through
//! `teamlabel-client` (and the wire types of `teamlabel-api`): it must not depend on the
//! server's crates.
#![forbid(unsafe_code)]

mod data_io;
mod report;
mod setup;
mod sync;
mod target;
mod workloads;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use serde_json::json;
use teamlabel_client::Client;

use report::round;
use target::{rss_mib, Target};

/// How fast teams can label: drives a teamlabel server and reports figures.
#[derive(Parser, Debug, Clone)]
#[command(name = "teamlabel-bench", version, about, long_about = None)]
struct Args {
    /// What to measure: `label` (labelers sending batch updates of their own samples),
    /// `mixed` (label, plus one owner paging the task's samples and reading single ones),
    /// `ingest` (adding the N samples in batches of 1000, timed), `import` (an import task of a
    /// ModelArts manifest of N labeled image-classification samples, timed to its end),
    /// `export` (that import untimed, then an export task of the N samples as a manifest,
    /// timed to its end, its lines counted), `sync` (a dataset synchronized with a folder of
    /// N files in label folders, timed; then 1 % of them replaced and synchronized again, and
    /// once more with nothing changed)
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

    /// How long to drive the workload, in seconds (not for `import` and `export`, which run
    /// to their end)
    #[arg(long, default_value_t = 30)]
    duration: u64,

    /// `import` and `export`: give up on a task that has not ended after this many seconds
    #[arg(long, default_value_t = 900)]
    timeout: u64,

    /// `import` and `export` with --server: the folder holding that server's local buckets
    /// (its DATA_DIR/buckets or --objects-root) on this machine. The bench writes its manifest
    /// into the bucket `bench` there, reads the export back from it, and removes both after
    /// the run unless --keep. Without it those two scenarios refuse a --server
    #[arg(long, value_name = "DIR")]
    buckets: Option<PathBuf>,

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
    Import,
    Export,
    Sync,
}

impl Scenario {
    fn name(self) -> String {
        format!("{self:?}").to_lowercase()
    }

    /// Whether the scenario times an import, export or sync task instead of requests.
    fn is_task(self) -> bool {
        matches!(self, Scenario::Import | Scenario::Export | Scenario::Sync)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("teamlabel-bench: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<()> {
    anyhow::ensure!(args.clients >= 1 && args.clients <= 100, "--clients must be 1 to 100");
    anyhow::ensure!(args.batch >= 1 && args.batch <= 1000, "--batch must be 1 to 1000");
    anyhow::ensure!(
        args.scenario.is_task() || args.samples >= args.clients * args.batch,
        "-n must be at least clients x batch"
    );
    anyhow::ensure!(args.samples >= 1, "-n must be at least 1");
    anyhow::ensure!(
        args.buckets.is_none() || args.server.is_some(),
        "--buckets names the bucket folder of a --server; a server the bench starts has its own"
    );
    if args.scenario.is_task() && args.server.is_some() && args.buckets.is_none() {
        anyhow::bail!(
            "--scenario {0} with --server needs --buckets DIR: the bench writes its manifest into the server's \
             object store through that folder (the server's DATA_DIR/buckets or --objects-root, on this machine); \
             a server with --objects s3 cannot run {0}",
            args.scenario.name()
        );
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut t: Target = target::start(&args).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let owner = Client::with_http(
        http,
        &t.base,
        &t.project,
        teamlabel_client::Auth::Token(t.owner.clone()),
    );
    let backend = match (&args.server, args.backend) {
        (Some(_), _) => "external",
        (None, Backend::Sqlite) => "sqlite",
        (None, Backend::Postgres) => "postgres",
    };
    let mut report = json!({
        "scenario": args.scenario.name(), "auth": format!("{:?}", args.auth).to_lowercase(), "backend": backend, "n": args.samples,
        "cores": cores,
    });
    let mut shortfall = None;
    if args.scenario == Scenario::Sync {
        let root = data_io::buckets_root(&args, &t)?;
        shortfall = sync::run(&args, &t, &owner, &root, &mut report).await?;
    } else if args.scenario.is_task() {
        shortfall = data_io::run(&args, &t, &owner, &mut report).await?;
    } else {
        report["b"] = json!(args.batch);
        report["c"] = json!(args.clients);
        let (setup, ingest_time) = setup::setup(&args, &t, &owner).await?;
        eprintln!(
            "ingested {} samples in {:.1} s",
            args.samples,
            ingest_time.as_secs_f64()
        );
        if args.scenario == Scenario::Ingest {
            report["duration_s"] = json!(round(ingest_time.as_secs_f64(), 2));
            report["samples_per_s"] = json!(round(args.samples as f64 / ingest_time.as_secs_f64(), 0));
            report["requests_per_s"] = json!(round(args.samples.div_ceil(1000) as f64 / ingest_time.as_secs_f64(), 1));
            report["errors"] = json!(0);
        } else {
            workloads::drive(&args, &t, &owner, &setup, &mut report).await?;
        }
    }
    if let Some(child) = &t.child {
        if let Some(pid) = child.id() {
            report["server_peak_rss_mib"] = json!(rss_mib(pid, "VmHWM:").map(|m| round(m, 1)));
        }
    }
    report["database_mib"] = json!(target::database_size_mib(&t).await.map(|m| round(m, 1)));
    report::print(&report);
    target::finish(&mut t, args.keep).await;
    match shortfall {
        Some(why) => anyhow::bail!(why),
        None => Ok(()),
    }
}
