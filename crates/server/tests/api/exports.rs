//! Export tasks over HTTP, on every backend: each format written where its layout says, read
//! back by the import (or a parser of its own) with the same labels; whatever a format cannot
//! hold counted on the task and listed in the report; the filters; a new dataset made from an
//! export; the zip download; and the refusals with their codes.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::{json, Value};

use crate::data_io::{png, put, read, read_bytes, settle};
use crate::helpers::*;

const EXPORT_BAD_PATH: &str = "ModelArts.4358";
const EXPORT_NOT_FOUND: &str = "ModelArts.4359";
const EXPORT_BAD_PARAMETER: &str = "ModelArts.4384";

fn bndbox(name: &str, (x1, y1, x2, y2): (i64, i64, i64, i64)) -> Value {
    json!({"name": name, "type": 1, "property": {
        "@modelarts:shape": "bndbox", "@modelarts:feature": [[x1, y1], [x2, y2]]}})
}

fn polygon(name: &str) -> Value {
    json!({"name": name, "type": 1, "property": {
        "@modelarts:shape": "polygon", "@modelarts:feature": [[1, 1], [8, 1], [8, 8], [1, 8]]}})
}

/// Makes the bucket the exports go to (an export does not create buckets: with S3 they are
/// the operator's).
async fn bucket(t: &TestApp) {
    put(t, &at(t, "README"), "exports land here").await;
}

/// A path in the test bucket.
fn at(t: &TestApp, rest: &str) -> String {
    format!("/{}/{rest}", t.bucket)
}

/// Starts an export and waits for its end.
pub async fn export(t: &TestApp, d: &str, body: Value) -> Value {
    let path = format!("/datasets/{d}/export-tasks");
    let a = t.post(&path, body.clone()).await;
    assert_eq!(a.status, 200, "{}: {body}: {:?}", t.backend, a.body);
    let task = a.body["task_id"].as_str().unwrap();
    let done = settle(t, &format!("{path}/{task}"), &["INIT", "RUNNING"]).await;
    assert_eq!(done["status"], "SUCCESSED", "{}: {body}: {done}", t.backend);
    done
}

/// Imports a path into a new dataset of `dataset_type` and answers the dataset's samples by
/// name, each with its labels as (name, shape, feature) sorted.
pub async fn import_back(t: &TestApp, dataset_type: i32, body: Value) -> BTreeMap<String, Vec<String>> {
    let d = t
        .dataset(
            &format!("back{}", teamlabel_core::ids::new_hex32()),
            dataset_type,
            json!([]),
        )
        .await;
    let path = format!("/datasets/{d}/import-tasks");
    let a = t.post(&path, body.clone()).await;
    assert_eq!(a.status, 200, "{}: {body}: {:?}", t.backend, a.body);
    let task = a.body["task_id"].as_str().unwrap();
    let done = settle(t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
    assert_eq!(done["status"], "COMPLETED", "{}: {body}: {done}", t.backend);
    labels_by_name(t, &d).await
}

pub async fn labels_by_name(t: &TestApp, d: &str) -> BTreeMap<String, Vec<String>> {
    let listed = t
        .get(&format!("/datasets/{d}/data-annotations/samples?limit=100"))
        .await;
    let mut out = BTreeMap::new();
    for s in listed.body["samples"].as_array().unwrap() {
        let name = s["sample_name"].as_str().unwrap();
        let base = name.rsplit('/').next().unwrap().to_string();
        let mut labels: Vec<String> = s["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                format!(
                    "{} {} {}",
                    l["name"].as_str().unwrap_or(""),
                    l["property"]["@modelarts:shape"].as_str().unwrap_or(""),
                    l["property"]["@modelarts:feature"]
                )
            })
            .collect();
        labels.sort();
        out.insert(base, labels);
    }
    out
}

