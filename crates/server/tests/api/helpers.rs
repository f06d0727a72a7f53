//! The API test harness: each test starts the real server on 127.0.0.1:0 with a fresh database
//! (SQLite in a temporary directory always; PostgreSQL in a schema of its own as well when
//! `TEST_DATABASE_URL` is set) and talks HTTP to it through `teamlabel-client`.

use std::sync::Arc;

use serde_json::{json, Value};
use teamlabel_client::{Auth, Client, HeaderMap, Method, Response};
use teamlabel_core::webhooks::WebhookSettings;
use teamlabel_core::{App, Limits};
use teamlabel_server::ServerState;
use teamlabel_store::objects::LocalObjectStore;
use teamlabel_store::{FsBlobStore, PgStore, SqliteStore};
use tokio::sync::oneshot;

/// The ModelArts error codes the tests expect, by name.
pub mod codes {
    pub const INVALID: &str = "ModelArts.0101";
    pub const NOT_AUTHORIZED: &str = "ModelArts.0108";
    pub const TOKEN_MISSING: &str = "ModelArts.0201";
    pub const TOKEN_INVALID: &str = "ModelArts.0203";
    pub const INVALID_PROJECT: &str = "ModelArts.0210";
    pub const BODY_TOO_LARGE: &str = "ModelArts.4104";
    pub const BAD_JSON: &str = "ModelArts.4105";
    pub const EMPTY_REQUEST: &str = "ModelArts.4202";
    pub const NO_SUCH_API: &str = "ModelArts.4204";
    pub const SUBDIRECTORY_REQUIRED: &str = "ModelArts.4205";
    pub const INVALID_PATH: &str = "ModelArts.4313";
    pub const DATASET_EXISTS: &str = "ModelArts.4351";
    pub const DATASET_NOT_FOUND: &str = "ModelArts.4352";
    pub const VERSION_NOT_FOUND: &str = "ModelArts.4353";
    pub const LABELS_NOT_SET: &str = "ModelArts.4365";
    pub const UNSUPPORTED_OPERATION: &str = "ModelArts.4383";
    pub const LABEL_NOT_FOUND: &str = "ModelArts.4410";
    pub const LABEL_EXISTS: &str = "ModelArts.4411";
    pub const SHORTCUT_EXISTS: &str = "ModelArts.4412";
    pub const LABEL_RULE: &str = "ModelArts.4413";
    pub const TRIPLET_ENTITY_MISSING: &str = "ModelArts.4414";
    pub const ENTITY_IN_USE: &str = "ModelArts.4415";
    pub const NOT_APPLIED: &str = "ModelArts.4417";
    pub const SAMPLE_NOT_FOUND: &str = "ModelArts.4420";
    pub const UPLOAD_FAILED: &str = "ModelArts.4421";
    pub const SAMPLE_EXISTS: &str = "ModelArts.4422";
    pub const SIZE_UNKNOWN: &str = "ModelArts.4423";
    pub const FORBIDDEN: &str = "ModelArts.4600";
    pub const WORKFORCE_NOT_FOUND: &str = "ModelArts.4601";
    pub const WORKFORCE_EXISTS: &str = "ModelArts.4602";
    pub const WORKER_NOT_FOUND: &str = "ModelArts.4604";
    pub const WORKER_EXISTS: &str = "ModelArts.4605";
    pub const ONE_MANAGER: &str = "ModelArts.4617";
    pub const DELETE_YOURSELF: &str = "ModelArts.4618";
    pub const TASK_NOT_FOUND: &str = "ModelArts.4619";
    pub const TASK_EXISTS: &str = "ModelArts.4620";
    pub const TASK_START_FAILED: &str = "ModelArts.4621";
    pub const WORKER_HAS_TASK: &str = "ModelArts.4628";
    pub const VERSION_CONFLICT: &str = "ModelArts.4690";
    pub const MEMBER_CREATES_TASK: &str = "ModelArts.4804";
    pub const TOO_FEW_LABELERS: &str = "ModelArts.4822";
    pub const WEBHOOK_NOT_FOUND: &str = "ModelArts.4698";
    pub const WEBHOOK_LIMIT: &str = "ModelArts.4699";
    pub const DELIVERY_NOT_FOUND: &str = "ModelArts.4700";
}

