//! Writing a record's shapes as a VOC file.

use std::fmt::Write as _;

use quick_xml::escape::escape;
use serde_json::Value;
use teamlabel_api::labels::SampleLabel;

use crate::geometry::{self, fmt_number, Geometry, Shape};
use crate::keys;
use crate::record::{Loss, LossKind, Record};

/// Label property keys a VOC object holds (the `manifest:` keys travel in the manifest line).
const HELD: &[&str] = &[
    keys::SHAPE,
    keys::FEATURE,
    keys::HARD_COEFFICIENT,
    keys::VOC_POSE,
    keys::VOC_TRUNCATED,
    keys::VOC_OCCLUDED,
    keys::VOC_DIFFICULT,
    keys::VOC_MASK_COLOR,
];

/// Writes the VOC file of `record` (`<segmented>1` when a label is of type 3, `<mask_source>`
/// from the sample property `voc:mask_source`). Every shape is written; a label that is no shape,
/// has no name or a feature that does not fit its shape is dropped and listed, and a label
/// written without some of its property keys (or its id) is listed as converted. Without a known
/// size the file has no `<size>`, which is listed too.
pub fn write(record: &Record, filename: &str, folder: &str) -> (String, Vec<Loss>) {
    let mut losses = Vec::new();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<annotation>\n");
    let _ = writeln!(out, "  <folder>{}</folder>", escape(folder));
    let _ = writeln!(out, "  <filename>{}</filename>", escape(filename));
    out.push_str("  <source>\n    <database>Unknown</database>\n  </source>\n");
    match record.size {
        Some([w, h, d]) => {
            let _ = writeln!(
                out,
                "  <size>\n    <width>{w}</width>\n    <height>{h}</height>\n    <depth>{d}</depth>\n  </size>"
            );
        }
        None => losses.push(record.loss(
            None,
            LossKind::Converted,
            "image size unknown: the VOC file has no <size>",
        )),
    }
    let segmented = record.labels.iter().any(|l| l.label_type == Some(3));
    let _ = writeln!(out, "  <segmented>{}</segmented>", u8::from(segmented));
    if let Some(mask) = record.property.get(keys::VOC_MASK_SOURCE).and_then(Value::as_str) {
        let _ = writeln!(out, "  <mask_source>{}</mask_source>", escape(mask));
    }
    for label in &record.labels {
        let geometry = match geometry::of_label(label) {
            Ok(Some(g)) => g,
            Ok(None) => {
                let reason = "not a shape: a PASCAL VOC file holds only bndbox, polygon, circle, line, dashed, point and polyline objects";
                losses.push(record.loss(Some(label), LossKind::Dropped, reason));
                continue;
            }
            Err(why) => {
                losses.push(record.loss(Some(label), LossKind::Dropped, why));
                continue;
            }
        };
        let Some(name) = &label.name else {
            losses.push(record.loss(Some(label), LossKind::Dropped, "a VOC object needs a name"));
            continue;
        };
        write_object(&mut out, name, label, &geometry);
        let mut left_out: Vec<&str> = label
            .property
            .iter()
            .flat_map(|p| p.keys())
            .map(String::as_str)
            .filter(|k| !HELD.contains(k) && !k.starts_with(keys::MANIFEST_PREFIX))
            .collect();
        if label.id.is_some() {
            left_out.insert(0, "id");
        }
        if !left_out.is_empty() {
            let reason = format!(
                "written without {}: PASCAL VOC has no place for them",
                left_out.join(", ")
            );
            losses.push(record.loss(Some(label), LossKind::Converted, reason));
        }
    }
    out.push_str("</annotation>\n");
    (out, losses)
}

fn write_object(out: &mut String, name: &str, label: &SampleLabel, g: &Geometry) {
    let property = label.property.clone().unwrap_or_default();
    let text = |key: &str, default: &str| match property.get(key) {
        Some(Value::String(s)) => escape(s.as_str()).into_owned(),
        Some(v) => v.to_string(),
        None => default.to_string(),
    };
    let _ = writeln!(out, "  <object>\n    <name>{}</name>", escape(name));
    let _ = writeln!(out, "    <pose>{}</pose>", text(keys::VOC_POSE, "Unspecified"));
    let _ = writeln!(out, "    <truncated>{}</truncated>", text(keys::VOC_TRUNCATED, "0"));
    let _ = writeln!(out, "    <occluded>{}</occluded>", text(keys::VOC_OCCLUDED, "0"));
    let _ = writeln!(out, "    <difficult>{}</difficult>", text(keys::VOC_DIFFICULT, "0"));
    if let Some(score) = label.score {
        let _ = writeln!(out, "    <confidence>{}</confidence>", fmt_number(score));
    }
    if property.contains_key(keys::HARD_COEFFICIENT) {
        let _ = writeln!(
            out,
            "    <hard-coefficient>{}</hard-coefficient>",
            text(keys::HARD_COEFFICIENT, "")
        );
    }
    if property.contains_key(keys::VOC_MASK_COLOR) {
        let _ = writeln!(out, "    <mask_color>{}</mask_color>", text(keys::VOC_MASK_COLOR, ""));
    }
    let mut coords: Vec<(String, f64)> = Vec::new();
    let p = &g.points;
    match g.shape {
        Shape::BndBox => {
            coords = vec![
                ("xmin".into(), p[0][0]),
                ("ymin".into(), p[0][1]),
                ("xmax".into(), p[1][0]),
                ("ymax".into(), p[1][1]),
            ]
        }
        Shape::Circle => {
            coords = vec![
                ("cx".into(), p[0][0]),
                ("cy".into(), p[0][1]),
                ("r".into(), g.radius.unwrap_or(0.0)),
            ]
        }
        _ => {
            for (i, [x, y]) in p.iter().enumerate() {
                coords.push((format!("x{}", i + 1), *x));
                coords.push((format!("y{}", i + 1), *y));
            }
        }
    }
    let s = g.shape.name();
    let _ = writeln!(out, "    <{s}>");
    for (element, v) in coords {
        let _ = writeln!(out, "      <{element}>{}</{element}>", fmt_number(v));
    }
    let _ = writeln!(out, "    </{s}>\n  </object>");
}