/// A detection dataset: `a.png` with two boxes and a polygon, `b.png` with a box, `c.png`
/// unlabeled; all 10x10.
async fn detection(t: &TestApp) -> String {
    bucket(t).await;
    let d = t
        .dataset(
            "det",
            1,
            json!([{"name": "car", "type": 1}, {"name": "person", "type": 1}]),
        )
        .await;
    t.samples(
        &d,
        json!([
            {"name": "a.png", "data": png_b64(10, 10), "labels": [bndbox("car", (1, 1, 5, 5)), bndbox("person", (2, 3, 9, 9)), polygon("car")]},
            {"name": "b.png", "data": png_b64(10, 10), "labels": [bndbox("car", (0, 0, 10, 10))]},
            {"name": "c.png", "data": png_b64(10, 10), "labels": []},
        ]),
    )
    .await;
    d
}

#[tokio::test]
async fn detection_exports_in_voc_coco_and_yolo_read_back_with_the_same_boxes() {
    for t in spawn_all_stores().await {
        let d = detection(&t).await;
        let before = labels_by_name(&t, &d).await;

        // VOC: every shape, each image with its XML beside it.
        let done = export(&t, &d, json!({"path": &at(&t, "voc/"), "annotation_format": "VOC"})).await;
        assert_eq!(
            (
                done["total_sample_count"].clone(),
                done["finished_sample_count"].clone(),
                done["dropped_label_count"].clone()
            ),
            (json!(3), json!(3), json!(0)),
            "{}: {done}",
            t.backend
        );
        assert_eq!(read_bytes(&t, &at(&t, "voc/a.png")).await, png(10, 10));
        assert!(
            read(&t, &at(&t, "voc/a.xml")).await.contains("<polygon>"),
            "{}",
            t.backend
        );
        python_checks(
            &read(&t, &at(&t, "voc/a.xml")).await,
            r#"
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "annotation" and r.findtext("size/width") == "10", E.tostring(r)
objects = sorted((o.findtext("name"), o.find("bndbox") is not None) for o in r.findall("object"))
assert objects == [("car", False), ("car", True), ("person", True)], objects
print("ok")
"#,
        );
        let back = import_back(&t, 1, json!({"import_path": &at(&t, "voc/")})).await;
        assert_eq!(back, before, "{}: VOC round trip", t.backend);

        // COCO: boxes and the polygon as segmentation.
        let done = export(&t, &d, json!({"path": &at(&t, "coco/"), "annotation_format": "COCO"})).await;
        assert_eq!(done["dropped_label_count"], 0, "{}: {done}", t.backend);
        let coco: Value = serde_json::from_str(&read(&t, &at(&t, "coco/annotations.json")).await).unwrap();
        assert_eq!(
            (
                coco["images"].as_array().unwrap().len(),
                coco["annotations"].as_array().unwrap().len(),
                coco["categories"].as_array().unwrap().len()
            ),
            (3, 4, 2),
            "{}: {coco}",
            t.backend
        );
        pycocotools_reads(&read(&t, &at(&t, "coco/annotations.json")).await);
        let back = import_back(
            &t,
            1,
            json!({"import_path": &at(&t, "coco/annotations.json"), "import_type": "coco"}),
        )
        .await;
        let boxes_only = |m: &BTreeMap<String, Vec<String>>| -> BTreeMap<String, Vec<String>> {
            m.iter()
                .map(|(k, v)| (k.clone(), v.iter().filter(|l| l.contains("bndbox")).cloned().collect()))
                .collect()
        };
        assert_eq!(
            boxes_only(&back),
            boxes_only(&before),
            "{}: COCO boxes round trip",
            t.backend
        );
        assert_eq!(
            back["a.png"].iter().filter(|l| l.contains("polygon")).count(),
            1,
            "{}: {back:?}",
            t.backend
        );

        // YOLO holds boxes only: the polygon is written as its bounding box, counted and
        // reported as converted.
        let done = export(&t, &d, json!({"path": &at(&t, "yolo/"), "annotation_format": "YOLO"})).await;
        assert_eq!(
            (
                done["converted_label_count"].clone(),
                done["dropped_label_count"].clone(),
                done["issue_count"].clone()
            ),
            (json!(1), json!(0), json!(1)),
            "{}: {done}",
            t.backend
        );
        assert_eq!(
            (done["issues"][0]["label"].clone(), done["issues"][0]["kind"].clone()),
            (json!("car"), json!("converted")),
            "{done}"
        );
        assert_eq!(read(&t, &at(&t, "yolo/obj.names")).await, "car\nperson\n");
        let txt = read(&t, &at(&t, "yolo/obj_train_data/a.txt")).await;
        let rows: Vec<Vec<f64>> = txt
            .lines()
            .map(|l| l.split(' ').map(|x| x.parse().unwrap()).collect())
            .collect();
        let want = [
            [0.0, 0.3, 0.3, 0.4, 0.4],
            [1.0, 0.55, 0.6, 0.7, 0.6],
            [0.0, 0.45, 0.45, 0.7, 0.7],
        ];
        assert_eq!(rows.len(), 3, "{txt}");
        for (row, want) in rows.iter().zip(want) {
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-6, "{}: {txt}", t.backend);
            }
        }
        let report = read(&t, &at(&t, "yolo/export-report.jsonl")).await;
        let report: Vec<Value> = report.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(report.len(), 2, "{}: one loss, then the summary", t.backend);
        assert_eq!(report[0]["kind"], "converted");
        assert_eq!(report[1]["summary"]["converted"], 1);
        let back = import_back(&t, 1, json!({"import_path": &at(&t, "yolo/")})).await;
        let mut want = boxes_only(&before);
        want.get_mut("a.png").unwrap().push("car bndbox [[1,1],[8,8]]".into());
        want.get_mut("a.png").unwrap().sort();
        assert_eq!(boxes_only(&back), want, "{}: YOLO boxes round trip", t.backend);
    }
}