pub struct TestApp {
    /// `sqlite` or `postgres`, for assertion messages.
    pub backend: &'static str,
    /// A bucket of this server's object store for the tests' files (`exp-bkt` on the local
    /// store, which makes buckets as folders on first write; a fresh one on S3).
    pub bucket: String,
    pub addr: String,
    pub project_id: String,
    pub token: String,
    pub app: App,
    /// The typed client of this server and project, without credentials; every request of
    /// the tests goes through it (see [`TestApp::client_as`]).
    pub client: Client,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

impl TestApp {
    /// Where the local object store keeps a storage path (`/bucket/key`) on disk.
    pub fn local_object(&self, path: &str) -> std::path::PathBuf {
        self._dir.path().join("buckets").join(path.trim_start_matches('/'))
    }
}

/// One running server per backend under test.
pub async fn spawn_all() -> Vec<TestApp> {
    let mut apps = vec![spawn("sqlite").await];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        apps.push(spawn("postgres").await);
    }
    apps
}

pub async fn spawn(backend: &'static str) -> TestApp {
    spawn_router(backend, teamlabel_server::router).await
}

/// One server per backend on the local object store, and one on SQLite with its objects in
/// the S3-compatible server of `TEST_S3_ENDPOINT` when that is set (`scripts/test` starts
/// one), whose [`TestApp::bucket`] is a fresh bucket of its own.
pub async fn spawn_all_stores() -> Vec<TestApp> {
    let mut apps = spawn_all().await;
    match crate::s3_bucket::s3_config() {
        Some(config) => {
            let bucket = format!("exp-{}", &teamlabel_core::ids::new_hex32()[..12]);
            crate::s3_bucket::create_bucket(&config, &bucket).await;
            let objects = Arc::new(teamlabel_store::objects::S3ObjectStore::new(config).unwrap());
            let mut t = spawn_on("sqlite+s3", "sqlite", Some(objects), teamlabel_server::router, None).await;
            t.bucket = bucket;
            apps.push(t);
        }
        None => eprintln!("skipping S3: TEST_S3_ENDPOINT is not set"),
    }
    apps
}

/// As [`spawn`], serving the router `route` makes of the server's state (e.g. the API with
/// `GET /metrics` beside it).
pub async fn spawn_router(backend: &'static str, route: impl FnOnce(ServerState) -> axum::Router) -> TestApp {
    spawn_on(backend, backend, None, route, None).await
}

/// One server per backend with webhook deliveries made as `settings` say, by a dispatcher
/// running beside it (over HTTP, as `teamlabel serve` runs it).
pub async fn spawn_all_webhooks(settings: WebhookSettings) -> Vec<TestApp> {
    let mut apps = vec![
        spawn_on(
            "sqlite",
            "sqlite",
            None,
            teamlabel_server::router,
            Some(settings.clone()),
        )
        .await,
    ];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        apps.push(spawn_on("postgres", "postgres", None, teamlabel_server::router, Some(settings)).await);
    }
    apps
}

