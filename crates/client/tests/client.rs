//! The client against the real server, started in-process on 127.0.0.1:0 with a SQLite store in
//! a temporary directory (and a PostgreSQL schema of its own as well when `TEST_DATABASE_URL`
//! is set): a small team flow driven with a token and with AK/SK keys, permanent and temporary,
//! an import and an export with the export's zip read in chunks, and API errors decoded into
//! `ClientError::Http`.

use std::sync::Arc;

use serde_json::{json, Value};
use teamlabel_client::{Auth, Client, ClientError, Method, UpdateOptions};
use teamlabel_core::{App, Limits};
use teamlabel_server::ServerState;
use teamlabel_store::objects::LocalObjectStore;
use teamlabel_store::{FsBlobStore, PgStore, SqliteStore};
use tokio::sync::oneshot;

struct Server {
    backend: &'static str,
    base: String,
    project_id: String,
    owner_token: String,
    app: App,
    dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

impl Server {
    fn client(&self, auth: Auth) -> Client {
        Client::new(&self.base, &self.project_id, auth)
    }
}

async fn servers() -> Vec<Server> {
    let mut all = vec![spawn("sqlite").await];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        all.push(spawn("postgres").await);
    }
    all
}

async fn spawn(backend: &'static str) -> Server {
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
    let objects = Arc::new(LocalObjectStore::new(dir.path().join("buckets")).unwrap());
    let app = App::new(store, blobs, Limits::default()).with_objects(objects);
    let (project, _, owner_token, _) = app.create_project("test", "owner@example.com", 24).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let state = ServerState {
        app: app.clone(),
        public_url: None,
    };
    tokio::spawn(teamlabel_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Server {
        backend,
        base,
        project_id: project.id,
        owner_token,
        app,
        dir,
        _stop: stop,
    }
}

/// A dataset of four samples, a team of one labeler (ann) and a started task over it; answers
/// the dataset, the task and ann's worker id.
async fn team_flow(owner: &Client) -> (String, String, String) {
    let ds: Value = owner
        .create_dataset(&json!({
            "dataset_name": "cats", "dataset_type": 900,
            "labels": [{"name": "cat", "type": 0}, {"name": "dog", "type": 0}]
        }))
        .await
        .unwrap();
    let dataset = ds["dataset_id"].as_str().unwrap().to_string();
    let samples: Vec<Value> = (0..4)
        .map(|i| json!({"source": format!("http://example.com/{i}.jpg"), "sample_type": 0}))
        .collect();
    let added: Value = owner
        .add_samples(&dataset, &json!({ "samples": samples }))
        .await
        .unwrap();
    assert_eq!(added["success"], true, "{added}");
    let listed: Value = owner
        .list_samples(&dataset, &[("limit", "10"), ("offset", "0")])
        .await
        .unwrap();
    assert_eq!(listed["sample_count"], 4, "{listed}");

    let team: Value = owner
        .create_workforce(&json!({"workforce_name": "team"}))
        .await
        .unwrap();
    let team = team["workforce_id"].as_str().unwrap().to_string();
    let _: Value = owner
        .add_workers(&team, &json!({"emails": "ann@example.com", "role": 0}))
        .await
        .unwrap();
    let members: Value = owner.list_workers(&team, &()).await.unwrap();
    let worker = members["workers"][0]["worker_id"].as_str().unwrap().to_string();
    let task: Value = owner
        .create_task(
            &dataset,
            &json!({
                "task_name": "round1", "repetition": 1,
                "workforces_config": {"workforces": [{"workforce_id": team, "workers": [{"email": "ann@example.com"}]}]}
            }),
        )
        .await
        .unwrap();
    let task = task["task_id"].as_str().unwrap().to_string();
    let _: Value = owner.start_task(&dataset, &task, &json!({})).await.unwrap();
    (dataset, task, worker)
}

/// Labels every sample ann sees with `class` through `labeler`, and reads one back.
async fn label_all(labeler: &Client, dataset: &str, task: &str, class: &str, options: &UpdateOptions) -> Value {
    let mine: Value = labeler
        .list_team_samples(dataset, task, &[("limit", "100")])
        .await
        .unwrap();
    let ids: Vec<&str> = mine["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sample_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "{mine}");
    let items: Vec<Value> = ids
        .iter()
        .map(|id| json!({"sample_id": id, "labels": [{"name": class, "type": 0}]}))
        .collect();
    let answer: Value = labeler
        .update_team_samples(dataset, task, &json!({ "samples": items }), options)
        .await
        .unwrap();
    assert_eq!(answer["success"], true, "{answer}");
    let back: Value = labeler.get_team_sample(dataset, task, ids[0], &()).await.unwrap();
    assert_eq!(back["labels"][0]["name"], class, "{back}");
    answer
}

#[tokio::test]
async fn a_team_flow_runs_with_a_password_token() {
    for s in servers().await {
        s.app
            .set_password(&s.project_id, "owner@example.com", "correct horse")
            .await
            .unwrap();
        let anonymous = s.client(Auth::None);
        let issued = anonymous
            .password_token::<_, Value>(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": "owner@example.com", "password": "correct horse"}}},
                "scope": {"project": {"id": s.project_id}},
            }}))
            .await
            .unwrap();
        assert_eq!(
            issued.body["token"]["project"]["id"],
            s.project_id.as_str(),
            "{}",
            s.backend
        );
        let owner = s.client(Auth::Token(issued.token));
        let (dataset, task, _) = team_flow(&owner).await;

        let (ann, _) = s.app.create_token(&s.project_id, "ann@example.com", 24).await.unwrap();
        let ann = owner.with_auth(Auth::Token(ann));
        let options = UpdateOptions {
            atomic: false,
            idempotency_key: Some("round-1".into()),
        };
        let first = label_all(&ann, &dataset, &task, "cat", &options).await;
        // A retry with the same key and body answers the first response.
        let mine: Value = ann
            .list_team_samples(&dataset, &task, &[("limit", "100")])
            .await
            .unwrap();
        let items: Vec<Value> = mine["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| json!({"sample_id": s["sample_id"], "labels": [{"name": "cat", "type": 0}]}))
            .collect();
        let again: Value = ann
            .update_team_samples(&dataset, &task, &json!({ "samples": items }), &options)
            .await
            .unwrap();
        assert_eq!(again, first, "{}", s.backend);

        // A wrong password and a missing dataset come back as decoded API errors.
        let wrong = anonymous
            .password_token::<_, Value>(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": "owner@example.com", "password": "wrong horse"}}},
                "scope": {"project": {"id": s.project_id}},
            }}))
            .await
            .unwrap_err();
        assert_eq!(wrong.status(), Some(401), "{}: {wrong}", s.backend);
        let missing = owner
            .get_task::<Value>("0123456789abcdef0123456789abcdef", &task)
            .await
            .unwrap_err();
        match missing {
            ClientError::Http {
                status,
                error_code,
                error_msg,
            } => {
                assert_eq!((status, error_code.as_str()), (404, "ModelArts.4352"), "{}", s.backend);
                assert!(!error_msg.is_empty());
            }
            other => panic!("{}: {other:?}", s.backend),
        }
    }
}

