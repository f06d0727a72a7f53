//! Python clients, unmodified, against the compiled `teamlabel serve`, on SQLite and, when
//! `TEST_DATABASE_URL` is set, on a PostgreSQL schema of its own:
//!
//! - the official Huawei Cloud Python SDK core (`huaweicloudsdkcore`): AK/SK signatures,
//!   temporary credentials and IAM-style tokens (`tests/sdk/test_sdk.py`);
//! - OpenStack-style clients (`keystoneauth1`, `openstacksdk`): Keystone version discovery, a
//!   password sign-in, ModelArts found as `modelartsv2` in the token's catalog and called there,
//!   the token method, refusals with the server's message, and the Open Telekom Cloud
//!   extensions' ModelArts v2 proxy syncing a dataset with its data source
//!   (`tests/sdk/test_openstack.py`).
//!
//! Each test prepares what its script needs and runs it (the script says what it checks) with
//! the interpreter in `TEAMLABEL_TEST_PYTHON` (default `python3`). That interpreter must have the
//! versions pinned in `tests/sdk/requirements.txt`: `scripts/test` installs them in
//! `target/sdk-venv`; an interpreter without them fails these tests rather than skipping them.
//! The Python output is printed (run with `--nocapture` to see it when a test passes).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::Schema;

use crate::helpers::BIN;
const PASSWORD: &str = "sdk-test-password";
const LABELER: &str = "labeler@example.com";
const LOCKOUT: &str = "locked-out@example.com";

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk")
}

/// The `NAME==VERSION` pins of `tests/sdk/requirements.txt`.
fn pinned() -> Vec<(String, String)> {
    let requirements = std::fs::read_to_string(sdk_dir().join("requirements.txt")).unwrap();
    requirements
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter_map(|l| l.split_once("=="))
        .map(|(name, version)| (name.trim().to_string(), version.trim().to_string()))
        .collect()
}

/// The interpreter to run a Python client test with; fails (with how to install them) unless it
/// has the pinned version of each of `packages`.
fn python_with(packages: &[&str]) -> String {
    let python = std::env::var("TEAMLABEL_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let pins = pinned();
    let how = format!(
        "the Python client tests need the versions pinned in tests/sdk/requirements.txt in the Python of \
         TEAMLABEL_TEST_PYTHON (now {python:?}). `scripts/test` installs them in target/sdk-venv and sets \
         TEAMLABEL_TEST_PYTHON; by hand: python3 -m venv target/sdk-venv && target/sdk-venv/bin/pip install \
         -r tests/sdk/requirements.txt && TEAMLABEL_TEST_PYTHON=$PWD/target/sdk-venv/bin/python cargo test -p teamlabel \
         --test cli -- sdk_clients"
    );
    for package in packages {
        let version = &pins
            .iter()
            .find(|(name, _)| name == package)
            .unwrap_or_else(|| panic!("tests/sdk/requirements.txt pins no {package}==VERSION"))
            .1;
        let probe = Command::new(&python)
            .args([
                "-c",
                "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))",
                package,
            ])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python:?}: {e}; {how}"));
        let stderr = String::from_utf8_lossy(&probe.stderr);
        assert!(probe.status.success(), "{python:?} has no {package}: {stderr}\n{how}");
        let installed = String::from_utf8_lossy(&probe.stdout).trim().to_string();
        assert_eq!(
            &installed, version,
            "{python:?} has {package} {installed}, not the pinned {version}; {how}"
        );
    }
    python
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, database: Option<&str>) -> Server {
    let log = dir.join("server.log");
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--data-dir", dir.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    if let Some(db) = database {
        cmd.args(["--database", db]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(addr) = l.strip_prefix("listening on ") {
                    break addr.to_string();
                }
            }
            _ => panic!(
                "the server exited before announcing its address: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }
    };
    // Keep draining stdout so a late line never meets a closed pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Server { child, base }
}

