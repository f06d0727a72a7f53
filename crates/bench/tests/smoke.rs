//! The bench runs end to end on a small dataset and reports every documented field.

use std::process::Command;

#[test]
fn a_short_mixed_run_reports_every_field_without_errors() {
    let bench = env!("CARGO_BIN_EXE_teamlabel-bench");
    let server = std::path::Path::new(bench).with_file_name("teamlabel");
    let out = Command::new(bench)
        .args([
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
            "--binary",
        ])
        .arg(&server)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    for field in [
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
    ] {
        assert!(
            report.get(field).is_some_and(|v| !v.is_null()),
            "{field} missing in {report}"
        );
    }
    assert_eq!(report["errors"], 0);
    assert_eq!(report["read_errors"], 0);
    assert!(report["samples_per_s"].as_f64().unwrap() > 0.0);
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
        "--pages",
        "--binary",
        "--keep",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
}
