//! The `import` and `export` scenarios: a dataset in and out of the server as files. Before the
//! clock starts, a ModelArts manifest of N image-classification samples (one to three labels
//! each, `source` objects that need not exist) is streamed straight into a bucket folder of the
//! server's local object store. `import` times an import task of it; `export` runs that import
//! untimed, then times an export task writing the N samples back out as a manifest, and counts
//! the lines written. Each task runs to its end (or `--timeout`), read every 250 ms, with the
//! server's memory sampled and its CPU time taken meanwhile. Requests go through `teamlabel-client` with the wire types
//! of `teamlabel-api`; files are written and read only in the bench's folder of that bucket.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use teamlabel_api::data_io::{
    CreateExportTaskRequest, CreateImportTaskRequest, CreateTaskResponse, ExportTask, ImportTask,
};
use teamlabel_client::{Client, Method};

use crate::report::round;
use crate::target::{cpu_seconds, RssSampler, Target};
use crate::{setup, Args, Scenario};

/// The bucket the bench writes into: a folder under the buckets root.
pub const BUCKET: &str = "bench";
/// The dataset's labels; each manifest line names one to three of them.
pub const LABELS: [&str; 5] = ["cat", "dog", "bird", "car", "person"];
/// How often a running task is read.
pub const POLL: Duration = Duration::from_millis(250);
/// How often the server's memory is sampled while a task runs.
pub const RSS_EVERY: Duration = Duration::from_millis(100);
/// How often a running task's progress is shown on stderr.
pub const SHOW_EVERY: Duration = Duration::from_secs(5);
const MIB: f64 = 1048576.0;

/// The folder holding the server's local buckets: the one under the data dir the bench made, or
/// `--buckets` for a `--server` (which `main` asks for before starting).
pub fn buckets_root(args: &Args, t: &Target) -> Result<PathBuf> {
    match (&args.buckets, &t.data_dir) {
        (Some(dir), _) => Ok(dir.clone()),
        (None, Some(dir)) => Ok(dir.path().join("buckets")),
        (None, None) => bail!("--scenario {} with --server needs --buckets", args.scenario.name()),
    }
}

/// One manifest line: sample `i`, one to three distinct labels, four in five for training.
fn manifest_line(out: &mut impl Write, i: usize) -> std::io::Result<()> {
    let usage = if i % 5 == 4 { "EVAL" } else { "TRAIN" };
    write!(
        out,
        r#"{{"source":"obs://{BUCKET}/images/{i:07}.jpg","usage":"{usage}","annotation":["#
    )?;
    for j in 0..=i % 3 {
        let name = LABELS[(i * 7 + j) % LABELS.len()];
        if j > 0 {
            out.write_all(b",")?;
        }
        write!(
            out,
            r#"{{"name":"{name}","type":"modelarts/image_classification","annotated-by":"human","creation-time":"2026-11-29 10:00:00"}}"#
        )?;
    }
    out.write_all(b"]}\n")
}

/// Streams a manifest of `n` samples to `path`; answers its size in bytes.
fn write_manifest(path: &Path, n: usize) -> Result<u64> {
    std::fs::create_dir_all(path.parent().context("a manifest path has a folder")?)?;
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for i in 0..n {
        manifest_line(&mut out, i)?;
    }
    out.into_inner()?.sync_all()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Newlines in a file, plus one for a last line without its newline.
fn count_lines(path: &Path) -> Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    Ok(lines + u64::from(last != b'\n'))
}

/// The `.manifest` files under `dir` at any depth: how many, their lines and their bytes.
fn manifests_under(dir: &Path) -> Result<(u64, u64, u64)> {
    let (mut files, mut lines, mut bytes) = (0, 0, 0);
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "manifest") {
                files += 1;
                lines += count_lines(&path)?;
                bytes += entry.metadata()?.len();
            }
        }
    }
    Ok((files, lines, bytes))
}

/// A task run to its end: as last read, the time from sending its creation to seeing it end,
/// the server's own time (creation to last update), and the server's peak RSS and CPU time
/// meanwhile (for a server the bench started).
struct Timed<T> {
    task: T,
    seconds: f64,
    server_seconds: f64,
    peak_rss_mib: Option<f64>,
    cpu_seconds: Option<f64>,
}

/// How a kind of task is read: when it has ended, its line of progress, and its span on the
/// server in milliseconds.
struct Kind<T> {
    ended: fn(&T) -> bool,
    show: fn(&T) -> String,
    span_ms: fn(&T) -> i64,
}

