//! The `sync` scenario: a dataset kept in step with a folder of N files. Before the clock
//! starts, N small image files are written straight into a bucket folder of the server's local
//! object store, in five label folders (`cat/`, `dog/`, ...), the layout a directory import reads
//! labels from; a dataset is created with that folder as its data source. The timed run is the
//! first sync, which adds the N samples with their labels. Then, untimed by the headline figure
//! but reported: 1 % of the files removed and as many added, and a second sync, which must add
//! and remove exactly those; and a third with nothing changed, which must do nothing. Each sync
//! is read every 250 ms to its end, with the server's memory sampled meanwhile.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use teamlabel_api::data_io::SyncStatus;
use teamlabel_client::Client;

use crate::data_io::{BUCKET, LABELS, POLL, RSS_EVERY, SHOW_EVERY};
use crate::report::round;
use crate::target::{cpu_seconds, RssSampler, Target};
use crate::Args;

/// The bytes of every file: the PNG signature (a classification sync reads no image).
const FILE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// File `i` of the source, relative to its folder.
fn file_name(i: usize) -> String {
    format!("{}/{i:07}.png", LABELS[i % LABELS.len()])
}

fn write_files(dir: &Path, range: std::ops::Range<usize>) -> Result<()> {
    for label in LABELS {
        std::fs::create_dir_all(dir.join(label))?;
    }
    for i in range {
        let path = dir.join(file_name(i));
        let mut f = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        f.write_all(FILE)?;
    }
    Ok(())
}

/// One sync run to its end.
struct Synced {
    status: SyncStatus,
    seconds: f64,
    peak_rss_mib: Option<f64>,
    cpu_seconds: Option<f64>,
}

async fn sync(owner: &Client, t: &Target, dataset: &str, timeout: Duration) -> Result<Synced> {
    let pid = t.child.as_ref().and_then(|c| c.id());
    let cpu_before = pid.and_then(cpu_seconds);
    let sampler = RssSampler::start(t, RSS_EVERY);
    let started = Instant::now();
    let first: SyncStatus = owner.sync_data(dataset).await.context("POST .../sync-data")?;
    let mut shown = Instant::now();
    let status = loop {
        let s: SyncStatus = owner
            .get_sync_status(dataset)
            .await
            .context("GET .../sync-data/status")?;
        if s.task_id != first.task_id {
            bail!(
                "the sync status names task {:?}, not the one started ({:?})",
                s.task_id,
                first.task_id
            );
        }
        if s.status != "RUNNING" {
            break s;
        }
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            bail!("the sync did not end within --timeout {} s", timeout.as_secs());
        }
        if shown.elapsed() >= SHOW_EVERY {
            eprintln!(
                "{:>6.1} s  sync: {} added, {} removed",
                elapsed.as_secs_f64(),
                s.add_sample_count.unwrap_or(0),
                s.deleted_sample_count.unwrap_or(0)
            );
            shown = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_mib = match sampler {
        Some(s) => Some(s.peak().await),
        None => None,
    };
    let cpu_after = pid.and_then(cpu_seconds);
    if status.status != "COMPLETED" {
        bail!(
            "the sync ended {}: {} {}",
            status.status,
            status.error_code.as_deref().unwrap_or("-"),
            status.error_msg.as_deref().unwrap_or("")
        );
    }
    Ok(Synced {
        status,
        seconds,
        peak_rss_mib,
        cpu_seconds: cpu_before.zip(cpu_after).map(|(b, a)| a - b),
    })
}

/// `(added, removed, total)` of a finished sync.
fn counts(s: &SyncStatus) -> (u64, u64, u64) {
    (
        s.add_sample_count.unwrap_or(0),
        s.deleted_sample_count.unwrap_or(0),
        s.total_sample_count.unwrap_or(0),
    )
}

fn figures(s: &Synced) -> Value {
    json!({
        "duration_s": round(s.seconds, 2),
        "added": s.status.add_sample_count,
        "removed": s.status.deleted_sample_count,
        "total": s.status.total_sample_count,
        "server_peak_rss_task_mib": s.peak_rss_mib.map(|m| round(m, 1)),
        "server_cpu_s": s.cpu_seconds.map(|c| round(c, 1)),
    })
}

/// Runs the scenario and writes its figures into `report`; answers why a sync did other than
/// expected, if one did.
pub async fn run(args: &Args, t: &Target, owner: &Client, root: &Path, report: &mut Value) -> Result<Option<String>> {
    let n = args.samples;
    let tag = format!("bench{}", std::process::id());
    let folder = root.join(BUCKET).join(&tag);
    let src = folder.join("src");
    let writing = Instant::now();
    write_files(&src, 0..n)?;
    eprintln!("wrote {n} files in {:.1} s", writing.elapsed().as_secs_f64());
    let labels: Vec<Value> = LABELS.iter().map(|name| json!({"name": name, "type": 0})).collect();
    let created: Value = owner
        .create_dataset(&json!({
            "dataset_name": tag, "dataset_type": 0, "labels": labels,
            "data_sources": [{"data_type": 0, "data_path": format!("/{BUCKET}/{tag}/src/")}]
        }))
        .await
        .context("creating the dataset")?;
    let dataset = created["dataset_id"].as_str().context("dataset_id")?.to_string();
    let timeout = Duration::from_secs(args.timeout);

    let first = sync(owner, t, &dataset, timeout).await?;
    report["samples"] = json!(n);
    report["duration_s"] = json!(round(first.seconds, 2));
    report["samples_per_s"] = json!(round(n as f64 / first.seconds, 0));
    report["server_peak_rss_task_mib"] = json!(first.peak_rss_mib.map(|m| round(m, 1)));
    report["server_cpu_s"] = json!(first.cpu_seconds.map(|c| round(c, 1)));
    report["added"] = json!(first.status.add_sample_count);
    eprintln!("first sync: {:?} in {:.1} s", counts(&first.status), first.seconds);

    // 1 % gone, 1 % new.
    let churn = (n / 100).max(1);
    for i in (0..n).step_by(n / churn).take(churn) {
        std::fs::remove_file(src.join(file_name(i)))?;
    }
    write_files(&src, n..n + churn)?;
    let second = sync(owner, t, &dataset, timeout).await?;
    report["resync_1pct"] = figures(&second);
    let third = sync(owner, t, &dataset, timeout).await?;
    report["resync_unchanged"] = figures(&third);

    if args.server.is_some() && !args.keep {
        std::fs::remove_dir_all(&folder).with_context(|| format!("removing {}", folder.display()))?;
    }
    let expected = [
        (n as u64, 0, n as u64),
        (churn as u64, churn as u64, n as u64),
        (0, 0, n as u64),
    ];
    let got = [counts(&first.status), counts(&second.status), counts(&third.status)];
    Ok((got != expected).then(|| format!("the syncs answered (added, removed, total) {got:?}, not {expected:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_spread_over_the_label_folders() {
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), 0..12).unwrap();
        let cats = std::fs::read_dir(dir.path().join("cat")).unwrap().count();
        let persons = std::fs::read_dir(dir.path().join("person")).unwrap().count();
        assert_eq!((cats, persons), (3, 2));
        assert_eq!(file_name(7), "bird/0000007.png");
    }
}
