//! The bench runs end to end on a small dataset and reports every documented field.

use std::process::Command;

/// Runs the bench against the `teamlabel` built beside it; answers its JSON line.
fn bench(args: &[&str]) -> serde_json::Value {
    let bench = env!("CARGO_BIN_EXE_teamlabel-bench");
    let server = std::path::Path::new(bench).with_file_name("teamlabel");
    let out = Command::new(bench)
        .args(args)
        .arg("--binary")
        .arg(&server)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(line.trim()).unwrap()
}

fn assert_fields(report: &serde_json::Value, fields: &[&str]) {
    for field in fields {
        assert!(
            report.get(field).is_some_and(|v| !v.is_null()),
            "{field} missing in {report}"
        );
    }
}

#[test]
fn a_short_mixed_run_reports_every_field_without_errors() {
    let report = bench(&[
        "--scenario",
        "mixed",
        "-n",
        "400",
        "-b",
        "10",
        "-c",
        "2",
        "--duration",
        "1",
        "--pages",
        "2",
    ]);
    assert_fields(
        &report,
        &[
            "scenario",
            "backend",
            "n",
            "b",
            "c",
            "duration_s",
            "requests_per_s",
            "samples_per_s",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "errors",
            "server_peak_rss_mib",
            "server_peak_rss_workload_mib",
            "database_mib",
            "cores",
            "list_p99_ms",
            "get_p99_ms",
        ],
    );
    assert_eq!(report["errors"], 0);
    assert_eq!(report["read_errors"], 0);
    assert!(report["samples_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn an_import_brings_every_line_of_the_manifest_in() {
    let report = bench(&["--scenario", "import", "-n", "1200"]);
    assert_fields(
        &report,
        &[
            "samples",
            "duration_s",
            "task_duration_s",
            "samples_per_s",
            "server_peak_rss_task_mib",
            "server_peak_rss_mib",
            "manifest_mib",
            "database_mib",
        ],
    );
    assert_eq!(report["status"], "COMPLETED");
    assert_eq!(report["samples"], 1200);
    assert_eq!(report["imported"], 1200);
    assert_eq!(report["imported_labels"], 2400);
    assert_eq!(report["skipped"], 0);
    assert_eq!(report["issue_count"], 0);
}

#[test]
fn an_export_writes_every_sample_back_out_as_a_manifest() {
    let report = bench(&["--scenario", "export", "-n", "1200"]);
    assert_fields(
        &report,
        &[
            "samples",
            "duration_s",
            "task_duration_s",
            "samples_per_s",
            "server_peak_rss_task_mib",
            "import_s",
            "output_mib",
        ],
    );
    assert_eq!(report["status"], "SUCCESSED");
    assert_eq!(report["samples"], 1200);
    assert_eq!(report["total"], 1200);
    assert_eq!(report["output_manifests"], 1);
    assert_eq!(report["output_lines"], 1200);
    assert_eq!(report["dropped_labels"], 0);
}

#[test]
fn a_sync_adds_then_replaces_exactly_what_changed() {
    // The bench itself fails unless the three syncs answer exactly what changed.
    let report = bench(&["--scenario", "sync", "-n", "300"]);
    assert_fields(
        &report,
        &["samples", "duration_s", "samples_per_s", "server_peak_rss_task_mib"],
    );
    assert_eq!(report["added"], 300);
    assert_eq!(
        (
            report["resync_1pct"]["added"].clone(),
            report["resync_1pct"]["removed"].clone()
        ),
        (serde_json::json!(3), serde_json::json!(3))
    );
    assert_eq!(report["resync_unchanged"]["added"], 0);
    assert_eq!(report["resync_unchanged"]["total"], 300);
}

#[test]
fn the_help_documents_every_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_teamlabel-bench"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--scenario",
        "--backend",
        "--database",
        "--server",
        "--token",
        "--project-id",
        "--samples",
        "--batch",
        "--clients",
        "--duration",
        "--timeout",
        "--buckets",
        "--pages",
        "--binary",
        "--keep",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
}