#[tokio::test]
async fn a_manifest_export_imports_back_to_the_same_manifest() {
    for t in spawn_all_stores().await {
        let d = detection(&t).await;
        let done = export(&t, &d, json!({"path": &at(&t, "m1/"), "annotation_format": "MANIFEST"})).await;
        assert_eq!(done["annotation_format"], "MANIFEST");
        let first = read(&t, &at(&t, "m1/det.manifest")).await;
        assert_eq!(first.lines().count(), 3, "{}", t.backend);
        let back = t.dataset("back", 1, json!([])).await;
        let path = format!("/datasets/{back}/import-tasks");
        let a = t
            .post(
                &path,
                json!({"import_type": "manifest", "import_path": &at(&t, "m1/det.manifest")}),
            )
            .await;
        let task = a.body["task_id"].as_str().unwrap();
        let imported = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
        assert_eq!(imported["imported_sample_count"], 3, "{}: {imported}", t.backend);
        let done = export(
            &t,
            &back,
            json!({"path": &at(&t, "m2/"), "annotation_format": "MANIFEST"}),
        )
        .await;
        assert_eq!(done["finished_sample_count"], 3);
        let second = read(&t, &at(&t, "m2/back.manifest")).await;
        // The same lines but for the sample ids and where the VOC files are.
        let strip = |m: &str| -> Vec<Value> {
            let mut lines: Vec<Value> = m
                .lines()
                .map(|l| {
                    let mut v: Value = serde_json::from_str(l).unwrap();
                    v.as_object_mut().unwrap().remove("id");
                    for a in v["annotation"].as_array_mut().into_iter().flatten() {
                        a.as_object_mut().unwrap().remove("annotation-loc");
                    }
                    v
                })
                .collect();
            lines.sort_by_key(|v| v["source"].to_string());
            lines
        };
        assert_eq!(strip(&second), strip(&first), "{}", t.backend);
    }
}

