//! Runs the compiled `teamlabel` binary the way the README does: `teamlabel serve` in a fresh
//! directory (only the port is changed, to a free one), then the walk-through's first calls,
//! then SIGTERM. Also the JSON contracts of `init` and `token create`, and `--help`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use teamlabel_client::{Auth, Client, Method};

use crate::helpers::BIN;

fn run_json(args: &[&str]) -> Value {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "teamlabel {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object on one line: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn serve_starts_on_an_empty_directory_prints_credentials_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env("TEAMLABEL_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addr = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while addr.is_none() && Instant::now() < deadline {
        let line = lines.next().expect("the server printed its address").unwrap();
        addr = line.strip_prefix("listening on ").map(str::to_string);
    }
    let base = addr.expect("a 'listening on http://ADDR' line");

    let creds_path = dir.path().join("teamlabel-data/initial-credentials.json");
    let creds: Value = serde_json::from_str(&std::fs::read_to_string(&creds_path).unwrap()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&creds_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (project, token) = (creds["project_id"].as_str().unwrap(), creds["token"].as_str().unwrap());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::new(&base, project, Auth::None);
    let health = rt.block_on(client.request_root(Method::GET, "/health").send()).unwrap();
    assert_eq!(health.status, 200);
    let owner = client.with_auth(Auth::Token(token.to_string()));
    let created = rt
        .block_on(
            owner
                .request(Method::POST, "/datasets")
                .json(&json!({"dataset_name": "smoke", "dataset_type": 0, "labels": [{"name": "cat"}]}))
                .send(),
        )
        .unwrap();
    assert_eq!(created.status, 201);
    let list = rt.block_on(owner.request(Method::GET, "/datasets").send()).unwrap();
    let list: Value = list.json().unwrap();
    assert_eq!(list["total_number"], 1);
    drop(rt);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            break;
        }
        assert!(Instant::now() < deadline, "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A second start finds the project and does not create another.
    let again = Command::new(BIN)
        .args([
            "token",
            "create",
            "--project-id",
            project,
            "--email",
            "owner@teamlabel.local",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
}

#[test]
fn init_and_token_create_print_their_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    let init = run_json(&[
        "init",
        "--data-dir",
        data,
        "--project-name",
        "demo",
        "--owner-email",
        "ann@example.com",
    ]);
    let keys: Vec<&str> = init.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec!["access_key", "email", "project_id", "secret_key", "token", "user_id"]
    );
    assert_eq!(init["access_key"].as_str().unwrap().len(), 20);
    assert_eq!(init["secret_key"].as_str().unwrap().len(), 40);
    // The secret is stored sealed: the database file does not contain it.
    let db = std::fs::read(dir.path().join("d/teamlabel.db")).unwrap();
    let secret = init["secret_key"].as_str().unwrap().as_bytes();
    assert!(!db.windows(secret.len()).any(|w| w == secret));
    let project = init["project_id"].as_str().unwrap();
    assert!(project.len() == 32 && project.chars().all(|c| c.is_ascii_hexdigit()));

    let token = run_json(&[
        "token",
        "create",
        "--data-dir",
        data,
        "--project-id",
        project,
        "--email",
        "ann@example.com",
        "--ttl-hours",
        "2",
    ]);
    assert!(token["token"].as_str().unwrap().starts_with("tl_"));
    assert!(token["expires_at"].as_str().unwrap().ends_with('Z'));

    let unknown = Command::new(BIN)
        .args([
            "token",
            "create",
            "--data-dir",
            data,
            "--project-id",
            project,
            "--email",
            "nobody@example.com",
        ])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody@example.com"));

    let bad_email = Command::new(BIN)
        .args([
            "init",
            "--data-dir",
            data,
            "--project-name",
            "x",
            "--owner-email",
            "nope",
        ])
        .output()
        .unwrap();
    assert!(!bad_email.status.success());
}

#[test]
fn help_documents_every_setting_and_its_environment_variable() {
    let out = Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--data-dir",
        "--database",
        "--config",
        "--public-url",
        "--max-body-bytes",
        "--max-batch",
        "--max-sample-bytes",
        "--header-timeout",
        "--body-timeout",
        "--max-connections",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}");
    }
    for env in [
        "TEAMLABEL_LISTEN",
        "TEAMLABEL_DATA_DIR",
        "TEAMLABEL_DATABASE",
        "TEAMLABEL_CONFIG",
    ] {
        assert!(help.contains(env), "serve --help lacks {env}");
    }
}

