use serde_json::{json, Value};
use teamlabel_api::labels::SampleLabel;

use super::write::shoelace;
use super::*;
use crate::fixtures::shape;
use crate::record::{LossKind, Record};

fn records() -> Vec<Record> {
    let mut a = Record::new("obs://b/a.jpg");
    a.size = Some([767, 959, 3]);
    a.labels = vec![
        SampleLabel {
            score: Some(0.5),
            ..shape("bag", "bndbox", json!([[108, 101], [251, 238]]))
        },
        shape("cat", "polygon", json!([[0, 0], [10, 0], [10, 10], [0, 10]])),
        shape("ball", "circle", json!([[405, 170], [100]])),
        shape("cat", "point", json!([[1, 1]])),
        shape("zebra", "bndbox", json!([[1, 1], [2, 2]])),
    ];
    let mut b = Record::new("obs://b/b.jpg");
    b.id = Some("b-id".into());
    b.labels = vec![shape("bag", "bndbox", json!([[1, 1], [2, 2]]))];
    vec![a, b]
}

fn export(records: &[Record], categories: &[&str]) -> (Vec<u8>, Vec<crate::Loss>) {
    let categories: Vec<String> = categories.iter().map(|c| c.to_string()).collect();
    let mut writer = CocoWriter::new(Vec::new(), &categories).unwrap();
    let mut losses = Vec::new();
    for (i, r) in records.iter().enumerate() {
        losses.extend(writer.add(r, &format!("{}.jpg", i + 1)).unwrap());
    }
    (writer.finish().unwrap(), losses)
}

#[test]
fn a_two_image_export_holds_boxes_polygons_and_converted_circles() {
    let (bytes, losses) = export(&records(), &["bag", "cat", "ball", "dog"]);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.starts_with(
            "{\"info\":{\"description\":\"teamlabel export\",\"version\":\"1.0\"},\"licenses\":[],\n\"categories\":[{\"id\":1,\"name\":\"bag\",\"supercategory\":\"\"},"
        ),
        "{text}"
    );
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        doc["images"],
        json!([{"id": 1, "file_name": "1.jpg", "width": 767, "height": 959}, {"id": 2, "file_name": "2.jpg"}])
    );
    assert_eq!(doc["categories"].as_array().unwrap().len(), 4);
    assert_eq!(
        doc["categories"][3],
        json!({"id": 4, "name": "dog", "supercategory": ""})
    );
    assert_eq!(
        doc["annotations"],
        json!([
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [], "area": 19591,
             "bbox": [108, 101, 143, 137], "iscrowd": 0, "score": 0.5},
            {"id": 2, "image_id": 1, "category_id": 2, "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]],
             "area": 100, "bbox": [0, 0, 10, 10], "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 3, "segmentation": [], "area": 40000,
             "bbox": [305, 70, 200, 200], "iscrowd": 0},
        ])
    );
    let got: Vec<(&str, Option<&str>, LossKind, &str)> = losses
        .iter()
        .map(|l| (l.sample.as_str(), l.label.as_deref(), l.kind, l.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "obs://b/a.jpg",
                Some("ball"),
                LossKind::Converted,
                "circle written as its bounding box"
            ),
            (
                "obs://b/a.jpg",
                Some("cat"),
                LossKind::Dropped,
                "a point has no COCO form (boxes and polygons only)"
            ),
            (
                "obs://b/a.jpg",
                Some("zebra"),
                LossKind::Dropped,
                "label zebra is not among the categories"
            ),
            ("b-id", Some("bag"), LossKind::Dropped, "image size unknown"),
        ]
    );
}

#[test]
fn an_export_reads_back_as_written() {
    let mut r = records().remove(0);
    r.labels.truncate(2);
    r.labels[1]
        .property
        .as_mut()
        .unwrap()
        .insert("coco:iscrowd".into(), 1.into());
    let mut empty = Record::new("2.jpg");
    empty.size = Some([10, 20, 3]);
    let (bytes, losses) = export(&[r.clone(), empty.clone()], &["bag", "cat"]);
    assert!(losses.is_empty());
    let read = parse(&bytes).unwrap();
    assert_eq!(read.categories, ["bag", "cat"]);
    assert!(read.losses.is_empty());
    assert_eq!(read.records.len(), 2);
    assert_eq!(read.records[0].source, "1.jpg");
    assert_eq!(read.records[0].size, r.size);
    assert_eq!(read.records[0].labels, r.labels);
    assert_eq!(read.records[1].labels, []);
}

#[test]
fn foreign_files_are_read_with_what_could_not_be_kept_listed() {
    let file = json!({
        "images": [{"id": 7, "file_name": "x.jpg", "width": 100, "height": 50}],
        "categories": [{"id": 3, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 3, 4],
             "segmentation": {"counts": "abc", "size": [50, 100]}, "iscrowd": 1},
            {"id": 2, "image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5],
             "segmentation": [[0, 0, 5, 0, 5, 5], [6, 6, 8, 6, 8, 8]]},
            {"id": 3, "image_id": 7, "category_id": 3, "bbox": [0, 0, 0, 5]},
        ]
    });
    let read = parse(file.to_string().as_bytes()).unwrap();
    let labels: Vec<Value> = read.records[0]
        .labels
        .iter()
        .map(|l| serde_json::to_value(l).unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            json!({"name": "person", "type": 1, "property": {"@modelarts:shape": "bndbox",
                   "@modelarts:feature": [[1, 2], [4, 6]], "coco:iscrowd": 1}}),
            json!({"name": "person", "type": 1, "property": {"@modelarts:shape": "polygon",
                   "@modelarts:feature": [[0, 0], [5, 0], [5, 5]]}}),
            json!({"name": "person", "type": 1, "property": {"@modelarts:shape": "polygon",
                   "@modelarts:feature": [[6, 6], [8, 6], [8, 8]]}}),
        ]
    );
    let reasons: Vec<(LossKind, &str)> = read.losses.iter().map(|l| (l.kind, l.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [
            (LossKind::Converted, "RLE mask read as its bounding box"),
            (LossKind::Converted, "an object of 2 polygons read as 2 polygon labels"),
            (LossKind::Dropped, "empty or missing bbox"),
        ]
    );
}

#[test]
fn broken_files_are_refused() {
    let refuse = |v: Value| parse(v.to_string().as_bytes()).unwrap_err().reason;
    assert_eq!(
        refuse(
            json!({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 2, "category_id": 1}]})
        ),
        "annotation 1: image_id 2 names no image"
    );
    assert_eq!(
        refuse(
            json!({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, "category_id": 1}]})
        ),
        "annotation 1: category_id 1 names no category"
    );
    assert_eq!(
        refuse(json!({"images": [{"id": 1}]})),
        "image 1 (id 1): file_name is required"
    );
    assert_eq!(
        refuse(
            json!({"images": [{"id": 1, "file_name": "a"}], "categories": [{"id": 1, "name": "c"}],
                      "annotations": [{"image_id": 1, "category_id": 1, "segmentation": [[1, 2, 3]]}]})
        ),
        "annotation 1: a polygon of the segmentation must be an even count of at least 6 numbers"
    );
    let err = parse(b"{\n\"images\": [}").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.reason.starts_with("broken COCO JSON: "), "{}", err.reason);
}

#[test]
fn the_shoelace_area_of_a_triangle() {
    assert_eq!(shoelace(&[[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]]), 6.0);
    assert_eq!(shoelace(&[[0.0, 3.0], [4.0, 0.0], [0.0, 0.0]]), 6.0);
}