#[tokio::test]
async fn classification_and_text_formats_hold_their_labels() {
    for t in spawn_all_stores().await {
        bucket(&t).await;
        let d = t.dataset("cls", 0, json!([{"name": "cat"}, {"name": "dog"}])).await;
        t.samples(
            &d,
            json!([
                {"name": "1.png", "data": png_b64(2, 2), "labels": [{"name": "cat"}]},
                {"name": "2.png", "data": png_b64(2, 2), "labels": [{"name": "cat"}, {"name": "dog"}]},
                {"name": "3.png", "data": png_b64(2, 2), "labels": []},
            ]),
        )
        .await;
        let before = labels_by_name(&t, &d).await;
        let done = export(&t, &d, json!({"path": &at(&t, "flat/")})).await;
        assert_eq!(
            (done["annotation_format"].clone(), done["export_format"].clone()),
            (json!("CLASSIFICATION"), json!(2))
        );
        assert_eq!(read(&t, &at(&t, "flat/2.txt")).await, "cat\ndog\n");
        let back = import_back(&t, 0, json!({"import_path": &at(&t, "flat/")})).await;
        assert_eq!(back, before, "{}: flat layout round trip", t.backend);

        let done = export(&t, &d, json!({"path": &at(&t, "tree/"), "export_format": 1})).await;
        assert_eq!(done["converted_label_count"], 1, "{}: {done}", t.backend);
        for p in [
            &at(&t, "tree/cat/1.png"),
            &at(&t, "tree/cat/2.png"),
            &at(&t, "tree/dog/2.png"),
            &at(&t, "tree/3.png"),
        ] {
            assert_eq!(read_bytes(&t, p).await, png(2, 2), "{}: {p}", t.backend);
        }

        // Only labeled samples, or only unlabeled ones.
        let done = export(&t, &d, json!({"path": &at(&t, "labeled/"), "export_type": 0})).await;
        assert_eq!(done["total_sample_count"], 2, "{}: {done}", t.backend);
        let done = export(&t, &d, json!({"path": &at(&t, "unlabeled/"), "export_type": 1})).await;
        assert_eq!(done["total_sample_count"], 1, "{}: {done}", t.backend);

        let text = t.dataset("txt", 100, json!([{"name": "pos"}, {"name": "neg"}])).await;
        t.samples(
            &text,
            json!([
                {"name": "a", "data": base64(b"good\tfilm"), "labels": [{"name": "pos"}]},
                {"name": "b", "data": base64(b"bad film"), "labels": [{"name": "neg"}]},
            ]),
        )
        .await;
        export(&t, &text, json!({"path": &at(&t, "tsv/")})).await;
        let tsv = read(&t, &at(&t, "tsv/txt.txt")).await;
        let mut lines: Vec<&str> = tsv.lines().collect();
        lines.sort();
        assert_eq!(lines, ["bad film\tneg", "good\\tfilm\tpos"], "{}", t.backend);

        let ner = t.dataset("ner", 101, json!([{"name": "PER", "type": 101}])).await;
        let entity = |s: i64, e: i64| json!({"name": "PER", "type": 101, "property": {"@modelarts:start_index": s, "@modelarts:end_index": e}});
        t.samples(
            &ner,
            json!([{"name": "s", "data": base64("Zoë met Bob".as_bytes()), "labels": [entity(0, 3), entity(8, 11)]}]),
        )
        .await;
        let done = export(&t, &ner, json!({"path": &at(&t, "conll/")})).await;
        assert_eq!(done["annotation_format"], "CONLL");
        assert_eq!(
            read(&t, &at(&t, "conll/ner.conll")).await,
            "Zoë\tB-PER\nmet\tO\nBob\tB-PER\n\n",
            "{}",
            t.backend
        );
        export(
            &t,
            &ner,
            json!({"path": &at(&t, "jsonl/"), "annotation_format": "JSONL"}),
        )
        .await;
        let line: Value = serde_json::from_str(read(&t, &at(&t, "jsonl/ner.jsonl")).await.trim()).unwrap();
        assert_eq!(line["text"], "Zoë met Bob", "{}: {line}", t.backend);
    }
}