/// Creates a task with `body` at `tasks`, then reads it until it ends, for at most `timeout`.
async fn run_task<B: serde::Serialize, T: DeserializeOwned>(
    owner: &Client,
    t: &Target,
    tasks: &str,
    body: &B,
    timeout: Duration,
    kind: Kind<T>,
) -> Result<Timed<T>> {
    let pid = t.child.as_ref().and_then(|c| c.id());
    let cpu_before = pid.and_then(cpu_seconds);
    let sampler = RssSampler::start(t, RSS_EVERY);
    let started = Instant::now();
    let created: CreateTaskResponse = owner
        .send(Method::POST, tasks, &(), Some(body))
        .await?
        .json()
        .with_context(|| format!("POST {tasks}"))?;
    let path = format!("{tasks}/{}", created.task_id);
    let mut shown = Instant::now();
    let task = loop {
        let task: T = owner
            .send(Method::GET, &path, &(), None::<&()>)
            .await?
            .json()
            .with_context(|| format!("GET {path}"))?;
        let elapsed = started.elapsed();
        if (kind.ended)(&task) {
            break task;
        }
        if elapsed >= timeout {
            bail!(
                "{path} did not end within --timeout {} s: {}",
                timeout.as_secs(),
                (kind.show)(&task)
            );
        }
        if shown.elapsed() >= SHOW_EVERY {
            eprintln!("{:>6.1} s  {}", elapsed.as_secs_f64(), (kind.show)(&task));
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
    Ok(Timed {
        server_seconds: (kind.span_ms)(&task) as f64 / 1000.0,
        task,
        seconds,
        peak_rss_mib,
        cpu_seconds: cpu_before.zip(cpu_after).map(|(b, a)| a - b),
    })
}

async fn import(owner: &Client, t: &Target, dataset: &str, path: &str, timeout: Duration) -> Result<Timed<ImportTask>> {
    let body = CreateImportTaskRequest {
        import_path: path.to_string(),
        import_type: Some("manifest".into()),
        ..CreateImportTaskRequest::default()
    };
    let kind = Kind {
        ended: |k: &ImportTask| matches!(k.status.as_str(), "COMPLETED" | "FAILED"),
        show: |k: &ImportTask| {
            format!(
                "import {}: {} processed, {} imported, {} skipped",
                k.status, k.processed_sample_count, k.imported_sample_count, k.skipped_sample_count
            )
        },
        span_ms: |k: &ImportTask| k.update_ms - k.create_time,
    };
    let tasks = format!("/datasets/{dataset}/import-tasks");
    run_task(owner, t, &tasks, &body, timeout, kind).await
}

async fn export(owner: &Client, t: &Target, dataset: &str, path: &str, timeout: Duration) -> Result<Timed<ExportTask>> {
    let body = CreateExportTaskRequest {
        path: path.to_string(),
        export_type: Some(2),
        annotation_format: Some("MANIFEST".into()),
        ..CreateExportTaskRequest::default()
    };
    let kind = Kind {
        ended: |k: &ExportTask| matches!(k.status.as_str(), "SUCCESSED" | "FAILED"),
        show: |k: &ExportTask| {
            format!(
                "export {}: {}/{} samples ({:.1} %)",
                k.status, k.finished_sample_count, k.total_sample_count, k.progress
            )
        },
        span_ms: |k: &ExportTask| k.update_time - k.create_time,
    };
    let tasks = format!("/datasets/{dataset}/export-tasks");
    run_task(owner, t, &tasks, &body, timeout, kind).await
}

/// The figures of the timed task: `samples` of it in its time.
fn timed_figures<T>(report: &mut Value, samples: u64, timed: &Timed<T>) {
    report["samples"] = json!(samples);
    report["duration_s"] = json!(round(timed.seconds, 2));
    report["task_duration_s"] = json!(round(timed.server_seconds, 2));
    report["samples_per_s"] = json!(round(samples as f64 / timed.seconds, 0));
    report["server_peak_rss_task_mib"] = json!(timed.peak_rss_mib.map(|m| round(m, 1)));
    report["server_cpu_s"] = json!(timed.cpu_seconds.map(|s| round(s, 1)));
}

/// Why a task that ended `status` did not end `done`, if it did not.
fn failure(what: &str, status: &str, done: &str, code: &Option<String>, msg: &Option<String>) -> Option<String> {
    (status != done).then(|| {
        format!(
            "the {what} task ended {status}: {} {}",
            code.as_deref().unwrap_or("-"),
            msg.as_deref().unwrap_or("")
        )
    })
}

/// Runs `import` or `export` and writes its figures into `report`. Answers why the timed task
/// fell short (it failed, or the export wrote other than N lines), if it did: the report is
/// printed either way.
pub async fn run(args: &Args, t: &Target, owner: &Client, report: &mut Value) -> Result<Option<String>> {
    let root = buckets_root(args, t)?;
    let tag = format!("bench{}", std::process::id());
    let labels: Vec<(&str, i32)> = LABELS.iter().map(|n| (*n, 0)).collect();
    let dataset = setup::create_dataset(owner, &tag, 0, &labels).await?;
    // Everything the bench writes, and the export writes, is under this folder of the bucket.
    let folder = root.join(BUCKET).join(&tag);
    let manifest_key = format!("{tag}/in/samples.manifest");
    let writing = Instant::now();
    let bytes = write_manifest(&root.join(BUCKET).join(&manifest_key), args.samples)?;
    eprintln!(
        "wrote a manifest of {} samples ({:.1} MiB) in {:.1} s",
        args.samples,
        bytes as f64 / MIB,
        writing.elapsed().as_secs_f64()
    );
    report["manifest_mib"] = json!(round(bytes as f64 / MIB, 1));
    let timeout = Duration::from_secs(args.timeout);
    let imported = import(owner, t, &dataset, &format!("/{BUCKET}/{manifest_key}"), timeout).await?;
    let i = &imported.task;
    let why = if args.scenario == Scenario::Import {
        timed_figures(report, i.processed_sample_count, &imported);
        report["status"] = json!(i.status);
        report["imported"] = json!(i.imported_sample_count);
        report["imported_labels"] = json!(i.imported_label_count);
        report["skipped"] = json!(i.skipped_sample_count);
        report["issue_count"] = json!(i.issue_count);
        failure("import", &i.status, "COMPLETED", &i.error_code, &i.error_msg)
    } else {
        report["import_s"] = json!(round(imported.seconds, 2));
        report["imported"] = json!(i.imported_sample_count);
        if let Some(why) = failure("import", &i.status, "COMPLETED", &i.error_code, &i.error_msg) {
            bail!("{why} (before the export)");
        }
        eprintln!(
            "imported {} samples in {:.1} s (untimed)",
            i.imported_sample_count, imported.seconds
        );
        let out = format!("{tag}/out/");
        let exported = export(owner, t, &dataset, &format!("/{BUCKET}/{out}"), timeout).await?;
        let e = &exported.task;
        timed_figures(report, e.finished_sample_count, &exported);
        report["status"] = json!(e.status);
        report["total"] = json!(e.total_sample_count);
        report["dropped_labels"] = json!(e.dropped_label_count);
        report["converted_labels"] = json!(e.converted_label_count);
        report["issue_count"] = json!(e.issue_count);
        let out_dir = root.join(BUCKET).join(&out);
        let (files, lines, out_bytes) = if out_dir.is_dir() {
            manifests_under(&out_dir)?
        } else {
            (0, 0, 0)
        };
        report["output_manifests"] = json!(files);
        report["output_lines"] = json!(lines);
        report["output_mib"] = json!(round(out_bytes as f64 / MIB, 1));
        failure("export", &e.status, "SUCCESSED", &e.error_code, &e.error_msg).or_else(|| {
            (lines != args.samples as u64).then(|| {
                format!(
                    "the export wrote {lines} manifest lines in {files} file(s) under {}, not {}",
                    out_dir.display(),
                    args.samples
                )
            })
        })
    };
    // A data dir the bench made goes with the server; a --server's bucket keeps nothing of it.
    if args.server.is_some() && !args.keep {
        std::fs::remove_dir_all(&folder).with_context(|| format!("removing {}", folder.display()))?;
    }
    Ok(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_name_one_to_three_distinct_labels() {
        for i in 0..30 {
            let mut out = Vec::new();
            manifest_line(&mut out, i).unwrap();
            assert_eq!(out.last(), Some(&b'\n'));
            let v: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["source"], format!("obs://bench/images/{i:07}.jpg"));
            let names: Vec<&str> = v["annotation"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap())
                .collect();
            assert_eq!(names.len(), i % 3 + 1);
            let mut distinct = names.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), names.len(), "line {i}: {names:?}");
        }
    }

    #[test]
    fn lines_are_counted_with_or_without_a_last_newline() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("sub/a.manifest");
        write_manifest(&a, 1001).unwrap();
        std::fs::write(dir.path().join("b.manifest"), "{}\n{}").unwrap();
        std::fs::write(dir.path().join("export-report.jsonl"), "{}\n").unwrap();
        assert_eq!(count_lines(&a).unwrap(), 1001);
        let (files, lines, _) = manifests_under(dir.path()).unwrap();
        assert_eq!((files, lines), (2, 1003));
    }
}
