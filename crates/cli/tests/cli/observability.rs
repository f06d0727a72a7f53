//! What `teamlabel serve` writes to standard error and where it serves metrics: `--log-format
//! json` gives one JSON object per line, one line per request with its id, route template,
//! status, latency and caller, and never a token, key or secret; plain lines carry no colour
//! codes when standard error is not a terminal; `--metrics-listen` serves `GET /metrics` on a
//! listener of its own, behind `TEAMLABEL_METRICS_TOKEN`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use teamlabel_client::{Auth, Client, Method, Response};

use crate::helpers::BIN;

const METRICS_TOKEN: &str = "cli-metrics-token-0123456789";

/// A server started in a fresh directory, its standard error going to `stderr.log` there.
struct Server {
    child: Child,
    /// `http://ADDR` of the API.
    base: String,
    /// `http://ADDR/metrics`, when a metrics listener was asked for.
    metrics: Option<String>,
    creds: Value,
    rt: tokio::runtime::Runtime,
}

impl Server {
    fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(dir)
            .env("TEAMLABEL_LISTEN", "127.0.0.1:0")
            .env("TEAMLABEL_LOG", "info")
            .env_remove("NO_COLOR")
            .env_remove("TEAMLABEL_LOG_FORMAT")
            .env_remove("TEAMLABEL_METRICS_LISTEN")
            .env_remove("TEAMLABEL_METRICS_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut base, mut metrics) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while base.is_none() && Instant::now() < deadline {
            let line = lines.next().expect("the server printed its address").unwrap();
            if let Some(m) = line.strip_prefix("metrics on ") {
                metrics = Some(m.to_string());
            }
            base = line.strip_prefix("listening on ").map(str::to_string);
        }
        let creds_path = dir.join("teamlabel-data/initial-credentials.json");
        let creds = serde_json::from_str(&std::fs::read_to_string(creds_path).unwrap()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Server {
            child,
            base: base.expect("a 'listening on http://ADDR' line"),
            metrics,
            creds,
            rt,
        }
    }

    fn cred(&self, key: &str) -> String {
        self.creds[key].as_str().unwrap().to_string()
    }

    fn client(&self, auth: Auth) -> Client {
        Client::new(&self.base, self.cred("project_id"), auth)
    }

    fn get(&self, client: &Client, url_path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = client.request_root(Method::GET, url_path);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        self.rt.block_on(req.send()).unwrap()
    }

    /// Stops the server with SIGTERM and answers what it wrote to standard error.
    fn stop(mut self, dir: &Path) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::read_to_string(dir.join("stderr.log")).unwrap()
    }
}

#[test]
fn json_logs_are_one_object_per_line_with_one_line_per_request_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--log-format", "json", "serve", "--metrics-listen", "127.0.0.1:0"],
        &[("TEAMLABEL_METRICS_TOKEN", METRICS_TOKEN)],
    );
    let (token, user_id) = (server.cred("token"), server.cred("user_id"));
    let (access, secret) = (server.cred("access_key"), server.cred("secret_key"));
    let datasets = format!("/v2/{}/datasets", server.cred("project_id"));

    let owner = server.client(Auth::Token(token.clone()));
    let a = server.get(&owner, &datasets, &[("X-Request-Id", "cli-trace-1")]);
    assert_eq!((a.status, a.header("x-request-id")), (200, Some("cli-trace-1")));
    let wrong_token = "tl_0000000000000000000000000000000000000000000000000000000000000000";
    let refused = server.client(Auth::Token(wrong_token.into()));
    let a = server.get(&refused, &datasets, &[("X-Request-Id", "cli-trace-2")]);
    assert_eq!(a.status, 401);
    let signed = server.client(Auth::AkSk {
        ak: access.clone(),
        sk: secret.clone(),
        security_token: None,
    });
    let a = server.get(&signed, &datasets, &[("X-Request-Id", "cli-trace-3")]);
    assert_eq!(a.status, 200);

    // The metrics listener of its own answers with the token only; the API listener has none.
    let metrics_url = server.metrics.clone().expect("a 'metrics on http://ADDR/metrics' line");
    let (metrics_base, path) = metrics_url.rsplit_once('/').unwrap();
    assert_eq!(path, "metrics");
    let scraper = Client::new(metrics_base, "p", Auth::None);
    assert_eq!(server.get(&scraper, "/metrics", &[]).status, 401);
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let scraped = server.get(&scraper, "/metrics", &[("Authorization", &bearer)]);
    assert_eq!(scraped.status, 200);
    let text = String::from_utf8(scraped.bytes.to_vec()).unwrap();
    assert!(
        text.contains(
            r#"teamlabel_http_requests_total{method="GET",route="/v2/{project_id}/datasets",status="200"} 2"#
        ),
        "{text}"
    );
    assert_eq!(
        server.get(&owner, "/metrics", &[("Authorization", &bearer)]).status,
        404
    );

    let log = server.stop(dir.path());
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(Value::is_object));
    let request = |id: &str| -> &Value {
        let found: Vec<&Value> = lines.iter().filter(|l| l["request_id"] == id).collect();
        assert_eq!(found.len(), 1, "one line for request {id}:\n{log}");
        found[0]
    };
    let first = request("cli-trace-1");
    assert_eq!(first["message"], "request");
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["target"], "teamlabel::request");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["route"], "/v2/{project_id}/datasets");
    assert_eq!(first["status"], 200);
    assert!(first["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{first}");
    assert_eq!(first["caller"], user_id.as_str());
    assert!(first["timestamp"].is_string());
    let second = request("cli-trace-2");
    assert_eq!(
        (&second["status"], &second["caller"]),
        (&Value::from(401), &Value::from("-"))
    );
    let third = request("cli-trace-3");
    assert_eq!(
        (&third["status"], &third["caller"]),
        (&Value::from(200), &Value::from(user_id.as_str()))
    );
    assert!(lines.iter().any(|l| l["route"] == "/metrics" && l["status"] == 401));

    for secret_text in [token.as_str(), wrong_token, secret.as_str(), METRICS_TOKEN] {
        assert!(
            !log.contains(secret_text),
            "the log holds a secret: {secret_text}\n{log}"
        );
    }
    assert!(!log.contains('\x1b'), "no colour codes");
}

#[test]
fn plain_logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["serve"], &[]);
    let anyone = server.client(Auth::None);
    let a = server.get(&anyone, "/health", &[("X-Request-Id", "plain-1")]);
    assert_eq!(a.status, 200);
    let log = server.stop(dir.path());
    assert!(
        !log.contains('\x1b'),
        "colour codes in a log that is not a terminal:\n{log}"
    );
    let line = log
        .lines()
        .find(|l| l.contains("request_id=plain-1"))
        .unwrap_or_else(|| panic!("a line for the request:\n{log}"));
    for part in [
        " INFO ",
        "teamlabel::request",
        "route=/health",
        "status=200",
        "latency_ms=",
        "caller=-",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
    assert!(
        log.lines().all(|l| serde_json::from_str::<Value>(l).is_err()),
        "plain, not JSON"
    );
}

#[test]
fn a_metrics_token_that_is_too_short_is_refused_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--metrics-token", "short"])
        .current_dir(dir.path())
        .env_remove("TEAMLABEL_METRICS_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--metrics-token must be 16 to 256 visible ASCII characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("short"), "the refused token is not echoed: {stderr}");
}
