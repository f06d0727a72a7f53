use serde_json::{json, Value};
use teamlabel_api::labels::SampleLabel;

use super::*;
use crate::fixtures::GUIDE_VOC;
use crate::record::{LossKind, Record};

fn label(name: &str, label_type: i64, property: Value) -> SampleLabel {
    SampleLabel {
        name: Some(name.into()),
        label_type: Some(label_type),
        property: property.as_object().cloned(),
        ..SampleLabel::default()
    }
}

fn two_objects() -> Record {
    let mut r = Record::new("obs://bucket/dogs/a&b.jpg");
    r.size = Some([767, 959, 3]);
    r.labels = vec![
        label(
            "bag",
            1,
            json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[108, 101], [251, 238]]}),
        ),
        SampleLabel {
            score: Some(0.75),
            ..label(
                "dog <big>",
                1,
                json!({"@modelarts:shape": "point", "@modelarts:feature": [[10.5, 20]], "voc:difficult": 1,
                       "@modelarts:hard_coefficient": "0.8"}),
            )
        },
    ];
    r
}

#[test]
fn a_two_object_record_is_written_as_the_guide_shows() {
    let (xml, losses) = write(&two_objects(), "a&b.jpg", "dogs");
    assert!(losses.is_empty(), "{losses:?}");
    assert_eq!(
        xml,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<annotation>
  <folder>dogs</folder>
  <filename>a&amp;b.jpg</filename>
  <source>
    <database>Unknown</database>
  </source>
  <size>
    <width>767</width>
    <height>959</height>
    <depth>3</depth>
  </size>
  <segmented>0</segmented>
  <object>
    <name>bag</name>
    <pose>Unspecified</pose>
    <truncated>0</truncated>
    <occluded>0</occluded>
    <difficult>0</difficult>
    <bndbox>
      <xmin>108</xmin>
      <ymin>101</ymin>
      <xmax>251</xmax>
      <ymax>238</ymax>
    </bndbox>
  </object>
  <object>
    <name>dog &lt;big&gt;</name>
    <pose>Unspecified</pose>
    <truncated>0</truncated>
    <occluded>0</occluded>
    <difficult>1</difficult>
    <confidence>0.75</confidence>
    <hard-coefficient>0.8</hard-coefficient>
    <point>
      <x1>10.5</x1>
      <y1>20</y1>
    </point>
  </object>
</annotation>
"#
    );
    let doc = parse(&xml).unwrap();
    assert_eq!((doc.filename.as_str(), doc.folder.as_str()), ("a&b.jpg", "dogs"));
    assert_eq!(doc.labels, two_objects().labels);
}

#[test]
fn every_shape_and_the_free_keys_round_trip() {
    let mut r = Record::new("obs://b/seg.jpg");
    r.size = Some([640, 480, 1]);
    r.property
        .insert(crate::keys::VOC_MASK_SOURCE.into(), "obs://b/seg.png".into());
    r.labels = vec![
        label(
            "a",
            3,
            json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[0, 0], [640, 480]],
                             "voc:pose": "Left", "voc:truncated": 1, "voc:occluded": 1,
                             "voc:mask_color": "193,243,53"}),
        ),
        label(
            "b",
            3,
            json!({"@modelarts:shape": "polygon", "@modelarts:feature": [[1, 2], [30.25, 4], [5, 60]]}),
        ),
        label(
            "c",
            3,
            json!({"@modelarts:shape": "circle", "@modelarts:feature": [[100, 100], [50]]}),
        ),
        label(
            "d",
            3,
            json!({"@modelarts:shape": "line", "@modelarts:feature": [[0, 100], [50, 95]]}),
        ),
        label(
            "e",
            3,
            json!({"@modelarts:shape": "dashed", "@modelarts:feature": [[0, 100], [50, 95]]}),
        ),
        label(
            "f",
            3,
            json!({"@modelarts:shape": "point", "@modelarts:feature": [[0, 100]]}),
        ),
        label(
            "g",
            3,
            json!({"@modelarts:shape": "polyline", "@modelarts:feature": [[0, 100], [50, 95], [10, 60]]}),
        ),
    ];
    let (xml, losses) = write(&r, "seg.jpg", "NA");
    assert!(losses.is_empty(), "{losses:?}");
    assert!(
        xml.contains("<segmented>1</segmented>\n  <mask_source>obs://b/seg.png</mask_source>"),
        "{xml}"
    );
    let doc = parse(&xml).unwrap();
    assert_eq!(doc.size, Some([640, 480, 1]));
    assert!(doc.segmented);
    assert_eq!(doc.mask_source.as_deref(), Some("obs://b/seg.png"));
    assert_eq!(doc.labels, r.labels);
}

