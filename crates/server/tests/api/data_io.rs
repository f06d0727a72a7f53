//! Versions and import tasks over HTTP, on every backend: a version freezes the samples into a
//! manifest in the object store with an exact seeded split; imports read manifests and
//! directories from the object store, report every skipped line with its place and reason, and
//! add nothing twice.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};
use teamlabel_core::objects::ObjectPath;

use crate::helpers::*;

const IMPORT_RUNNING: &str = "ModelArts.4356";
const IMPORT_INVALID_PATH: &str = "ModelArts.4374";
const IMPORT_NOTHING: &str = "ModelArts.4340";

pub async fn put(t: &TestApp, path: &str, bytes: impl Into<Bytes>) {
    let p = ObjectPath::parse("path", path).unwrap();
    t.app.objects.put(&p, bytes.into()).await.unwrap();
}

pub async fn read(t: &TestApp, path: &str) -> String {
    let p = ObjectPath::parse("path", path).unwrap();
    String::from_utf8(t.app.objects.get(&p, 1 << 30).await.unwrap()).unwrap()
}

/// Polls `path` until its `status` is no longer one of `running`.
pub async fn settle(t: &TestApp, path: &str, running: &[&str]) -> Value {
    for _ in 0..400 {
        let a = t.get(path).await;
        assert_eq!(a.status, 200, "{}: {:?}", t.backend, a.body);
        let status = a.body["status"].clone();
        let still = match &status {
            Value::String(s) => running.contains(&s.as_str()),
            Value::Number(n) => running.contains(&n.to_string().as_str()),
            _ => false,
        };
        if !still {
            return a.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{}: {path} did not settle", t.backend);
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(png_b64(w, h)).unwrap()
}

#[tokio::test]
async fn a_version_freezes_the_samples_into_a_manifest_with_an_exact_split() {
    for t in spawn_all().await {
        let a = t
            .post(
                "/datasets",
                json!({"dataset_name": "pets", "dataset_type": 0, "work_path": "/out-bkt/pets/",
                       "labels": [{"name": "cat"}, {"name": "dog"}]}),
            )
            .await;
        assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
        let d = a.body["dataset_id"].as_str().unwrap().to_string();
        let samples: Vec<Value> = (0..10)
            .map(|i| {
                let labels = if i < 8 {
                    json!([{"name": if i % 2 == 0 { "cat" } else { "dog" }}])
                } else {
                    json!([])
                };
                json!({"name": format!("{i}.png"), "data": png_b64(2, 2), "labels": labels})
            })
            .collect();
        t.samples(&d, json!(samples)).await;

        let a = t
            .post(
                &format!("/datasets/{d}/versions"),
                json!({"train_evaluate_sample_ratio": "0.75"}),
            )
            .await;
        assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
        let v = a.body["version_id"].as_str().unwrap().to_string();
        let got = settle(&t, &format!("/datasets/{d}/versions/{v}"), &["0"]).await;
        assert_eq!(got["status"], 1, "{}: {got}", t.backend);
        assert_eq!(got["version_name"], "V001");
        assert_eq!(
            (got["total_sample_count"].clone(), got["annotated_sample_count"].clone()),
            (json!(10), json!(8))
        );
        assert_eq!(got["is_current"], true);
        let stats = got["label_stats"].as_array().unwrap();
        assert_eq!(
            stats.iter().map(|s| s["count"].as_u64().unwrap()).sum::<u64>(),
            8,
            "{got}"
        );
        let manifest_path = got["manifest_path"].as_str().unwrap();
        assert!(
            manifest_path.starts_with(&format!("/out-bkt/pets/pets-{d}/annotation/V001/V001.manifest")),
            "{manifest_path}"
        );

        let manifest = read(&t, manifest_path).await;
        let lines: Vec<Value> = manifest.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 10, "{}", t.backend);
        let usage = |u: &str| lines.iter().filter(|l| l["usage"] == u).count();
        assert_eq!(
            (usage("TRAIN"), usage("EVAL")),
            (6, 2),
            "{}: round(0.75 x 8) train",
            t.backend
        );
        // Uploaded bytes are copied beside the manifest, and the manifest points at them.
        let first = lines[0]["source"].as_str().unwrap();
        assert!(first.starts_with("obs://out-bkt/pets/"), "{first}");
        assert_eq!(read_bytes(&t, first).await, png(2, 2));
        assert_eq!(lines[0]["annotation"][0]["type"], "modelarts/image_classification");

        let ds = t.get(&format!("/datasets/{d}")).await;
        assert_eq!(
            ds.body["current_version_id"],
            v.as_str(),
            "{}: {:?}",
            t.backend,
            ds.body
        );
        assert_eq!(ds.body["current_version_name"], "V001");
        assert_eq!(
            (
                ds.body["dataset_version_count"].clone(),
                ds.body["next_version_num"].clone()
            ),
            (json!(1), json!(2))
        );

        let taken = t
            .post(&format!("/datasets/{d}/versions"), json!({"version_name": "V001"}))
            .await;
        assert_eq!((taken.status, taken.code()), (400, "ModelArts.4371"), "{}", t.backend);
        let list = t.get(&format!("/datasets/{d}/versions")).await;
        assert_eq!(list.body["total_number"], 1, "{:?}", list.body);

        let gone = t.delete(&format!("/datasets/{d}/versions/{v}")).await;
        assert_eq!(gone.status, 204, "{}: {:?}", t.backend, gone.body);
        let again = t.get(&format!("/datasets/{d}/versions/{v}")).await;
        assert_eq!(again.code(), codes::VERSION_NOT_FOUND, "{}", t.backend);
        let ds = t.get(&format!("/datasets/{d}")).await;
        assert_eq!(ds.body["next_version_num"], 2, "{}: numbers are not reused", t.backend);
    }
}

pub async fn read_bytes(t: &TestApp, source: &str) -> Vec<u8> {
    let p = ObjectPath::parse("source", source).unwrap();
    t.app.objects.get(&p, 1 << 30).await.unwrap()
}

#[tokio::test]
async fn a_manifest_import_reports_bad_lines_creates_labels_and_adds_nothing_twice() {
    for t in spawn_all().await {
        let d = t.dataset("imp", 0, json!([{"name": "cat"}])).await;
        let manifest = [
            r#"{"source":"s3://in-bkt/img/1.jpg","usage":"TRAIN","annotation":[{"type":"modelarts/image_classification","name":"cat"}]}"#,
            r#"{"source":"s3://in-bkt/img/2.jpg","annotation":[{"type":"image_classification","name":"bird"}]}"#,
            r#"{"source":"s3://in-bkt/img/3.jpg","annotation":["#,
            r#"{"source":"s3://in-bkt/img/4.jpg","annotation":[{"type":"modelarts/sound_wave","name":"x"}]}"#,
            r#"{"source":"s3://in-bkt/img/5.jpg"}"#,
        ]
        .join("\n");
        put(&t, "/in-bkt/m/pets.manifest", manifest).await;
        let path = format!("/datasets/{d}/import-tasks");
        let a = t
            .post(
                &path,
                json!({"import_type": "manifest", "import_path": "s3://in-bkt/m/pets.manifest"}),
            )
            .await;
        assert_eq!(a.status, 200, "{}: {:?}", t.backend, a.body);
        let task = a.body["task_id"].as_str().unwrap().to_string();
        let done = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(done["status"], "COMPLETED", "{}: {done}", t.backend);
        assert_eq!(done["import_type"], 1);
        assert_eq!(done["import_path"], "obs://in-bkt/m/pets.manifest");
        assert_eq!(
            (
                done["imported_sample_count"].clone(),
                done["annotated_sample_count"].clone(),
                done["skipped_sample_count"].clone()
            ),
            (json!(3), json!(2), json!(2)),
            "{}: {done}",
            t.backend
        );
        assert_eq!(done["created_label_count"], 1, "{}: bird is created", t.backend);
        let issues = done["issues"].as_array().unwrap();
        let lines: Vec<u64> = issues.iter().map(|i| i["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, [3, 4], "{}: {done}", t.backend);
        assert!(issues.iter().all(|i| i["path"] == "/in-bkt/m/pets.manifest"), "{done}");
        assert!(issues[1]["reason"].as_str().unwrap().contains("sound_wave"), "{done}");

        let labels = t.get(&format!("/datasets/{d}/data-annotations/labels")).await;
        assert_eq!(names(&labels.body, "labels", "name"), ["cat", "bird"], "{}", t.backend);
        let listed = t.get(&format!("/datasets/{d}/data-annotations/samples?limit=10")).await;
        assert_eq!(listed.body["sample_count"], 3, "{}: {:?}", t.backend, listed.body);

        let again = t
            .post(
                &path,
                json!({"import_type": "manifest", "import_path": "/in-bkt/m/pets.manifest"}),
            )
            .await;
        let task = again.body["task_id"].as_str().unwrap().to_string();
        let done = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(
            (done["status"].clone(), done["imported_sample_count"].clone()),
            (json!("COMPLETED"), json!(0)),
            "{done}"
        );
        assert_eq!(done["skipped_sample_count"], 5, "{}: {done}", t.backend);
        let listed = t.get(&format!("/datasets/{d}/data-annotations/samples?limit=10")).await;
        assert_eq!(listed.body["sample_count"], 3, "{}: nothing is added twice", t.backend);

        let list = t.get(&format!("{path}?limit=1")).await;
        assert_eq!(
            (
                list.body["total_count"].clone(),
                list.body["import_tasks"].as_array().unwrap().len()
            ),
            (json!(2), 1)
        );
    }
}

#[tokio::test]
async fn a_directory_import_reads_label_folders_and_text_files() {
    for t in spawn_all().await {
        let d = t.dataset("dir", 0, json!([])).await;
        put(&t, "/in-bkt/animals/cat/1.png", png(4, 4)).await;
        put(&t, "/in-bkt/animals/dog/2.png", png(4, 4)).await;
        put(&t, "/in-bkt/animals/3.png", png(4, 4)).await;
        put(&t, "/in-bkt/animals/3.txt", "cat\ndog\n").await;
        put(&t, "/in-bkt/animals/notes.md", "not a sample").await;
        let path = format!("/datasets/{d}/import-tasks");
        let a = t.post(&path, json!({"import_path": "obs://in-bkt/animals/"})).await;
        assert_eq!(a.status, 200, "{}: {:?}", t.backend, a.body);
        let task = a.body["task_id"].as_str().unwrap().to_string();
        let done = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(done["status"], "COMPLETED", "{}: {done}", t.backend);
        assert_eq!(
            (
                done["imported_sample_count"].clone(),
                done["annotated_sample_count"].clone()
            ),
            (json!(3), json!(3)),
            "{done}"
        );
        assert_eq!(done["skipped_sample_count"], 1, "{}: {done}", t.backend);
        assert!(
            done["issues"][0]["path"].as_str().unwrap().ends_with("notes.md"),
            "{done}"
        );
        let listed = t
            .get(&format!("/datasets/{d}/data-annotations/samples?limit=10&order=asc"))
            .await;
        let by_name: Vec<(String, usize)> = listed.body["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["sample_name"].as_str().unwrap_or_default().to_string(),
                    s["labels"].as_array().map_or(0, Vec::len),
                )
            })
            .collect();
        assert_eq!(by_name.len(), 3, "{}: {:?}", t.backend, listed.body);
        // An imported sample's bytes stay in the object store and are served from there.
        let first = listed.body["samples"][0]["sample_id"].as_str().unwrap();
        let file = t
            .get(&format!("/datasets/{d}/data-annotations/samples/{first}/file"))
            .await;
        assert_eq!(file.status, 200, "{}: {:?}", t.backend, file.body);
        assert_eq!(
            (file.bytes.clone(), file.headers["content-type"].to_str().unwrap()),
            (png(4, 4), "image/png")
        );
        assert!(
            by_name.contains(&("3.png".into(), 2)) || by_name.iter().any(|(n, c)| n.ends_with("3.png") && *c == 2),
            "{by_name:?}"
        );

        // Nothing importable, and paths that climb out, are refused with their codes.
        let none = t.post(&path, json!({"import_path": "/in-bkt/empty/"})).await;
        let task = none.body["task_id"].as_str().unwrap().to_string();
        let failed = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(
            (failed["status"].clone(), failed["error_code"].clone()),
            (json!("FAILED"), json!(IMPORT_NOTHING)),
            "{failed}"
        );
        for bad in [
            "/in-bkt/../etc/",
            "/in-bkt/a//b/",
            "/etc/passwd/../",
            "file:///etc/passwd",
        ] {
            let a = t.post(&path, json!({"import_path": bad})).await;
            assert_eq!(
                (a.status, a.code()),
                (400, IMPORT_INVALID_PATH),
                "{}: {bad}: {:?}",
                t.backend,
                a.body
            );
        }
    }
}

#[tokio::test]
async fn a_detection_import_checks_boxes_and_image_headers() {
    for t in spawn_all().await {
        let d = t.dataset("det", 1, json!([])).await;
        let voc = |w: u32, h: u32, xmax: u32| {
            format!(
                "<annotation><folder>NA</folder><filename>x.png</filename><size><width>{w}</width><height>{h}</height><depth>3</depth></size>\
                 <segmented>0</segmented><object><name>car</name><pose>Unspecified</pose><truncated>0</truncated><occluded>0</occluded>\
                 <difficult>0</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>{xmax}</xmax><ymax>5</ymax></bndbox></object></annotation>"
            )
        };
        put(&t, "/in-bkt/det/ok.png", png(10, 10)).await;
        put(&t, "/in-bkt/det/ok.xml", voc(10, 10, 8)).await;
        put(&t, "/in-bkt/det/outside.png", png(10, 10)).await;
        put(&t, "/in-bkt/det/outside.xml", voc(10, 10, 30)).await;
        put(&t, "/in-bkt/det/lies.png", png(10, 10)).await;
        put(&t, "/in-bkt/det/lies.xml", voc(200, 100, 8)).await;
        let path = format!("/datasets/{d}/import-tasks");
        let a = t.post(&path, json!({"import_path": "/in-bkt/det/"})).await;
        let task = a.body["task_id"].as_str().unwrap().to_string();
        let done = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(done["status"], "COMPLETED", "{}: {done}", t.backend);
        assert_eq!(
            (
                done["imported_sample_count"].clone(),
                done["skipped_sample_count"].clone()
            ),
            (json!(1), json!(2)),
            "{done}"
        );
        let reasons: Vec<&str> = done["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["reason"].as_str().unwrap())
            .collect();
        assert!(reasons.iter().any(|r| r.contains("header says 10x10")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("outside")), "{reasons:?}");

        // One import at a time per dataset.
        let running = teamlabel_core::store::DataTaskRecord {
            id: teamlabel_core::ids::new_alnum19(),
            dataset_id: d.clone(),
            kind: teamlabel_core::store::TaskKind::Import,
            subtype: 0,
            status: "RUNNING".into(),
            request: json!({}),
            progress: json!({}),
            cursor: None,
            error_code: None,
            error_msg: None,
            create_time: 1,
            update_time: 1,
        };
        t.app.store.insert_data_task(&running).await.unwrap();
        let second = t.post(&path, json!({"import_path": "/in-bkt/det/"})).await;
        assert_eq!(
            (second.status, second.code()),
            (400, IMPORT_RUNNING),
            "{}: {:?}",
            t.backend,
            second.body
        );
        // A server that stops mid-import marks it failed at start, never done.
        let (_, tasks) = t.app.recover_data_io(i64::MAX).await.unwrap();
        assert!(tasks >= 1);
        let after = t.get(&format!("{path}/{}", running.id)).await;
        assert_eq!(
            (after.body["status"].clone(), after.body["error_code"].clone()),
            (json!("FAILED"), json!("ModelArts.4921")),
            "{:?}",
            after.body
        );
    }
}

#[tokio::test]
async fn version_import_and_export_bodies_refuse_unknown_fields() {
    for t in spawn_all().await {
        let d = t.dataset("strict", 0, json!([])).await;
        for (path, body, field) in [
            (
                format!("/datasets/{d}/versions"),
                json!({"verison_name": "V9"}),
                "verison_name",
            ),
            (
                format!("/datasets/{d}/import-tasks"),
                json!({"import_path": "/in-bkt/x/", "import_tpye": "dir"}),
                "import_tpye",
            ),
            (
                format!("/datasets/{d}/import-tasks"),
                json!({"import_path": "/in-bkt/x/", "label_format": {"label_typ": "0"}}),
                "label_format.label_typ",
            ),
            (
                format!("/datasets/{d}/export-tasks"),
                json!({"path": "/out-bkt/x/", "export_parms": {}}),
                "export_parms",
            ),
            (
                format!("/datasets/{d}/export-tasks"),
                json!({"path": "/out-bkt/x/", "export_params": {"export_dset": "DIR"}}),
                "export_params.export_dset",
            ),
        ] {
            let a = t.post(&path, body).await;
            assert_eq!(a.status, 400, "{}: {path}: {:?}", t.backend, a.body);
            assert!(a.msg().starts_with(field), "{}: {:?}", t.backend, a.msg());
        }
        let none = t.get(&format!("/datasets/{d}/import-tasks")).await;
        assert_eq!(none.body["total_count"], 0, "{}: nothing was started", t.backend);
    }
}

#[tokio::test]
async fn a_2_gib_file_is_skipped_unread_and_files_of_another_type_are_not_samples() {
    for t in spawn_all().await {
        let d = t.dataset("big", 0, json!([])).await;
        put(&t, "/in-bkt/big/small.png", png(4, 4)).await;
        // A sparse file: 2 GiB to the object store, nothing on disk.
        let huge = t.local_object("/in-bkt/big/huge.png");
        std::fs::File::create(&huge).unwrap().set_len(2 << 30).unwrap();
        let path = format!("/datasets/{d}/import-tasks");
        let a = t.post(&path, json!({"import_path": "/in-bkt/big/"})).await;
        let task = a.body["task_id"].as_str().unwrap().to_string();
        let done = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(
            (
                done["status"].clone(),
                done["imported_sample_count"].clone(),
                done["skipped_sample_count"].clone()
            ),
            (json!("COMPLETED"), json!(1), json!(1)),
            "{}: {done}",
            t.backend
        );
        let reason = done["issues"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("2147483648 bytes"), "{}: {reason}", t.backend);

        // The same folder read by a text dataset: images are not its samples; each is listed
        // as skipped and nothing is imported.
        let text = t.dataset("words", 100, json!([])).await;
        let path = format!("/datasets/{text}/import-tasks");
        let a = t.post(&path, json!({"import_path": "/in-bkt/big/"})).await;
        let task = a.body["task_id"].as_str().unwrap().to_string();
        let done = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(
            (
                done["status"].clone(),
                done["imported_sample_count"].clone(),
                done["skipped_sample_count"].clone()
            ),
            (json!("COMPLETED"), json!(0), json!(2)),
            "{}: {done}",
            t.backend
        );
        let listed = t.get(&format!("/datasets/{text}/data-annotations/samples")).await;
        assert_eq!(listed.body["sample_count"], 0, "{}", t.backend);
        // And a COCO file into a classification dataset is refused before it starts.
        let a = t
            .post(
                &format!("/datasets/{d}/import-tasks"),
                json!({"import_path": "/in-bkt/big/c.json", "import_type": "coco"}),
            )
            .await;
        assert_eq!((a.status, a.code()), (400, "ModelArts.4396"), "{}", t.backend);
    }
}