fn base64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn exports_choose_samples_by_id_condition_and_version() {
    for t in spawn_all_stores().await {
        bucket(&t).await;
        // Versions go to the work path (on S3 the default work bucket is the operator's to make).
        let made = t
            .post(
                "/datasets",
                json!({"dataset_name": "pick", "dataset_type": 0, "work_path": at(&t, "work/"),
                       "labels": [{"name": "cat"}, {"name": "dog"}, {"name": "owl"}]}),
            )
            .await;
        assert_eq!(made.status, 201, "{}: {:?}", t.backend, made.body);
        let d = made.body["dataset_id"].as_str().unwrap().to_string();
        let ids = t
            .samples(
                &d,
                json!([
                    {"name": "1.png", "data": png_b64(2, 2), "labels": [{"name": "cat"}]},
                    {"name": "2.png", "data": png_b64(2, 2), "labels": [{"name": "dog"}]},
                    {"name": "3.png", "data": png_b64(2, 2), "labels": [{"name": "owl"}]},
                ]),
            )
            .await;
        let done = export(
            &t,
            &d,
            json!({"path": &at(&t, "ids/"), "export_type": 3, "annotation_format": "MANIFEST",
                   "export_params": {"samples": [ids[2], ids[0]]}}),
        )
        .await;
        let m = read(&t, &at(&t, "ids/pick.manifest")).await;
        let got: Vec<String> = m
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(got, [ids[2].clone(), ids[0].clone()], "{}: {done}", t.backend);

        let cond = |n: &str| json!({"label_list": {"labels": [{"name": n}]}});
        let done = export(
            &t,
            &d,
            json!({"path": &at(&t, "or/"), "export_type": 3, "annotation_format": "MANIFEST",
                   "export_params": {"search_conditions": [cond("cat"), cond("owl")]}}),
        )
        .await;
        assert_eq!(
            done["total_sample_count"], 2,
            "{}: conditions are OR-ed: {done}",
            t.backend
        );

        // A version is exported as it was published, whatever changed since.
        let a = t.post(&format!("/datasets/{d}/versions"), json!({})).await;
        let v = a.body["version_id"].as_str().unwrap().to_string();
        settle(&t, &format!("/datasets/{d}/versions/{v}"), &["0"]).await;
        let gone = t
            .post(
                &format!("/datasets/{d}/data-annotations/samples/delete"),
                json!({"samples": [ids[1]]}),
            )
            .await;
        assert_eq!(gone.status, 200, "{:?}", gone.body);
        let done = export(
            &t,
            &d,
            json!({"path": &at(&t, "v/"), "version_id": v, "export_format": 2}),
        )
        .await;
        assert_eq!(done["finished_sample_count"], 3, "{}: {done}", t.backend);
        // A version names its copies by sample id and name; the export keeps those names.
        assert_eq!(
            read(&t, &at(&t, &format!("v/{}_2.txt", ids[1]))).await,
            "dog\n",
            "{}",
            t.backend
        );
    }
}

#[tokio::test]
async fn an_export_to_a_new_dataset_and_a_zip_download() {
    for t in spawn_all_stores().await {
        let d = detection(&t).await;
        let done = export(
            &t,
            &d,
            json!({"path": &at(&t, "new-in/"), "export_params": {"export_dest": "NEW_DATASET",
                   "export_new_dataset_name": "det-copy", "export_new_dataset_work_path": &at(&t, "new-out/")}}),
        )
        .await;
        let new_id = done["new_dataset_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{done}"))
            .to_string();
        assert_eq!(
            labels_by_name(&t, &new_id).await,
            labels_by_name(&t, &d).await,
            "{}",
            t.backend
        );
        let nd = t.get(&format!("/datasets/{new_id}")).await;
        assert_eq!(nd.body["dataset_name"], "det-copy", "{:?}", nd.body);

        let done = export(&t, &d, json!({"path": &at(&t, "zip/")})).await;
        let task = done["task_id"].as_str().unwrap();
        let a = t.get(&format!("/datasets/{d}/export-tasks/{task}/download")).await;
        assert_eq!(a.status, 200, "{}: {:?}", t.backend, a.body);
        assert_eq!(a.headers["content-type"], "application/zip");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(a.bytes.clone())).unwrap();
        let mut names: Vec<String> = zip.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            ["a.png", "a.xml", "b.png", "b.xml", "c.png", "export-report.jsonl"],
            "{}",
            t.backend
        );
        let mut xml = String::new();
        zip.by_name("a.xml").unwrap().read_to_string(&mut xml).unwrap();
        assert_eq!(xml, read(&t, &at(&t, "zip/a.xml")).await);
        let mut image = Vec::new();
        zip.by_name("a.png").unwrap().read_to_end(&mut image).unwrap();
        assert_eq!(image, png(10, 10));
    }
}