#[test]
fn the_guide_example_with_its_broken_radius_tag_is_read() {
    let doc = parse(GUIDE_VOC).unwrap();
    assert_eq!(doc.size, Some([767, 959, 3]));
    let labels: Vec<Value> = doc.labels.iter().map(|l| serde_json::to_value(l).unwrap()).collect();
    assert_eq!(
        labels,
        [
            json!({"name":"bag","type":1,"property":{"@modelarts:shape":"bndbox","@modelarts:feature":[[108,101],[251,238]]}}),
            json!({"name":"circle","type":1,"property":{"@modelarts:shape":"circle","@modelarts:feature":[[405,170],[100]]}}),
        ]
    );
}

#[test]
fn a_point_may_be_written_with_x_and_y() {
    let doc = parse("<annotation><object><name>p</name><point><x>3</x><y>4</y></point></object></annotation>").unwrap();
    assert_eq!(doc.size, None);
    let zero = "<annotation><size><width>0</width><height>0</height></size></annotation>";
    assert_eq!(parse(zero).unwrap().size, None, "a size of 0 means unknown");
    assert_eq!(
        doc.labels[0].property.as_ref().unwrap()["@modelarts:feature"],
        json!([[3, 4]])
    );
}

#[test]
fn broken_objects_are_refused_naming_the_object() {
    let object = |inner: &str| {
        format!(
            "<annotation><size><width>100</width><height>50</height><depth>3</depth></size>\
             <object><name>ok</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>\
             <object>{inner}</object></annotation>"
        )
    };
    let cases = [
        (
            "<name>car</name><bndbox><xmin>10</xmin><ymin>10</ymin><xmax>101</xmax><ymax>20</ymax></bndbox>",
            "object 2 (car): point (101, 20) of the bndbox lies outside the image 100x50",
        ),
        (
            "<name>car</name><bndbox><xmin>30</xmin><ymin>10</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>",
            "object 2 (car): xmin 30 must be less than xmax 20",
        ),
        (
            "<name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax></bndbox>",
            "",
        ),
        (
            "<name>car</name><bndbox><xmin>abc</xmin><ymin>10</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>",
            "object 2 (car): <xmin> of the bndbox is not a number: \"abc\"",
        ),
        (
            "<name>pt</name><point><x1>-1</x1><y1>3</y1></point>",
            "object 2 (pt): point (-1, 3) of the point lies outside the image 100x50",
        ),
        (
            "<name>car</name>",
            "object 2 (car): no shape (one of bndbox, polygon, circle, line, dashed, point, polyline)",
        ),
        ("<bndbox><xmin>1</xmin></bndbox>", "object 2: <name> is required"),
        (
            "<name>poly</name><polygon><x1>1</x1><y1>1</y1><x2>2</x2><y2>2</y2></polygon>",
            "object 2 (poly): a polygon needs at least 3 points (x1, y1, x2, y2, ...), got 2",
        ),
        (
            "<name>c</name><circle><cx>1</cx><cy>1</cy><r>0</r></circle>",
            "object 2 (c): the radius of the circle must be > 0, got 0",
        ),
        (
            "<name>c</name><confidence>high</confidence><point><x1>1</x1><y1>1</y1></point>",
            "object 2 (c): <confidence> is not a number: \"high\"",
        ),
    ];
    for (inner, want) in cases {
        match parse(&object(inner)) {
            Ok(_) => assert_eq!(want, "", "{inner} was accepted"),
            Err(e) => assert_eq!(e.reason, want, "{inner}"),
        }
    }
    assert_eq!(
        parse("<voc/>").unwrap_err().reason,
        "the root element must be <annotation>, got <voc>"
    );
    assert_eq!(
        parse("<annotation><size><width>a</width></size></annotation>")
            .unwrap_err()
            .reason,
        "<size>: width is not a whole number: \"a\""
    );
}

#[test]
fn what_voc_cannot_hold_is_listed() {
    let mut r = two_objects();
    r.size = None;
    r.labels[0]
        .property
        .as_mut()
        .unwrap()
        .insert("color".into(), "red".into());
    r.labels[0]
        .property
        .as_mut()
        .unwrap()
        .insert("manifest:creation-time".into(), "2019-01-23 11:30:30".into());
    r.labels.push(label("cat", 0, json!({})));
    r.labels.push(label(
        "bad",
        1,
        json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2]]}),
    ));
    let (xml, losses) = write(&r, "a.jpg", "NA");
    assert!(!xml.contains("<size>"));
    let got = crate::fixtures::losses(&losses);
    assert_eq!(
        got,
        [
            (None, LossKind::Converted, "image size unknown: the VOC file has no <size>"),
            (Some("bag"), LossKind::Converted, "written without color: PASCAL VOC has no place for them"),
            (
                Some("cat"),
                LossKind::Dropped,
                "not a shape: a PASCAL VOC file holds only bndbox, polygon, circle, line, dashed, point and polyline objects"
            ),
            (Some("bad"), LossKind::Dropped, "the @modelarts:feature of a bndbox does not fit its shape"),
        ]
    );
    assert_eq!(losses[0].sample, "obs://bucket/dogs/a&b.jpg");
}