#[test]
fn a_config_file_sets_what_flags_leave_out_and_unknown_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("teamlabel.toml");
    std::fs::write(
        &cfg,
        format!("data_dir = {:?}\n", dir.path().join("from-file").to_str().unwrap()),
    )
    .unwrap();
    run_json(&[
        "init",
        "--config",
        cfg.to_str().unwrap(),
        "--project-name",
        "p",
        "--owner-email",
        "a@example.com",
    ]);
    assert!(dir.path().join("from-file/teamlabel.db").exists());

    std::fs::write(&cfg, "colour = \"red\"\n").unwrap();
    let out = Command::new(BIN)
        .args([
            "init",
            "--config",
            cfg.to_str().unwrap(),
            "--project-name",
            "p",
            "--owner-email",
            "a@example.com",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
}

fn serve_until_listening(args: &[&str], dir: &std::path::Path) -> (std::process::Child, Option<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("TEAMLABEL_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_string));
    (child, addr)
}

#[test]
fn weaker_sqlite_durability_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--sqlite-synchronous", "NORMAL"])
        .current_dir(dir.path())
        .env("TEAMLABEL_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a weaker synchronous must be refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to start") && err.contains("synchronous is normal"),
        "{err}"
    );
    assert!(err.contains("--allow-weak-durability"), "{err}");

    let (child, addr) = serve_until_listening(
        &["serve", "--sqlite-synchronous", "NORMAL", "--allow-weak-durability"],
        dir.path(),
    );
    assert!(addr.is_some(), "with --allow-weak-durability the server starts");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("weak durability accepted") && log.contains("synchronous"),
        "{log}"
    );
}

#[test]
fn weaker_postgres_durability_is_refused_unless_allowed() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let schema = format!("api_{:032x}", std::process::id() as u128 * 7919 + 17);
    let created = Command::new("psql")
        .args([url.as_str(), "-qc", &format!("CREATE SCHEMA IF NOT EXISTS {schema}")])
        .status()
        .unwrap();
    assert!(created.success());
    let sep = if url.contains('?') { '&' } else { '?' };
    let weak = format!("{url}{sep}options=-c%20search_path%3D{schema}%20-c%20synchronous_commit%3Doff");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--database", &weak])
        .current_dir(dir.path())
        .env("TEAMLABEL_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("synchronous_commit is off"), "{err}");
    let (child, addr) = serve_until_listening(&["serve", "--database", &weak, "--allow-weak-durability"], dir.path());
    assert!(addr.is_some());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Command::new("psql")
        .env("PGOPTIONS", "--client-min-messages=warning")
        .args([url.as_str(), "-qc", &format!("DROP SCHEMA {schema} CASCADE")])
        .status()
        .unwrap();
}

#[test]
fn connection_limits_out_of_range_are_refused_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for (flag, value, says) in [
        (
            "--header-timeout",
            "0",
            "--header-timeout must be 1 to 3600 seconds, got 0",
        ),
        (
            "--body-timeout",
            "7200",
            "--body-timeout must be 1 to 3600 seconds, got 7200",
        ),
        ("--max-connections", "0", "--max-connections must be 1 to 100000, got 0"),
        (
            "--history-keep-days",
            "0",
            "--history-keep-days must be 1 to 36500, got 0",
        ),
    ] {
        let out = Command::new(BIN)
            .args(["serve", "--data-dir", data, "--listen", "127.0.0.1:0", flag, value])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
    }
}
