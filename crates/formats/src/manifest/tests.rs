use proptest::prelude::*;
use serde_json::{json, Map, Value};
use teamlabel_api::labels::SampleLabel;

use super::*;
use crate::fixtures::GUIDE_VOC;
use crate::voc;

/// The example lines of the guide (manifest.md section 7), with the dataset type each belongs to.
const EXAMPLES: &[(i64, &str)] = &[
    (
        0,
        r#"{"source":"s3://path/to/image1.jpg","usage":"TRAIN","hard":"true","hard-coefficient":0.8,"id":"0162005993f8065ef47eefb59d1e4970","annotation":[{"type":"modelarts/image_classification","name":"cat","property":{"color":"white","kind":"Persian cat"},"hard":"true","hard-coefficient":0.8,"annotated-by":"human","creation-time":"2019-01-23 11:30:30"},{"type":"modelarts/image_classification","name":"animal","annotated-by":"modelarts/active-learning","confidence":0.8,"creation-time":"2019-01-23 11:30:30"}],"inference-loc":"/path/to/inference-output"}"#,
    ),
    (
        1,
        r#"{"source":"s3://path/to/image1.jpg","usage":"TRAIN","annotation":[{"type":"modelarts/object_detection","annotation-loc":"s3://path/to/annotation1.xml","annotation-format":"PASCAL VOC","annotated-by":"human","creation-time":"2019-01-23 11:30:30"}]}"#,
    ),
    (
        3,
        r#"{"source":"s3://path/to/image1.jpg","usage":"train","id":"16d196c19bf61994d7deccafa435398c","sample-type":0,"annotation":[{"type":"modelarts/image_segmentation","annotation-loc":"s3://path/to/annotation/image1.xml","annotation-format":"PASCAL VOC","annotated-by":"human","creation-time":"2020-12-16 21:36:27"}]}"#,
    ),
    (
        100,
        r#"{"source":"content://I like this product ","id":"XGDVGS","annotation":[{"type":"modelarts/text_classification","name":" positive","annotated-by":"human","creation-time":"2019-01-23 11:30:30"}]}"#,
    ),
    (
        101,
        r#"{"source":"content://Michael Jordan is the most famous basketball player in the world.","usage":"TRAIN","annotation":[{"type":"modelarts/text_entity","name":"Person","property":{"@modelarts:start_index":0,"@modelarts:end_index":14},"annotated-by":"human"},{"type":"modelarts/text_entity","name":"Category","property":{"@modelarts:start_index":34,"@modelarts:end_index":44},"annotated-by":"human"}]}"#,
    ),
    (
        102,
        r#"{"source":"content://\"Three Body\" is a series of long science fiction novels created by Liu Cix.","usage":"TRAIN","annotation":[{"type":"modelarts/text_entity","name":"Person","id":"E1","property":{"@modelarts:start_index":67,"@modelarts:end_index":74}},{"type":"modelarts/text_entity","name":"Book","id":"E2","property":{"@modelarts:start_index":0,"@modelarts:end_index":12}},{"type":"modelarts/text_triplet","name":"Author","id":"R1","property":{"@modelarts:from":"E1","@modelarts:to":"E2"}},{"type":"modelarts/text_triplet","name":"Works","id":"R2","property":{"@modelarts:from":"E2","@modelarts:to":"E1"}}]}"#,
    ),
    (
        200,
        r#"{"source":"s3://path/to/pets.wav","annotation":[{"type":"modelarts/audio_classification","name":"cat","annotated-by":"human","creation-time":"2019-01-23 11:30:30"}]}"#,
    ),
    (
        201,
        r#"{"source":"s3://path/to/audio1.wav","annotation":[{"type":"modelarts/audio_content","property":{"@modelarts:content":"Today is a good day."},"annotated-by":"human","creation-time":"2019-01-23 11:30:30"}]}"#,
    ),
    (
        202,
        r#"{"source":"s3://path/to/audio1.wav","usage":"TRAIN","annotation":[{"type":"modelarts/audio_segmentation","property":{"@modelarts:start_time":"00:01:10.123","@modelarts:end_time":"00:01:15.456","@modelarts:source":"Tom","@modelarts:content":"How are you?"},"annotated-by":"human"}]}"#,
    ),
    (
        600,
        r#"{"source":"s3://input/path/to/annotation1_t1.473722.jpg","usage":"train","id":"43d88677c1e9a971eeb692a80534b5d5","sample-type":0,"property":{"@modelarts:parent_duration":8,"@modelarts:parent_source":"s3://path/to/annotation1.mp4","@modelarts:time_in_video":1.473722},"annotation":[{"type":"modelarts/object_detection","annotation-loc":"s3://path/to/annotation1_t1.473722.xml","annotation-format":"PASCAL VOC","annotated-by":"human","creation-time":"2020-10-09 14:08:24"}]}"#,
    ),
];

