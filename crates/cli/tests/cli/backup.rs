//! `teamlabel backup` and `restore`: a backup taken while writers keep a SQLite server busy holds
//! every write acknowledged before it started (labels and sample bytes, read back through the
//! API of a server started on the restored dir), and the restored database passes
//! `PRAGMA integrity_check`. Refusals: a non-empty target, a damaged archive (a flipped byte, in
//! the database, in a blob, in a compressed archive), a referenced blob missing from the live
//! store, a data dir configured for PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use teamlabel_client::{Auth, Client, Method};

use crate::helpers::{serve, stop, Server, BIN};

fn teamlabel(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn succeeds(args: &[&str]) -> Value {
    let out = teamlabel(args);
    assert!(
        out.status.success(),
        "teamlabel {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a command that must fail; answers its error message.
fn fails(args: &[&str]) -> String {
    let out = teamlabel(args);
    assert!(!out.status.success(), "teamlabel {args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The owner's client of a server whose first start wrote `dir/initial-credentials.json`, and
/// those credentials.
fn owner(s: &Server, dir: &Path) -> (Client, Value) {
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("initial-credentials.json")).unwrap()).unwrap();
    let client = Client::new(
        &s.base,
        creds["project_id"].as_str().unwrap(),
        Auth::Token(creds["token"].as_str().unwrap().to_string()),
    );
    (client, creds)
}

/// Bytes of a sample no other sample has, a few KiB.
fn sample_bytes(writer: usize, n: usize) -> Vec<u8> {
    let line = format!("writer {writer} sample {n}\n");
    line.repeat(200 + (n * 37 + writer * 11) % 300).into_bytes()
}

async fn add_sample(c: &Client, dataset: &str, name: &str, bytes: &[u8]) -> Option<String> {
    let body = json!({"samples": [{"name": name, "data": base64::engine::general_purpose::STANDARD.encode(bytes)}]});
    let answer: Value = c.add_samples(dataset, &body).await.ok()?;
    assert_eq!(answer["results"][0]["success"], true, "{answer}");
    answer["results"][0]["sample_id"].as_str().map(str::to_string)
}

async fn label(c: &Client, dataset: &str, sample: &str, name: &str) -> bool {
    let res = c
        .request(Method::PUT, &format!("/datasets/{dataset}/data-annotations/samples"))
        .json(&json!({"samples": [{"sample_id": sample, "labels": [{"name": name}]}]}))
        .send()
        .await;
    match res {
        Ok(r) if r.is_success() => {
            let v: Value = r.json().unwrap();
            assert_eq!(v["success"], true, "{v}");
            true
        }
        _ => false,
    }
}

async fn file_of(c: &Client, dataset: &str, sample: &str) -> Vec<u8> {
    let res = c
        .request(
            Method::GET,
            &format!("/datasets/{dataset}/data-annotations/samples/{sample}/file"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status, 200, "the file of {sample}");
    res.bytes.to_vec()
}

async fn labels_of(c: &Client, dataset: &str, sample: &str) -> Vec<String> {
    let v: Value = c
        .request(
            Method::GET,
            &format!("/datasets/{dataset}/data-annotations/samples/{sample}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

/// An acknowledged write and when its answer came.
#[derive(Clone, Debug)]
enum Write {
    Sample { id: String, bytes: Vec<u8> },
    Label { id: String, name: String },
}

const WRITERS: usize = 2;

#[test]
fn a_backup_taken_under_load_restores_every_write_acknowledged_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let server = serve(&live, None, &[]);
    let rt = runtime();
    let (client, creds) = owner(&server, &live);
    let dataset: Value = rt
        .block_on(client.create_dataset(
            &json!({"dataset_name": "backup", "dataset_type": 0, "labels": [{"name": "cat"}, {"name": "dog"}]}),
        ))
        .unwrap();
    let dataset = dataset["dataset_id"].as_str().unwrap().to_string();

    // Writers add samples with bytes and label the sample they added before, until stopped;
    // each records what was acknowledged, and when.
    let acked: Arc<Mutex<Vec<(Instant, Write)>>> = Arc::default();
    let stopping = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (c, dataset, acked, stopping) = (client.clone(), dataset.clone(), acked.clone(), stopping.clone());
            rt.spawn(async move {
                let mut previous: Option<String> = None;
                let mut n = 0;
                while !stopping.load(Ordering::Relaxed) {
                    let bytes = sample_bytes(w, n);
                    let Some(id) = add_sample(&c, &dataset, &format!("w{w}-{n}.bin"), &bytes).await else {
                        break;
                    };
                    acked
                        .lock()
                        .unwrap()
                        .push((Instant::now(), Write::Sample { id: id.clone(), bytes }));
                    if let Some(prev) = previous.replace(id) {
                        let name = if n % 2 == 0 { "cat" } else { "dog" };
                        if !label(&c, &dataset, &prev, name).await {
                            break;
                        }
                        acked.lock().unwrap().push((
                            Instant::now(),
                            Write::Label {
                                id: prev,
                                name: name.into(),
                            },
                        ));
                    }
                    n += 1;
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1500));
    let archive = tmp.path().join("live.tar.gz");
    let backup_started = Instant::now();
    let made = succeeds(&[
        "backup",
        "--data-dir",
        live.to_str().unwrap(),
        "--out",
        archive.to_str().unwrap(),
    ]);
    let backup_ended = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    stopping.store(true, Ordering::Relaxed);
    for w in writers {
        rt.block_on(w).unwrap();
    }
    stop(server);

    let acked = acked.lock().unwrap().clone();
    let before: Vec<&Write> = acked
        .iter()
        .filter(|(at, _)| *at < backup_started)
        .map(|(_, w)| w)
        .collect();
    let after_end = acked.iter().filter(|(at, _)| *at > backup_ended).count();
    let during = acked.len() - before.len() - after_end;
    let labels_before = before.iter().filter(|w| matches!(w, Write::Label { .. })).count();
    println!(
        "{} writes acknowledged: {} before the backup ({labels_before} labels), {during} during it, {after_end} after it; \
         backup: {made}",
        acked.len(),
        before.len()
    );
    assert!(labels_before > 0, "labels were acknowledged before the backup");
    assert!(
        during > 0 && after_end > 0,
        "the writers kept writing through the backup"
    );
    assert_eq!(made["secret_key_included"], true);
    assert!(made["blobs"].as_u64().unwrap() >= (before.len() - labels_before) as u64);

    // Restore into a new directory and serve it.
    let restored = tmp.path().join("restored");
    let answer = succeeds(&[
        "restore",
        "--from",
        archive.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(answer["secret_key_restored"], true);
    assert_eq!(answer["created_at"], made["created_at"]);
    assert!(!restored.join("initial-credentials.json").exists());
    let server = serve(&restored, None, &[]);
    let c = Client::new(&server.base, client.project_id(), client.auth().clone());
    rt.block_on(async {
        for w in &before {
            match w {
                Write::Sample { id, bytes } => {
                    assert!(file_of(&c, &dataset, id).await == *bytes, "the bytes of {id}")
                }
                Write::Label { id, name } => {
                    assert_eq!(
                        labels_of(&c, &dataset, id).await,
                        vec![name.clone()],
                        "the labels of {id}"
                    )
                }
            }
        }
        // Samples written during the backup may or may not be there; those that are have their bytes.
        let mut present = Vec::new();
        for page in 0.. {
            let list: Value = c
                .list_samples(&dataset, &[("limit", "100".to_string()), ("offset", page.to_string())])
                .await
                .unwrap();
            let samples = list["samples"].as_array().unwrap();
            if samples.is_empty() {
                break;
            }
            present.extend(samples.iter().cloned());
        }
        assert!(present.len() >= before.len() - labels_before);
        assert_eq!(present.len() as u64, made["samples"].as_u64().unwrap());
        for s in &present {
            let id = s["sample_id"].as_str().unwrap();
            let known = acked.iter().find_map(|(_, w)| match w {
                Write::Sample { id: i, bytes } if i == id => Some(bytes),
                _ => None,
            });
            assert_eq!(Some(&file_of(&c, &dataset, id).await), known, "the bytes of {id}");
        }
        // The sealing key came along: the owner's AK/SK pair still signs requests.
        let signed = c.with_auth(Auth::AkSk {
            ak: creds["access_key"].as_str().unwrap().into(),
            sk: creds["secret_key"].as_str().unwrap().into(),
            security_token: None,
        });
        let datasets = signed.request(Method::GET, "/datasets").send().await.unwrap();
        assert_eq!(datasets.status, 200, "{:?}", datasets.error());
    });
    stop(server);

    let db = rusqlite::Connection::open(restored.join("teamlabel.db")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

/// A stopped server's data dir with one sample whose bytes are `bytes`; answers the dir.
fn data_dir_with_a_sample(root: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let dir = root.join("data");
    let server = serve(&dir, None, &[]);
    let rt = runtime();
    let (client, _) = owner(&server, &dir);
    rt.block_on(async {
        let d: Value = client
            .create_dataset(&json!({"dataset_name": "d", "dataset_type": 0, "labels": [{"name": "cat"}]}))
            .await
            .unwrap();
        add_sample(&client, d["dataset_id"].as_str().unwrap(), "one.bin", bytes)
            .await
            .unwrap();
    });
    stop(server);
    dir
}

/// The archive with one bit flipped at `offset` from the first occurrence of `marker`.
fn flipped(archive: &Path, marker: &[u8], offset: usize, name: &str) -> std::path::PathBuf {
    let mut bytes = std::fs::read(archive).unwrap();
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the marker is in the archive")
        + offset;
    bytes[at] ^= 0x10;
    let out = archive.with_file_name(name);
    std::fs::write(&out, bytes).unwrap();
    out
}

#[test]
fn restore_refuses_a_non_empty_directory_and_a_damaged_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let blob = b"a sample whose bytes are easy to find in the archive ".repeat(64);
    let data = data_dir_with_a_sample(tmp.path(), &blob);
    let archive = tmp.path().join("b.tar");
    let made = succeeds(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(made["blobs"], 1);
    // The archive is never overwritten.
    let again = fails(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        archive.to_str().unwrap(),
    ]);
    assert!(again.contains("exists already"), "{again}");

    // A directory holding anything is refused, and left as it was.
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let e = fails(&[
        "restore",
        "--from",
        archive.to_str().unwrap(),
        "--data-dir",
        busy.to_str().unwrap(),
    ]);
    assert!(e.contains("is not empty") && e.contains("notes.txt"), "{e}");
    let names: Vec<_> = std::fs::read_dir(&busy)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["notes.txt"]);

    // A flipped byte in the database or in a blob fails its checksum; nothing is restored.
    let target = tmp.path().join("target");
    for (name, marker) in [("db.tar", &b"SQLite format 3\0"[..]), ("blob.tar", &blob[..60])] {
        let bad = flipped(&archive, marker, 700, name);
        let e = fails(&[
            "restore",
            "--from",
            bad.to_str().unwrap(),
            "--data-dir",
            target.to_str().unwrap(),
        ]);
        assert!(
            e.contains("checksum mismatch") && e.contains("nothing was restored"),
            "{name}: {e}"
        );
        assert!(!target.exists(), "{name}: a failed restore leaves nothing behind");
    }
    // So does one in the middle of a compressed archive, and a cut-off one.
    let gz = tmp.path().join("b.tar.gz");
    succeeds(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        gz.to_str().unwrap(),
    ]);
    let mut bytes = std::fs::read(&gz).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(tmp.path().join("bad.tar.gz"), &bytes).unwrap();
    std::fs::write(
        tmp.path().join("short.tar"),
        &std::fs::read(&archive).unwrap()[..100_000],
    )
    .unwrap();
    for bad in ["bad.tar.gz", "short.tar"] {
        let e = fails(&[
            "restore",
            "--from",
            tmp.path().join(bad).to_str().unwrap(),
            "--data-dir",
            target.to_str().unwrap(),
        ]);
        assert!(e.contains("nothing was restored"), "{bad}: {e}");
        assert!(!target.exists(), "{bad}: a failed restore leaves nothing behind");
    }
    // The intact archives restore; into an existing empty directory too.
    std::fs::create_dir(&target).unwrap();
    succeeds(&[
        "restore",
        "--from",
        gz.to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    let sha = teamlabel_core::blobs::sha256_hex(&blob);
    let restored_blob = target.join("blobs").join(&sha[0..2]).join(&sha[2..4]).join(&sha);
    assert_eq!(std::fs::read(restored_blob).unwrap(), blob);

    // A blob the database references but the blob store lost: no archive with a hole.
    let live_blob = data.join("blobs").join(&sha[0..2]).join(&sha[2..4]).join(&sha);
    std::fs::remove_file(live_blob).unwrap();
    let holed = tmp.path().join("holed.tar");
    let e = fails(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        holed.to_str().unwrap(),
    ]);
    assert!(e.contains("not in the blob store") && e.contains(&sha), "{e}");
    assert!(!holed.exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no partial files are left: {leftovers:?}");
}

#[test]
fn backup_refuses_a_data_dir_configured_for_postgresql() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("teamlabel.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\ndatabase = \"postgres://postgres:hunter2@127.0.0.1:5432/test\"\n",
            tmp.path().join("data")
        ),
    )
    .unwrap();
    let out = tmp.path().join("pg.tar");
    let e = fails(&[
        "backup",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        e.contains("PostgreSQL") && e.contains("pg_dump") && e.contains("blobs") && e.contains("secret.key"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "the password stays out of messages: {e}");
    assert!(!out.exists());
}

#[test]
fn backup_and_restore_help_explain_the_key_and_the_checks() {
    let help = String::from_utf8(teamlabel(&["backup", "--help"]).stdout).unwrap();
    for needle in [
        "--out",
        "--without-secret-key",
        "online backup API",
        "unseal",
        "pg_dump",
        "manifest.json",
    ] {
        assert!(help.contains(needle), "backup --help lacks {needle:?}");
    }
    let help = String::from_utf8(teamlabel(&["restore", "--help"]).stdout).unwrap();
    for needle in [
        "--from",
        "--data-dir",
        "empty",
        "sha256",
        "integrity_check",
        "secret.key",
    ] {
        assert!(help.contains(needle), "restore --help lacks {needle:?}");
    }
}
