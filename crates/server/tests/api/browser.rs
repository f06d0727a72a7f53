//! A real browser for the page's tests: Debian's `chromium`, headless, driven through
//! `chromedriver` over the W3C WebDriver protocol (plain JSON over HTTP, spoken here with
//! reqwest). `TEST_CHROMEDRIVER` names the driver (`scripts/test` installs Debian's
//! `chromium-driver` and sets it); without it the browser tests are skipped, saying so.
//! A failing step saves a screenshot under `target/browser-screenshots/`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const CONTROL: &str = "\u{E009}";

pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    /// Names the screenshots of this test.
    pub name: String,
}

impl Drop for Browser {
    /// Ends the session first (chromedriver then closes its Chromium), then the driver.
    fn drop(&mut self) {
        let session = self.session.clone();
        let _ = std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build();
            if let Ok(c) = client {
                let _ = c.delete(session).send();
            }
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// A headless Chromium of its own, or `None` (the test is skipped) without `TEST_CHROMEDRIVER`.
    pub async fn start(name: &str) -> Option<Browser> {
        let Ok(driver_bin) = std::env::var("TEST_CHROMEDRIVER") else {
            eprintln!("skipping the browser test {name}: TEST_CHROMEDRIVER is not set (scripts/test sets it)");
            return None;
        };
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{driver_bin} does not start: {e}"));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on port {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let binary = std::env::var("TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--no-first-run", "--disable-extensions"]
            }
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_string();
        Some(Browser {
            http,
            session: format!("{base}/session/{session}"),
            driver,
            name: name.to_string(),
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let answer: Value = req.send().await.unwrap().json().await.unwrap();
        if answer["value"].get("error").is_some() {
            self.fail(&format!("WebDriver {path}: {}", answer["value"])).await;
        }
        answer["value"].clone()
    }

    /// Saves a screenshot and panics with `why`.
    pub async fn fail(&self, why: &str) -> ! {
        let path = self.screenshot(&format!("failed-{}", self.name)).await;
        panic!("{why} (screenshot: {path})");
    }

    /// Saves the page as a PNG under `target/browser-screenshots/` (or `TEST_SCREENSHOT_DIR`);
    /// answers its path.
    pub async fn screenshot(&self, name: &str) -> String {
        let dir = std::env::var("TEST_SCREENSHOT_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/browser-screenshots").to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let answer: Value = self
            .http
            .get(format!("{}/screenshot", self.session))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(answer["value"].as_str().unwrap_or(""))
            .unwrap_or_default();
        let path = format!("{dir}/{name}.png");
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs a script in the page; answers what it returns.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits until `condition` (a script expression) is true, for at most 15 s.
    pub async fn wait(&self, what: &str, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.eval(&format!("return Boolean({condition});"), json!([])).await == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!("waited in vain for {what}: {condition}")).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({})))
            .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/clear"), Some(json!({})))
            .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Presses keys in order and releases them in reverse (`[CONTROL, "s"]` is Ctrl+S).
    pub async fn chord(&self, keys: &[&str]) {
        let mut actions: Vec<Value> = keys.iter().map(|k| json!({"type": "keyDown", "value": k})).collect();
        actions.extend(keys.iter().rev().map(|k| json!({"type": "keyUp", "value": k})));
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
        self.call(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// A mouse drag between two points of the viewport, in `steps` moves.
    pub async fn drag(&self, from: (f64, f64), to: (f64, f64), steps: usize) {
        let mut actions = vec![
            json!({"type": "pointerMove", "duration": 0, "origin": "viewport", "x": from.0.round() as i64, "y": from.1.round() as i64}),
            json!({"type": "pointerDown", "button": 0}),
        ];
        for i in 1..=steps {
            let f = i as f64 / steps as f64;
            let x = from.0 + (to.0 - from.0) * f;
            let y = from.1 + (to.1 - from.1) * f;
            actions.push(json!({"type": "pointerMove", "duration": 10, "origin": "viewport", "x": x.round() as i64, "y": y.round() as i64}));
        }
        actions.push(json!({"type": "pointerUp", "button": 0}));
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]})),
        )
        .await;
        self.call(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Cuts the browser off the network, or puts it back (Chromium's network emulation).
    pub async fn offline(&self, offline: bool) {
        self.call(
            reqwest::Method::POST,
            "/chromium/network_conditions",
            Some(json!({"network_conditions": {"offline": offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1}})),
        )
        .await;
    }

    /// Opens a new tab and switches to it; answers its handle.
    pub async fn new_tab(&self) -> String {
        let v = self
            .call(reqwest::Method::POST, "/window/new", Some(json!({"type": "tab"})))
            .await;
        let handle = v["handle"].as_str().unwrap().to_string();
        self.switch_to(&handle).await;
        handle
    }

    pub async fn tab(&self) -> String {
        self.call(reqwest::Method::GET, "/window", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn switch_to(&self, handle: &str) {
        self.call(reqwest::Method::POST, "/window", Some(json!({ "handle": handle })))
            .await;
    }
}