fn parsed(dataset_type: i64, line: &str) -> ManifestLine {
    parse_line(line, dataset_type).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Reads a line and merges the guide's VOC file into each annotation that names one.
fn full(dataset_type: i64, line: &str) -> Record {
    let mut read = parsed(dataset_type, line);
    for loc in read.annotation_locs.clone() {
        read.add_voc(&loc, voc::parse(GUIDE_VOC).unwrap()).unwrap();
    }
    read.record
}

fn reason(dataset_type: i64, line: &str) -> String {
    parse_line(line, dataset_type).unwrap_err().reason
}

#[test]
fn the_guide_lines_are_read_into_api_labels() {
    let r = parsed(0, EXAMPLES[0].1).record;
    assert_eq!(r.usage.as_deref(), Some("TRAIN"));
    assert_eq!((r.hard, r.hard_coefficient), (Some(true), Some(0.8)));
    assert_eq!(r.id.as_deref(), Some("0162005993f8065ef47eefb59d1e4970"));
    assert_eq!(
        r.extra,
        json!({"inference-loc": "/path/to/inference-output"})
            .as_object()
            .cloned()
            .unwrap()
    );
    let cat = &r.labels[0];
    assert_eq!((cat.name.as_deref(), cat.label_type), (Some("cat"), Some(0)));
    assert_eq!(
        Value::from(cat.property.clone().unwrap()),
        json!({"color": "white", "kind": "Persian cat", "@modelarts:hard": "true",
               "@modelarts:hard_coefficient": "0.8", "manifest:creation-time": "2019-01-23 11:30:30"})
    );
    assert_eq!(r.labels[1].score, Some(0.8));
    assert_eq!(r.labels[1].annotated_by.as_deref(), Some("modelarts/active-learning"));

    let triplet = parsed(102, EXAMPLES[5].1).record;
    let types: Vec<_> = triplet.labels.iter().map(|l| l.label_type.unwrap()).collect();
    assert_eq!(types, [103, 103, 102, 102]);
    assert_eq!(parsed(101, EXAMPLES[4].1).record.labels[0].label_type, Some(101));
    assert_eq!(parsed(3, EXAMPLES[2].1).record.usage.as_deref(), Some("TRAIN"));
}

#[test]
fn detection_objects_come_from_the_voc_file_with_the_annotation_values() {
    let mut read = parsed(1, EXAMPLES[1].1);
    assert_eq!(read.annotation_locs, ["s3://path/to/annotation1.xml"]);
    assert!(read.record.labels.is_empty());
    let err = read
        .add_voc("s3://elsewhere.xml", voc::parse(GUIDE_VOC).unwrap())
        .unwrap_err();
    assert_eq!(err.reason, "no annotation of this line waits for s3://elsewhere.xml");
    read.add_voc("s3://path/to/annotation1.xml", voc::parse(GUIDE_VOC).unwrap())
        .unwrap();
    let r = read.record;
    assert_eq!(r.size, Some([767, 959, 3]));
    let labels: Vec<Value> = r.labels.iter().map(|l| serde_json::to_value(l).unwrap()).collect();
    assert_eq!(
        labels,
        [
            json!({"name": "bag", "type": 1, "annotated_by": "human", "property": {
                "@modelarts:shape": "bndbox", "@modelarts:feature": [[108, 101], [251, 238]],
                "manifest:creation-time": "2019-01-23 11:30:30"}}),
            json!({"name": "circle", "type": 1, "annotated_by": "human", "property": {
                "@modelarts:shape": "circle", "@modelarts:feature": [[405, 170], [100]],
                "manifest:creation-time": "2019-01-23 11:30:30"}}),
        ]
    );
    assert_eq!(full(600, EXAMPLES[9].1).labels[0].label_type, Some(600));
    assert_eq!(full(3, EXAMPLES[2].1).labels[1].label_type, Some(3));
}

#[test]
fn writing_a_read_line_gives_the_same_json_back() {
    for (i, (dataset_type, line)) in EXAMPLES.iter().enumerate() {
        let record = full(*dataset_type, line);
        let loc = parsed(*dataset_type, line).annotation_locs.first().cloned();
        let (written, losses) = write_line_reporting(&record, *dataset_type, "s3://", loc.as_deref());
        assert!(losses.is_empty(), "line {}: {losses:?}", i + 1);
        let mut want: Value = serde_json::from_str(line).unwrap();
        if want["usage"] == "train" {
            want["usage"] = "TRAIN".into();
        }
        if *dataset_type == 1 || *dataset_type == 3 || *dataset_type == 600 {
            // The VOC file's size now travels in the sample property.
            let property = want.as_object_mut().unwrap().entry("property").or_insert(json!({}));
            property["@modelarts:size"] = json!([767, 959, 3]);
        }
        let got: Value = serde_json::from_str(&written).unwrap();
        assert_eq!(got, want, "line {}", i + 1);
    }
}

#[test]
fn every_dataset_type_round_trips() {
    for (dataset_type, line) in EXAMPLES {
        let record = full(*dataset_type, line);
        let loc = parsed(*dataset_type, line).annotation_locs.first().cloned();
        let written = write_line(&record, *dataset_type, "s3://", loc.as_deref());
        assert_eq!(full(*dataset_type, &written), record, "{written}");
    }
}

#[test]
fn a_line_is_written_in_the_guide_key_order() {
    let record = parsed(100, EXAMPLES[3].1).record;
    assert_eq!(
        write_line(&record, 100, "obs://", None),
        r#"{"source":"content://I like this product ","id":"XGDVGS","annotation":[{"type":"modelarts/text_classification","name":" positive","annotated-by":"human","creation-time":"2019-01-23 11:30:30"}]}"#
    );
    let record = parsed(0, EXAMPLES[0].1).record;
    assert_eq!(
        write_line(&record, 0, "obs://", None),
        r#"{"source":"obs://path/to/image1.jpg","usage":"TRAIN","id":"0162005993f8065ef47eefb59d1e4970","hard":"true","hard-coefficient":0.8,"annotation":[{"type":"modelarts/image_classification","name":"cat","property":{"color":"white","kind":"Persian cat"},"hard":"true","hard-coefficient":0.8,"annotated-by":"human","creation-time":"2019-01-23 11:30:30"},{"type":"modelarts/image_classification","name":"animal","annotated-by":"modelarts/active-learning","confidence":0.8,"creation-time":"2019-01-23 11:30:30"}],"inference-loc":"/path/to/inference-output"}"#
    );
}

#[test]
fn bare_types_booleans_and_lower_case_usage_are_accepted() {
    let line = r#"{"source":"obs://b/a.jpg","usage":"eval","hard":false,"annotation":[{"type":"image_classification","name":"cat","hard":true}]}"#;
    let r = parsed(0, line).record;
    assert_eq!((r.usage.as_deref(), r.hard), (Some("EVAL"), Some(false)));
    assert_eq!(r.labels[0].property.as_ref().unwrap()["@modelarts:hard"], "true");
    let unlabeled = parsed(0, r#"{"source":"obs://b/a.jpg","annotation":[]}"#).record;
    assert_eq!(unlabeled, Record::new("obs://b/a.jpg"));
}

#[test]
fn what_a_line_cannot_hold_is_refused_with_its_reason() {
    let cases: &[(i64, &str, &str)] = &[
        (
            0,
            r#"{"source":"s3://a.jpg""#,
            "broken JSON: EOF while parsing an object at line 1 column 22",
        ),
        (0, r#"["s3://a.jpg"]"#, "a manifest line must be a JSON object"),
        (0, r#"{"usage":"TRAIN"}"#, "source is required (a non-empty string)"),
        (
            0,
            r#"{"source":"s3://a.jpg","annotation":[{"type":"modelarts/image_tagging","name":"x"}]}"#,
            "annotation 1: unknown type modelarts/image_tagging",
        ),
        (
            1,
            r#"{"source":"s3://a.jpg","annotation":[{"type":"modelarts/image_classification","name":"x"}]}"#,
            "annotation 1: type modelarts/image_classification does not belong to a dataset of type 1",
        ),
        (
            0,
            r#"{"source":"s3://a.jpg","annotation":[{"type":"modelarts/image_classification","name":"a"},{"type":"modelarts/image_classification"}]}"#,
            "annotation 2: modelarts/image_classification needs a name",
        ),
        (
            101,
            r#"{"source":"content://abc","annotation":[{"type":"modelarts/text_entity","name":"X"}]}"#,
            "annotation 1 (X): a text entity needs @modelarts:start_index and @modelarts:end_index",
        ),
        (
            101,
            r#"{"source":"content://日本語","annotation":[{"type":"modelarts/text_entity","name":"X","property":{"@modelarts:start_index":1,"@modelarts:end_index":4}}]}"#,
            "annotation 1 (X): end_index 4 is outside the text (3 characters)",
        ),
        (
            102,
            r#"{"source":"content://ab","annotation":[{"type":"modelarts/text_entity","name":"P","id":"E1","property":{"@modelarts:start_index":0,"@modelarts:end_index":1}},{"type":"modelarts/text_triplet","name":"R","id":"R1","property":{"@modelarts:from":"E1","@modelarts:to":"E2"}}]}"#,
            "annotation 2 (R): @modelarts:to names E2, which is no entity id on this sample",
        ),
        (
            1,
            r#"{"source":"s3://a.jpg","annotation":[{"type":"modelarts/object_detection"}]}"#,
            "annotation 1: modelarts/object_detection needs annotation-loc (the PASCAL VOC file)",
        ),
        (
            1,
            r#"{"source":"s3://a.jpg","annotation":[{"type":"modelarts/object_detection","annotation-loc":"a.json","annotation-format":"COCO"}]}"#,
            "annotation 1: annotation-format COCO is not supported; only PASCAL VOC",
        ),
        (
            0,
            r#"{"source":"s3://a.jpg","usage":"VALIDATE"}"#,
            "usage must be one of TRAIN, EVAL, TEST, INFERENCE, got \"VALIDATE\"",
        ),
        (
            0,
            r#"{"source":"s3://a.jpg","hard":"yes"}"#,
            "hard must be \"true\" or \"false\", got \"yes\"",
        ),
        (
            0,
            r#"{"source":"s3://a.jpg","hard-coefficient":2}"#,
            "hard-coefficient must be a number from 0 to 1, got 2",
        ),
        (
            400,
            r#"{"source":"s3://a.csv","annotation":[{"type":"modelarts/text_classification","name":"x"}]}"#,
            "annotation 1: type modelarts/text_classification does not belong to a dataset of type 400",
        ),
    ];
    for (dataset_type, line, want) in cases {
        assert_eq!(reason(*dataset_type, line), *want, "{line}");
    }
    assert_eq!(parse_line("{", 0).unwrap_err().on_line(7).line, Some(7));
}

#[test]
fn the_header_replaces_the_storage_scheme_only() {
    let mut r = Record::new("obs://bucket/a.jpg");
    assert!(write_line(&r, 0, "s3://", None).starts_with(r#"{"source":"s3://bucket/a.jpg""#));
    r.source = "s3://bucket/a.jpg".into();
    assert!(write_line(&r, 0, "obs://", None).starts_with(r#"{"source":"obs://bucket/a.jpg""#));
    r.source = "content://s3://x".into();
    assert!(write_line(&r, 100, "obs://", None).starts_with(r#"{"source":"content://s3://x""#));
}

#[test]
fn what_a_line_cannot_hold_is_listed() {
    let mut r = full(1, EXAMPLES[1].1);
    let (line, losses) = write_line_reporting(&r, 1, "obs://", None);
    assert!(!line.contains("annotation"), "{line}");
    assert_eq!(losses.len(), 2);
    assert_eq!(
        losses[0].reason,
        "shapes travel in a PASCAL VOC file and none was named"
    );
    r.labels[1].annotated_by = Some("auto".into());
    let (line, losses) = write_line_reporting(&r, 1, "obs://", Some("a.xml"));
    assert!(!line.contains("annotated-by"), "{line}");
    assert_eq!(
        losses[0].reason,
        "the objects of a.xml disagree on annotated-by; the annotation is written without it"
    );
    r.labels.insert(
        0,
        SampleLabel {
            name: Some("x".into()),
            label_type: Some(400),
            ..SampleLabel::default()
        },
    );
    let (_, losses) = write_line_reporting(&r, 1, "obs://", Some("a.xml"));
    assert_eq!(losses[0].reason, "label type 400 has no manifest annotation type");
    assert_eq!(losses[0].label.as_deref(), Some("x"));
}

fn arb_label(types: &'static [i64]) -> impl Strategy<Value = SampleLabel> {
    (
        prop::sample::select(types),
        "\\PC{1,8}",
        prop::option::of(prop::sample::select(vec!["human", "auto", "modelarts/active-learning"])),
        prop::option::of(0.0..=1.0f64),
        prop::option::of(prop::sample::select(vec!["true", "false"])),
        prop::option::of("[a-z]{1,5}"),
    )
        .prop_map(|(t, name, by, score, hard, color)| {
            let mut property = Map::new();
            if let Some(h) = hard {
                property.insert(keys::HARD.into(), h.into());
            }
            if let Some(c) = color {
                property.insert("color".into(), c.into());
                property.insert(keys::CREATION_TIME.into(), "2019-01-23 11:30:30".into());
            }
            SampleLabel {
                name: Some(name),
                label_type: Some(t),
                property: (!property.is_empty()).then_some(property),
                score,
                annotated_by: by.map(str::to_string),
                ..SampleLabel::default()
            }
        })
}

fn arb_record() -> impl Strategy<Value = (i64, Record)> {
    let by_dataset = prop_oneof![
        prop::collection::vec(arb_label(&[0]), 0..4).prop_map(|l| (0i64, l)),
        prop::collection::vec(arb_label(&[100]), 0..4).prop_map(|l| (100i64, l)),
        prop::collection::vec(arb_label(&[200]), 0..4).prop_map(|l| (200i64, l)),
    ];
    (
        by_dataset,
        "[a-z0-9/._-]{1,20}",
        prop::option::of(prop::sample::select(vec!["TRAIN", "EVAL", "TEST", "INFERENCE"])),
        prop::option::of(any::<bool>()),
        prop::option::of(0.0..=1.0f64),
        prop::option::of("[0-9a-f]{32}"),
        prop::option::of((1u32..5000, 1u32..5000, 1u32..5)),
    )
        .prop_map(|((dataset_type, labels), key, usage, hard, coefficient, id, size)| {
            let mut record = Record::new(format!("obs://bucket/{key}"));
            record.labels = labels;
            record.usage = usage.map(str::to_string);
            record.hard = hard;
            record.hard_coefficient = coefficient;
            record.id = id;
            record.size = size.map(|(w, h, d)| [w, h, d]);
            (dataset_type, record)
        })
}

proptest! {
    #[test]
    fn any_record_reads_back_as_written((dataset_type, record) in arb_record()) {
        let line = write_line(&record, dataset_type, "obs://", None);
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(parsed(dataset_type, &line).record, record);
    }
}

#[test]
fn a_free_format_line_types_its_entities_by_whether_it_holds_relations() {
    let entity = r#"{"type":"modelarts/text_entity","name":"P","id":"E1","property":{"@modelarts:start_index":0,"@modelarts:end_index":1}}"#;
    let relation = r#"{"type":"modelarts/text_triplet","name":"R","id":"R1","property":{"@modelarts:from":"E1","@modelarts:to":"E1"}}"#;
    let alone = format!(r#"{{"source":"content://ab","annotation":[{entity}]}}"#);
    let both = format!(r#"{{"source":"content://ab","annotation":[{entity},{relation}]}}"#);
    assert_eq!(parsed(900, &alone).record.labels[0].label_type, Some(101));
    assert_eq!(parsed(900, &both).record.labels[0].label_type, Some(103));
    let record = parsed(900, &both).record;
    assert_eq!(parsed(900, &write_line(&record, 900, "obs://", None)).record, record);
}

/// A text of letters, spaces and ideographs with entities inside it (and, for triplets, relations
/// between them).
fn arb_text_record() -> impl Strategy<Value = (i64, Record)> {
    (
        "[a-zé 北京]{1,30}",
        prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(text, spans, triplet)| {
            let len = text.chars().count();
            let mut record = Record::new(format!("content://{text}"));
            for (k, (a, b)) in spans.iter().enumerate() {
                let (a, b) = (a.index(len), b.index(len));
                let (s, e) = (a.min(b), a.max(b) + 1);
                let mut property = Map::new();
                property.insert(keys::START_INDEX.into(), s.into());
                property.insert(keys::END_INDEX.into(), e.into());
                record.labels.push(SampleLabel {
                    id: triplet.then(|| format!("E{}", k + 1)),
                    name: Some(format!("T{k}")),
                    label_type: Some(if triplet { 103 } else { 101 }),
                    property: Some(property),
                    ..SampleLabel::default()
                });
            }
            let entities = record.labels.len();
            if triplet && entities > 0 {
                let mut property = Map::new();
                property.insert(keys::FROM.into(), "E1".into());
                property.insert(keys::TO.into(), format!("E{entities}").into());
                record.labels.push(SampleLabel {
                    id: Some("R1".into()),
                    name: Some("rel".into()),
                    label_type: Some(102),
                    property: Some(property),
                    ..SampleLabel::default()
                });
            }
            (if triplet { 102 } else { 101 }, record)
        })
}

proptest! {
    #[test]
    fn any_text_record_reads_back_as_written((dataset_type, record) in arb_text_record()) {
        let line = write_line(&record, dataset_type, "obs://", None);
        prop_assert_eq!(parsed(dataset_type, &line).record, record);
    }
}