/// Runs a `teamlabel` subcommand on the server's store and returns its JSON output.
fn cli(dir: &Path, database: Option<&str>, args: &[&str], stdin: Option<&str>) -> Value {
    let mut cmd = Command::new(BIN);
    cmd.args(args).args(["--data-dir", dir.to_str().unwrap()]);
    if let Some(db) = database {
        cmd.args(["--database", db]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "teamlabel {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "teamlabel {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_string()
}

/// Starts a server on the given store, prepares the users and runs the Python SDK test.
fn sdk_test_passes(backend: &str, database: Option<&str>) {
    let python = python_with(&["huaweicloudsdkcore"]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let server = start(&dir, database);
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("initial-credentials.json")).unwrap()).unwrap();
    let (project, owner_email) = (text(&creds, "project_id"), text(&creds, "email"));

    // The labeler and the user to lock out become users of the project by joining a team; the
    // SDK test then puts the labeler in a team and task of its own.
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let post = |path: &str, body: Value| -> Value {
        let url = format!("{}/v2/{project}{path}", server.base);
        let res = http
            .post(&url)
            .header("X-Auth-Token", text(&creds, "token"))
            .json(&body)
            .send()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = res.status();
        let v: Value = res.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "{backend}: POST {url}: {status} {v}");
        v
    };
    let team = post("/workforces", json!({"workforce_name": "sdk-users"}));
    let team = text(&team, "workforce_id");
    for email in [LABELER, LOCKOUT] {
        post(
            &format!("/workforces/{team}/workers"),
            json!({"emails": email, "role": 0}),
        );
    }
    let labeler = cli(
        &dir,
        database,
        &["credential", "create", "--project-id", &project, "--email", LABELER],
        None,
    );
    for email in [owner_email.as_str(), LABELER, LOCKOUT] {
        let set = cli(
            &dir,
            database,
            &["user", "set-password", "--project-id", &project, "--email", email],
            Some(&format!("{PASSWORD}\n")),
        );
        assert_eq!(set["password_set"], true, "{backend}: {set}");
    }
    let other = cli(
        &dir,
        database,
        &[
            "init",
            "--project-name",
            "sdk-other",
            "--owner-email",
            "other@example.com",
        ],
        None,
    );

    let env = [
        ("TL_BASE_URL", server.base.clone()),
        ("TL_PROJECT_ID", project.clone()),
        ("TL_PROJECT_NAME", "default".to_string()),
        ("TL_OWNER_EMAIL", owner_email.clone()),
        ("TL_OWNER_PASSWORD", PASSWORD.to_string()),
        ("TL_OWNER_AK", text(&creds, "access_key")),
        ("TL_OWNER_SK", text(&creds, "secret_key")),
        ("TL_LABELER_EMAIL", LABELER.to_string()),
        ("TL_LABELER_PASSWORD", PASSWORD.to_string()),
        ("TL_LABELER_AK", text(&labeler, "access_key")),
        ("TL_LABELER_SK", text(&labeler, "secret_key")),
        ("TL_LOCKOUT_EMAIL", LOCKOUT.to_string()),
        ("TL_LOCKOUT_PASSWORD", PASSWORD.to_string()),
        ("TL_OTHER_PROJECT_ID", text(&other, "project_id")),
        ("TL_OTHER_AK", text(&other, "access_key")),
        ("TL_OTHER_SK", text(&other, "secret_key")),
    ];
    run_python(&python, "test_sdk.py", &env, backend, &server, &dir);
}

/// Runs a script of `tests/sdk` with `env` against `server`, printing its output; fails with the
/// output and the server's log unless the script succeeds.
fn run_python(python: &str, script: &str, env: &[(&str, String)], backend: &str, server: &Server, dir: &Path) {
    let out = Command::new(python)
        .arg(sdk_dir().join(script))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // The server is local: never send its requests through a proxy from the environment.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        // No __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("--- {script} on {backend} ({}) ---\n{report}", server.base);
    assert!(
        out.status.success(),
        "{backend}: {script} failed ({}):\n{report}\nserver log:\n{}",
        out.status,
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
}

/// Starts a server on the given store, gives its owner a password and runs the OpenStack-style
/// clients' test, which is given nothing but the identity URL and the owner's sign-in.
fn openstack_test_passes(backend: &str, database: Option<&str>) {
    let python = python_with(&["keystoneauth1", "openstacksdk", "otcextensions"]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let server = start(&dir, database);
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("initial-credentials.json")).unwrap()).unwrap();
    let (project, owner_email) = (text(&creds, "project_id"), text(&creds, "email"));
    let set = cli(
        &dir,
        database,
        &[
            "user",
            "set-password",
            "--project-id",
            &project,
            "--email",
            &owner_email,
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(set["password_set"], true, "{backend}: {set}");
    let env = [
        ("TL_BASE_URL", server.base.clone()),
        ("TL_PROJECT_ID", project),
        ("TL_PROJECT_NAME", "default".to_string()),
        ("TL_OWNER_EMAIL", owner_email),
        ("TL_OWNER_PASSWORD", PASSWORD.to_string()),
        // A data source in the server's local object store (its buckets are folders under
        // DATA_DIR/buckets): the OTC extensions' dataset sync reads it, and the script adds and
        // removes files there between two syncs.
        ("TL_SYNC_PATH", "/otc-src/animals/".to_string()),
        ("TL_SYNC_DIR", dir.join("buckets/otc-src/animals").display().to_string()),
    ];
    run_python(&python, "test_openstack.py", &env, backend, &server, &dir);
}

#[test]
fn the_official_python_sdk_works_against_the_server_on_sqlite() {
    sdk_test_passes("sqlite", None);
}

#[test]
fn the_official_python_sdk_works_against_the_server_on_postgres() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let schema = Schema::create(&url);
    let db = schema.database_url();
    sdk_test_passes("postgres", Some(&db));
}

#[test]
fn openstack_style_clients_find_modelartsv2_in_the_catalog_on_sqlite() {
    openstack_test_passes("sqlite", None);
}

#[test]
fn openstack_style_clients_find_modelartsv2_in_the_catalog_on_postgres() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let schema = Schema::create(&url);
    let db = schema.database_url();
    openstack_test_passes("postgres", Some(&db));
}