#[tokio::test]
async fn bad_exports_are_refused_with_their_codes() {
    for t in spawn_all_stores().await {
        let d = detection(&t).await;
        let path = format!("/datasets/{d}/export-tasks");
        put(&t, &at(&t, "full/keep.txt"), "mine").await;
        for (body, code) in [
            (json!({"path": &at(&t, "full/")}), EXPORT_BAD_PATH),
            (json!({"path": &at(&t, "../etc/")}), EXPORT_BAD_PATH),
            (
                json!({"path": &at(&t, "x/"), "annotation_format": "CSV"}),
                EXPORT_BAD_PARAMETER,
            ),
            (
                json!({"path": &at(&t, "x/"), "annotation_format": "TSV"}),
                EXPORT_BAD_PARAMETER,
            ),
            (json!({"path": &at(&t, "x/"), "export_type": 7}), EXPORT_BAD_PARAMETER),
            (json!({"path": &at(&t, "x/"), "export_format": 1}), EXPORT_BAD_PARAMETER),
            (
                json!({"path": &at(&t, "x/"), "export_params": {"sample_state": "__ALL__"}}),
                EXPORT_BAD_PARAMETER,
            ),
            (
                json!({"path": &at(&t, "x/"), "export_params": {"export_dest": "NEW_DATASET"}}),
                EXPORT_BAD_PARAMETER,
            ),
        ] {
            let a = t.post(&path, body.clone()).await;
            assert_eq!((a.status, a.code()), (400, code), "{}: {body}: {:?}", t.backend, a.body);
        }
        assert_eq!(read(&t, &at(&t, "full/keep.txt")).await, "mine");
        let a = t.get(&format!("{path}/{}", "x".repeat(19))).await;
        assert_eq!((a.status, a.code()), (404, EXPORT_NOT_FOUND), "{}", t.backend);
        let a = t.get(&format!("{path}?export_type=9")).await;
        assert_eq!(a.status, 400, "{}", t.backend);
        let list = t.get(&format!("{path}?export_type=2")).await;
        assert_eq!(list.body["total_count"], 0, "{}: {:?}", t.backend, list.body);
    }
}

/// Loads a COCO file with pycocotools and checks its counts, areas and masks.
fn pycocotools_reads(json: &str) {
    let script = r#"
import sys
from pycocotools.coco import COCO
c = COCO(sys.argv[1])
assert (len(c.imgs), len(c.anns), len(c.cats)) == (3, 4, 2), (len(c.imgs), len(c.anns), len(c.cats))
areas = sorted(round(a["area"]) for a in c.anns.values())
assert areas == [16, 42, 49, 100], areas
boxes = sorted(tuple(a["bbox"]) for a in c.anns.values())
assert boxes == [(0, 0, 10, 10), (1, 1, 4, 4), (1, 1, 7, 7), (2, 3, 7, 6)], boxes
polygons = [a for a in c.anns.values() if a["segmentation"]]
assert len(polygons) == 1, polygons
m = c.annToMask(polygons[0])
assert m.shape == (10, 10) and 36 <= m.sum() <= 64, (m.shape, m.sum())
print("ok")
"#;
    python_checks(json, script);
}