async fn spawn_on(
    name: &'static str,
    backend: &'static str,
    objects: Option<Arc<dyn teamlabel_core::objects::ObjectStore>>,
    route: impl FnOnce(ServerState) -> axum::Router,
    webhooks: Option<WebhookSettings>,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn teamlabel_core::store::Store> = match backend {
        "sqlite" => Arc::new(SqliteStore::open(&dir.path().join("teamlabel.db")).unwrap()),
        _ => {
            let url = std::env::var("TEST_DATABASE_URL").unwrap();
            let schema = format!("api_{}", teamlabel_core::ids::new_hex32());
            Arc::new(PgStore::connect_fresh_schema(&url, &schema).await.unwrap())
        }
    };
    let blobs = Arc::new(FsBlobStore::new(dir.path().join("blobs")).unwrap());
    let objects = objects.unwrap_or_else(|| Arc::new(LocalObjectStore::new(dir.path().join("buckets")).unwrap()));
    let mut app = App::new(store, blobs, Limits::default()).with_objects(objects);
    if let Some(settings) = webhooks {
        let transport = Arc::new(teamlabel_store::webhooks::HttpTransport::new(&settings).unwrap());
        app = app.with_webhooks(settings);
        let dispatcher = app.clone();
        // Ends with the test's runtime.
        tokio::spawn(async move {
            dispatcher
                .run_webhook_dispatcher(transport, std::future::pending())
                .await
        });
    }
    let (project, _, token, _) = app.create_project("test", "owner@example.com", 24).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    let state = ServerState {
        app: app.clone(),
        public_url: None,
    };
    tokio::spawn(teamlabel_server::serve_router(listener, route(state), async move {
        let _ = stopped.await;
    }));
    TestApp {
        backend: name,
        bucket: "exp-bkt".into(),
        client: Client::new(format!("http://{addr}"), &project.id, Auth::None),
        addr,
        project_id: project.id,
        token,
        app,
        _dir: dir,
        _stop: stop,
    }
}

/// An HTTP answer: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or("")
    }

    pub fn msg(&self) -> &str {
        self.body["error_msg"].as_str().unwrap_or("")
    }
}

impl From<Response> for Answer {
    fn from(r: Response) -> Answer {
        Answer {
            status: r.status,
            body: serde_json::from_slice(&r.bytes).unwrap_or(Value::Null),
            headers: r.headers,
            bytes: r.bytes.to_vec(),
        }
    }
}

impl TestApp {
    /// The request target of `path` below `/v2/{project_id}`.
    pub fn path(&self, path: &str) -> String {
        format!("/v2/{}{}", self.project_id, path)
    }

    /// The client of this server acting with `token`, or without credentials.
    pub fn client_as(&self, token: Option<&str>) -> Client {
        self.client
            .with_auth(token.map_or(Auth::None, |t| Auth::Token(t.to_string())))
    }

    /// Sends `method` to `target` (a path from the server's root, with its query string if
    /// any, sent as written) as the holder of `token`; a body is sent as JSON text, byte for
    /// byte as given.
    pub async fn send(&self, method: Method, target: &str, token: Option<&str>, body: Option<Vec<u8>>) -> Answer {
        let client = self.client_as(token);
        let mut req = client.request_root(method, target);
        if let Some(b) = body {
            req = req.json_bytes(b);
        }
        req.send().await.unwrap().into()
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, &self.path(path), Some(&self.token), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(
            Method::POST,
            &self.path(path),
            Some(&self.token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(
            Method::PUT,
            &self.path(path),
            Some(&self.token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, &self.path(path), Some(&self.token), None)
            .await
    }

    /// Creates a dataset and answers its id.
    pub async fn dataset(&self, name: &str, dataset_type: i32, labels: Value) -> String {
        let a = self
            .post(
                "/datasets",
                json!({"dataset_name": name, "dataset_type": dataset_type, "labels": labels}),
            )
            .await;
        assert_eq!(a.status, 201, "{}: {:?}", self.backend, a.body);
        a.body["dataset_id"].as_str().unwrap().to_string()
    }

    /// Adds samples and answers their ids (every item must succeed).
    pub async fn samples(&self, dataset_id: &str, samples: Value) -> Vec<String> {
        let a = self
            .post(
                &format!("/datasets/{dataset_id}/data-annotations/samples"),
                json!({"samples": samples}),
            )
            .await;
        assert_eq!(a.status, 200, "{}: {:?}", self.backend, a.body);
        assert_eq!(a.body["success"], true, "{}: {:?}", self.backend, a.body);
        a.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["sample_id"].as_str().unwrap().to_string())
            .collect()
    }

    /// A second project with its own owner token.
    pub async fn other_project(&self) -> (String, String) {
        let (p, _, token, _) = self.app.create_project("other", "other@example.com", 24).await.unwrap();
        (p.id, token)
    }
}

/// The `field` of every item of the list under `key`.
pub fn names(v: &Value, key: &str, field: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap().to_string())
        .collect()
}

/// The first place where two JSON documents differ, as `path: before -> after`.
pub fn difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let null = Value::Null;
                let (u, v) = (x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null));
                difference(u, v, &format!("{at}.{k}"))
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| difference(u, v, &format!("{at}[{i}]"))),
        (Value::Array(x), Value::Array(y)) => Some(format!("{at}: {} items -> {} items: {b}", x.len(), y.len())),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} -> {b}")),
    }
}