#[tokio::test]
async fn a_labeler_signs_with_permanent_and_temporary_access_keys() {
    for s in servers().await {
        let owner = s.client(Auth::Token(s.owner_token.clone()));
        let (dataset, task, _) = team_flow(&owner).await;
        let pair: Value = owner
            .create_credential(&json!({"credential": {"email": "ann@example.com"}}))
            .await
            .unwrap();
        let (ak, sk) = (
            pair["credential"]["access"].as_str().unwrap().to_string(),
            pair["credential"]["secret"].as_str().unwrap().to_string(),
        );
        let ann = owner.with_auth(Auth::AkSk {
            ak: ak.clone(),
            sk: sk.clone(),
            security_token: None,
        });
        let atomic = UpdateOptions {
            atomic: true,
            idempotency_key: None,
        };
        label_all(&ann, &dataset, &task, "dog", &atomic).await;

        // An all-or-nothing batch with a bad item is a 400 carrying the item's error.
        let bad = json!({"samples": [{"sample_id": "0123456789abcdef0123456789abcdef", "labels": [{"name": "cat", "type": 0}]}]});
        let e = ann
            .update_team_samples::<_, Value>(&dataset, &task, &bad, &atomic)
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(400), "{}: {e}", s.backend);
        assert!(e.code().unwrap().starts_with("ModelArts."), "{}: {e}", s.backend);
        let raw = ann
            .request(
                Method::PUT,
                &format!("/datasets/{dataset}/workforce-tasks/{task}/data-annotations/samples"),
            )
            .query(&[("atomic", "true")])
            .json(&bad)
            .send()
            .await
            .unwrap();
        let results: Value = raw.decode().unwrap();
        assert_eq!((raw.status, &results["success"]), (400, &json!(false)), "{results}");

        // A temporary pair, issued with ann's signature, signs with its security token.
        let temporary: Value = ann
            .create_security_token(
                &json!({"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}}}),
            )
            .await
            .unwrap();
        let c = &temporary["credential"];
        let ann_tmp = owner.with_auth(Auth::AkSk {
            ak: c["access"].as_str().unwrap().to_string(),
            sk: c["secret"].as_str().unwrap().to_string(),
            security_token: Some(c["securitytoken"].as_str().unwrap().to_string()),
        });
        label_all(&ann_tmp, &dataset, &task, "cat", &UpdateOptions::default()).await;

        // A wrong secret key is refused with the signature's own code.
        let forged = owner.with_auth(Auth::AkSk {
            ak,
            sk: format!("{sk}x"),
            security_token: None,
        });
        let e = forged
            .list_team_samples::<_, Value>(&dataset, &task, &())
            .await
            .unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (Some(401), Some("ModelArts.0206")),
            "{}: {e}",
            s.backend
        );
    }
}

