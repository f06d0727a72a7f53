//! `serve` with its sample files in an S3-compatible service (the server `TEST_S3_ENDPOINT`
//! names; skipped without it): the settings from flags and environment, the bucket checked at
//! start, sample bytes written to and read from `BUCKET/blobs/<sha256>`, nothing under
//! DATA_DIR/blobs, and no secret in the logs. Bad combinations fail at start, naming the setting.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{json, Value};
use teamlabel_client::{Auth, Client, Method};
use teamlabel_core::blobs::sha256_hex;
use teamlabel_core::objects::{ObjectPath, ObjectStore};
use teamlabel_store::objects::S3ObjectStore;

use crate::helpers::BIN;

#[path = "../../../store/tests/conformance/common/s3_bucket.rs"]
mod s3_bucket;

const SECRET: &str = "do-not-print-this-secret";

#[test]
fn bad_object_settings_fail_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--objects", "s3", "--s3-blob-bucket", "b-1"], "--s3-endpoint"),
        (
            &["--objects", "s3", "--s3-endpoint", "http://127.0.0.1:9"],
            "--s3-blob-bucket",
        ),
        (&["--s3-endpoint", "http://127.0.0.1:9"], "--objects s3"),
    ];
    for (args, needle) in cases {
        let out = Command::new(BIN)
            .arg("serve")
            .args(args)
            .args(["--data-dir", dir.path().to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .env("TEAMLABEL_S3_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_ACCESS_KEY_ID", "ak")
            .env_remove("TEAMLABEL_OBJECTS")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains(SECRET), "{stderr}");
    }
    let help = Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for needle in [
        "--objects",
        "TEAMLABEL_OBJECTS",
        "--objects-root",
        "--s3-endpoint",
        "--s3-region",
        "--s3-access-key-id",
        "TEAMLABEL_S3_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "--s3-blob-bucket",
    ] {
        assert!(help.contains(needle), "serve --help lacks {needle}");
    }
    // A config file's [objects] section is read, and its unknown keys refused.
    let cfg = dir.path().join("teamlabel.toml");
    std::fs::write(
        &cfg,
        "[objects]\nbackend = \"s3\"\nendpoint = \"http://127.0.0.1:9\"\nbukket = \"x\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bukket"));
}

#[test]
fn sample_files_go_to_the_s3_bucket_and_come_back() {
    let Some(config) = s3_bucket::s3_config() else {
        eprintln!("skipping S3: TEST_S3_ENDPOINT is not set");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bucket = format!("cli-{}", &teamlabel_core::ids::new_hex32()[..16]);
    rt.block_on(s3_bucket::create_bucket(&config, &bucket));
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--objects", "s3", "--s3-endpoint", &config.endpoint])
        .args(["--s3-blob-bucket", &bucket, "--s3-blob-prefix", "samples/"])
        .args(["--data-dir", dir.path().to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("TEAMLABEL_S3_ACCESS_KEY_ID", &config.access_key_id)
        .env("TEAMLABEL_S3_SECRET_ACCESS_KEY", &config.secret_access_key)
        .env_remove("TEAMLABEL_OBJECTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let base = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_string));
    let Some(base) = base else {
        let _ = child.kill();
        panic!("serve did not start: {}", logs.join().unwrap());
    };
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("initial-credentials.json")).unwrap()).unwrap();
    let owner = Client::new(
        &base,
        creds["project_id"].as_str().unwrap(),
        Auth::Token(creds["token"].as_str().unwrap().to_string()),
    );
    let bytes = b"sample bytes kept in S3\n".repeat(100);
    let sha = sha256_hex(&bytes);
    let objects = S3ObjectStore::new(config.clone()).unwrap();
    let stored = ObjectPath::new(&bucket, &format!("samples/{sha}")).unwrap();
    rt.block_on(async {
        let created: Value = owner
            .request(Method::POST, "/datasets")
            .json(&json!({"dataset_name": "s3", "dataset_type": 0, "labels": [{"name": "cat"}]}))
            .send()
            .await
            .unwrap()
            .json()
            .unwrap();
        let dataset = created["dataset_id"].as_str().unwrap().to_string();
        let body =
            json!({"samples": [{"name": "a.txt", "data": base64::engine::general_purpose::STANDARD.encode(&bytes)}]});
        let added: Value = owner.add_samples(&dataset, &body).await.unwrap();
        assert_eq!(added["results"][0]["success"], true, "{added}");
        let sample = added["results"][0]["sample_id"].as_str().unwrap().to_string();
        let head = objects.head(&stored).await.unwrap();
        assert_eq!(
            head.map(|m| m.size),
            Some(bytes.len() as u64),
            "the bytes are in the bucket"
        );
        let file = owner
            .request(
                Method::GET,
                &format!("/datasets/{dataset}/data-annotations/samples/{sample}/file"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(file.status, 200);
        assert_eq!(file.bytes.to_vec(), bytes);
        // Deleting the sample removes its bytes from the bucket.
        let deleted = owner
            .request(
                Method::POST,
                &format!("/datasets/{dataset}/data-annotations/samples/delete"),
            )
            .json(&json!({"samples": [sample], "delete_source": true}))
            .send()
            .await
            .unwrap();
        assert!(deleted.is_success(), "{}", deleted.status);
        assert_eq!(objects.head(&stored).await.unwrap(), None);
    });
    assert!(!dir.path().join("blobs").exists(), "nothing under DATA_DIR/blobs");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let logs = logs.join().unwrap();
    assert!(logs.contains(&config.endpoint) && logs.contains(&bucket), "{logs}");
    assert!(!logs.contains(&config.secret_access_key), "{logs}");
}