/// A tiny valid PNG of the given size, base64.
pub fn png_b64(w: u32, h: u32) -> String {
    png_with(w, h, |_, _| [0, 0, 0])
}

/// A `w` x `h` RGB PNG, base64, each pixel as `pixel(x, y)` paints it.
pub fn png_with(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> String {
    use base64::Engine;
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0u8);
        for x in 0..w {
            raw.extend(pixel(x, y));
        }
    }
    fn chunk(out: &mut Vec<u8>, t: &[u8], d: &[u8]) {
        out.extend((d.len() as u32).to_be_bytes());
        let mut c = t.to_vec();
        c.extend(d);
        out.extend(&c);
        out.extend(crc32(&c).to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    base64::engine::general_purpose::STANDARD.encode(png)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// zlib with stored (uncompressed) blocks: enough for a valid PNG.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i == chunks.len() - 1));
        out.extend((c.len() as u16).to_le_bytes());
        out.extend((!(c.len() as u16)).to_le_bytes());
        out.extend(*c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

/// `base` with the keys of `extra` set (a `null` removes the key).
pub fn with(base: &Value, extra: Value) -> Value {
    let mut out = base.clone();
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            out.as_object_mut().unwrap().remove(k);
        } else {
            out[k] = v.clone();
        }
    }
    out
}

/// A JSON value as a request body.
pub fn bytes(v: Value) -> Option<Vec<u8>> {
    Some(v.to_string().into_bytes())
}

/// Checks a plain error answer: status, code, message fragment, and the two-key error body.
pub fn check_refused(a: &Answer, status: u16, code: &str, fragment: &str) -> Result<(), String> {
    let keys: Vec<&String> = a.body.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    if a.status != status || a.code() != code || !a.msg().contains(fragment) {
        Err(format!(
            "expected {status} {code} with a message containing {fragment:?}, got {} {}",
            a.status, a.body
        ))
    } else if keys != ["error_code", "error_msg"] {
        Err(format!(
            "the error body is not exactly {{error_code, error_msg}}: {}",
            a.body
        ))
    } else {
        Ok(())
    }
}

/// As `check_refused`, and the message must begin with `prefix` (the JSON path it names).
pub fn check_refused_at(a: &Answer, status: u16, code: &str, prefix: &str) -> Result<(), String> {
    check_refused(a, status, code, prefix)?;
    if a.msg().starts_with(prefix) {
        Ok(())
    } else {
        Err(format!("the message should begin with {prefix:?}: {:?}", a.msg()))
    }
}

/// Asserts an answer's status; answers its body.
#[track_caller]
pub fn expect(t: &TestApp, what: &str, a: &Answer, status: u16) -> Value {
    assert_eq!(a.status, status, "{} {what}: {}", t.backend, a.body);
    a.body.clone()
}

pub async fn token(t: &TestApp, email: &str) -> String {
    t.app.create_token(&t.project_id, email, 24).await.unwrap().0
}

/// Adds a member and answers their worker id.
pub async fn add_member(t: &TestApp, team: &str, email: &str, role: i32) -> String {
    let members = format!("/workforces/{team}/workers");
    let a = t.post(&members, json!({"emails": email, "role": role})).await;
    expect(t, &format!("add {email}"), &a, 201);
    let list = expect(t, "list members", &t.get(&format!("{members}?limit=100")).await, 200);
    list["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["email"] == email)
        .and_then(|w| w["worker_id"].as_str())
        .unwrap_or_else(|| panic!("{}: no member {email}: {list}", t.backend))
        .to_string()
}

/// `path` below `/v2/{project_id}` as the holder of `token`.
pub async fn call(t: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Answer {
    t.send(
        method,
        &t.path(path),
        Some(token),
        body.map(|b| b.to_string().into_bytes()),
    )
    .await
}