/// Runs a Python check on a file holding `content` (its path is `sys.argv[1]`), in the
/// interpreter of `TEAMLABEL_TEST_PYTHON`, which `scripts/test` points at its virtual
/// environment (with pycocotools).
fn python_checks(content: &str, script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checked");
    std::fs::write(&file, content).unwrap();
    let python = std::env::var("TEAMLABEL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {python}: {e}; scripts/test sets TEAMLABEL_TEST_PYTHON to its virtual environment")
        });
    assert!(
        out.status.success(),
        "{python} refused the export: {}{}\nscripts/test installs tests/sdk/requirements.txt into target/sdk-venv",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn every_dataset_type_goes_manifest_import_export_to_the_same_manifest() {
    let wav = base64(b"RIFF$\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data\0\0\0\0");
    let span = |t: i64, name: &str, s: i64, e: i64| json!({"name": name, "type": t, "property": {"@modelarts:start_index": s, "@modelarts:end_index": e}});
    let cases = [
        (
            0,
            json!([{"name": "cat"}]),
            json!({"name": "1.png", "data": png_b64(4, 4), "labels": [{"name": "cat"}]}),
        ),
        (
            3,
            json!([{"name": "road", "type": 3}]),
            json!({"name": "s.png", "data": png_b64(10, 10), "labels": [{"name": "road", "type": 3, "property": {
                "@modelarts:shape": "polygon", "@modelarts:feature": [[1, 1], [8, 1], [8, 8]]}}]}),
        ),
        (
            100,
            json!([{"name": "pos"}]),
            json!({"name": "t", "data": base64(b"fine film"), "labels": [{"name": "pos"}]}),
        ),
        (
            101,
            json!([{"name": "PER", "type": 101}]),
            json!({"name": "n", "data": base64("Zoë met Bob".as_bytes()), "labels": [span(101, "PER", 0, 3)]}),
        ),
        (
            102,
            json!([{"name": "Person", "type": 103}, {"name": "Book", "type": 103},
                   {"name": "Author", "type": 102, "property": {"@modelarts:from_type": "Person", "@modelarts:to_type": "Book"}}]),
            json!({"name": "r", "data": base64(b"Ann wrote Dune"), "labels": [
                {"id": "E1", "name": "Person", "type": 103, "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 3}},
                {"id": "E2", "name": "Book", "type": 103, "property": {"@modelarts:start_index": 10, "@modelarts:end_index": 14}},
                {"id": "R1", "name": "Author", "type": 102, "property": {"@modelarts:from": "E1", "@modelarts:to": "E2"}}]}),
        ),
        (
            200,
            json!([{"name": "bark"}]),
            json!({"name": "a.wav", "data": wav, "labels": [{"name": "bark"}]}),
        ),
        (
            201,
            json!([{"name": "speech"}]),
            json!({"name": "b.wav", "data": wav, "labels": [{"name": "speech", "property": {"@modelarts:content": "hello"}}]}),
        ),
        (
            202,
            json!([{"name": "paragraph"}]),
            json!({"name": "c.wav", "data": wav, "labels": [{"name": "paragraph", "property": {
                "@modelarts:content": "hi", "@modelarts:start_time": "00:00:01.000", "@modelarts:end_time": "00:00:02.500"}}]}),
        ),
    ];
    for t in spawn_all_stores().await {
        bucket(&t).await;
        for (dataset_type, labels, sample) in &cases {
            let d = t
                .dataset(&format!("type{dataset_type}"), *dataset_type, labels.clone())
                .await;
            t.samples(&d, json!([sample])).await;
            let first_dir = format!("t{dataset_type}a/");
            export(
                &t,
                &d,
                json!({"path": at(&t, &first_dir), "annotation_format": "MANIFEST"}),
            )
            .await;
            let first = read(&t, &at(&t, &format!("{first_dir}type{dataset_type}.manifest"))).await;
            let back = t
                .dataset(&format!("back{dataset_type}"), *dataset_type, json!([]))
                .await;
            let path = format!("/datasets/{back}/import-tasks");
            let manifest = at(&t, &format!("{first_dir}type{dataset_type}.manifest"));
            let a = t
                .post(&path, json!({"import_type": "manifest", "import_path": manifest}))
                .await;
            let task = a.body["task_id"].as_str().unwrap();
            let imported = settle(&t, &format!("{path}/{task}"), &["QUEUING", "RUNNING"]).await;
            assert_eq!(
                (
                    imported["imported_sample_count"].clone(),
                    imported["skipped_sample_count"].clone()
                ),
                (json!(1), json!(0)),
                "{}: type {dataset_type}: {imported}",
                t.backend
            );
            let second_dir = format!("t{dataset_type}b/");
            let done = export(
                &t,
                &back,
                json!({"path": at(&t, &second_dir), "annotation_format": "MANIFEST"}),
            )
            .await;
            assert_eq!(done["issue_count"], 0, "{}: type {dataset_type}: {done}", t.backend);
            let second = read(&t, &at(&t, &format!("{second_dir}back{dataset_type}.manifest"))).await;
            let strip = |m: &str| -> Value {
                let mut v: Value = serde_json::from_str(m.trim()).unwrap();
                v.as_object_mut().unwrap().remove("id");
                for a in v["annotation"].as_array_mut().into_iter().flatten() {
                    a.as_object_mut().unwrap().remove("annotation-loc");
                }
                v
            };
            assert_eq!(strip(&second), strip(&first), "{}: type {dataset_type}", t.backend);
        }
    }
}