#[tokio::test]
async fn send_reaches_any_endpoint_and_keeps_error_answers() {
    for s in servers().await {
        let owner = s.client(Auth::Token(s.owner_token.clone()));
        let res = owner
            .send(Method::GET, "/datasets", &[("limit", "1")], None::<&()>)
            .await
            .unwrap();
        assert_eq!(res.status, 200, "{}", s.backend);
        let none = s.client(Auth::None);
        let res = none.send(Method::GET, "/datasets", &(), None::<&()>).await.unwrap();
        assert_eq!(res.status, 401, "{}", s.backend);
        let e = res.json::<Value>().unwrap_err();
        assert_eq!(e.code(), Some("ModelArts.0201"), "{}: {e}", s.backend);
        let down = Client::new("http://127.0.0.1:1", &s.project_id, Auth::None);
        assert!(matches!(
            down.send(Method::GET, "/datasets", &(), None::<&()>).await,
            Err(ClientError::Transport(_))
        ));
    }
}

/// Reads a task until its status is one of `end`.
async fn settle(read: impl AsyncFn() -> Value, end: &[&str]) -> Value {
    for _ in 0..300 {
        let t = read().await;
        if end.iter().any(|e| t["status"] == *e) {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the task did not end");
}

#[tokio::test]
async fn import_and_export_tasks_run_and_the_zip_streams_in_chunks() {
    for s in servers().await {
        let owner = s.client(Auth::Token(s.owner_token.clone()));
        let ds: Value = owner
            .create_dataset(&json!({"dataset_name": "io", "dataset_type": 0, "labels": [{"name": "cat"}]}))
            .await
            .unwrap();
        let d = ds["dataset_id"].as_str().unwrap().to_string();
        let bucket = s.dir.path().join("buckets/in-bkt");
        std::fs::create_dir_all(&bucket).unwrap();
        std::fs::write(
            bucket.join("a.manifest"),
            r#"{"source":"obs://in-bkt/1.jpg","annotation":[{"type":"modelarts/image_classification","name":"cat"}]}"#,
        )
        .unwrap();
        std::fs::create_dir_all(s.dir.path().join("buckets/out-bkt")).unwrap();

        let created: Value = owner
            .create_import_task(
                &d,
                &json!({"import_path": "/in-bkt/a.manifest", "import_type": "manifest"}),
            )
            .await
            .unwrap();
        let task = created["task_id"].as_str().unwrap().to_string();
        let done = settle(
            async || owner.get_import_task::<Value>(&d, &task).await.unwrap(),
            &["COMPLETED", "FAILED"],
        )
        .await;
        assert_eq!(
            (done["status"].as_str(), done["imported_sample_count"].as_u64()),
            (Some("COMPLETED"), Some(1)),
            "{}: {done}",
            s.backend
        );

        let created: Value = owner
            .create_export_task(&d, &json!({"path": "/out-bkt/m/", "annotation_format": "MANIFEST"}))
            .await
            .unwrap();
        let task = created["task_id"].as_str().unwrap().to_string();
        let done = settle(
            async || owner.get_export_task::<Value>(&d, &task).await.unwrap(),
            &["SUCCESSED", "FAILED"],
        )
        .await;
        assert_eq!(done["status"], "SUCCESSED", "{}: {done}", s.backend);
        let mut zip = owner.download_export_task(&d, &task).await.unwrap();
        assert_eq!(zip.status(), 200);
        let mut bytes = Vec::new();
        while let Some(chunk) = zip.chunk().await.unwrap() {
            bytes.extend_from_slice(&chunk);
        }
        assert!(bytes.starts_with(b"PK\x03\x04"), "{}: a zip", s.backend);

        let e = owner.download_export_task(&d, "0000000000000000000").await.unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (Some(404), Some("ModelArts.4359")),
            "{}: {e}",
            s.backend
        );
    }
}
