//! Writing one manifest line. It must not write the VOC file its annotation names.

use serde_json::{Map, Value};
use teamlabel_api::enums::DatasetType;
use teamlabel_api::labels::SampleLabel;

use super::{manifest_type, with_header, TYPE_PREFIX, VOC_FORMAT};
use crate::geometry::number;
use crate::keys;
use crate::record::{Loss, LossKind, Record};

/// Top-level keys a line writes itself; [`Record::extra`] never overrides them.
const SAMPLE_KEYS: &[&str] = &[
    "source",
    "usage",
    "id",
    "sample-type",
    "hard",
    "hard-coefficient",
    "property",
    "annotation",
];

/// Writes `record` as one manifest line of a dataset of `dataset_type` (no trailing newline):
/// the source's `obs://`/`s3://` scheme replaced by `header`, `modelarts/` types, hyphenated
/// keys, and the detection or segmentation labels as one annotation naming `annotation_loc` with
/// `annotation-format: "PASCAL VOC"`. See [`write_line_reporting`] for what is left out.
pub fn write_line(record: &Record, dataset_type: i64, header: &str, annotation_loc: Option<&str>) -> String {
    write_line_reporting(record, dataset_type, header, annotation_loc).0
}

/// [`write_line`], with what the line could not hold: labels of a type with no manifest type (or
/// no type where the dataset type implies none), geometry labels when no `annotation_loc` is
/// given, and the `annotated-by` or `manifest:` keys the geometry labels disagree on (the one
/// annotation can carry only shared values).
pub fn write_line_reporting(
    record: &Record,
    dataset_type: i64,
    header: &str,
    annotation_loc: Option<&str>,
) -> (String, Vec<Loss>) {
    let default_type = DatasetType::from_code(dataset_type)
        .and_then(|d| d.default_label_type())
        .map(|t| i64::from(t.code()));
    let mut losses = Vec::new();
    let mut annotations = Vec::new();
    let mut geometry_written = false;
    let typed = |l: &SampleLabel| l.label_type.or(default_type).and_then(manifest_type);
    for label in &record.labels {
        match typed(label) {
            None => {
                let reason = match label.label_type.or(default_type) {
                    Some(t) => format!("label type {t} has no manifest annotation type"),
                    None => format!("the label has no type and a dataset of type {dataset_type} implies none"),
                };
                losses.push(record.loss(Some(label), LossKind::Dropped, reason));
            }
            Some((t, false)) => annotations.push(annotation(label, t)),
            Some((_, true)) if geometry_written => {}
            Some((_, true)) => {
                geometry_written = true;
                let shapes: Vec<&SampleLabel> = record
                    .labels
                    .iter()
                    .filter(|l| matches!(typed(l), Some((_, true))))
                    .collect();
                match annotation_loc {
                    Some(loc) => annotations.push(voc_annotation(record, &shapes, loc, &mut losses)),
                    None => losses.extend(shapes.iter().map(|l| {
                        record.loss(
                            Some(l),
                            LossKind::Dropped,
                            "shapes travel in a PASCAL VOC file and none was named",
                        )
                    })),
                }
            }
        }
    }
    let mut property = record.property.clone();
    if let Some([w, h, d]) = record.size {
        property.insert(keys::SIZE.into(), Value::from(vec![w, h, d]));
    }
    let json = |v: Value| v.to_string();
    let mut pairs: Vec<(String, String)> = vec![("source".into(), json(with_header(&record.source, header).into()))];
    pairs.extend(record.usage.clone().map(|u| ("usage".into(), json(u.into()))));
    pairs.extend(record.id.clone().map(|id| ("id".into(), json(id.into()))));
    pairs.extend(record.sample_type.map(|t| ("sample-type".into(), json(t.into()))));
    pairs.extend(record.hard.map(|h| ("hard".into(), json(h.to_string().into()))));
    pairs.extend(
        record
            .hard_coefficient
            .map(|c| ("hard-coefficient".into(), json(c.into()))),
    );
    if !property.is_empty() {
        pairs.push(("property".into(), json(property.into())));
    }
    if !annotations.is_empty() {
        let written: Vec<String> = annotations.into_iter().map(|a| object(&annotation_order(a))).collect();
        pairs.push(("annotation".into(), format!("[{}]", written.join(","))));
    }
    pairs.extend(
        record
            .extra
            .iter()
            .filter(|(k, _)| !SAMPLE_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), json(v.clone()))),
    );
    (object(&pairs), losses)
}

/// An annotation for a label that the line holds itself.
fn annotation(label: &SampleLabel, manifest_type: &str) -> Map<String, Value> {
    let mut property = label.property.clone().unwrap_or_default();
    let mut out = Map::new();
    out.insert("type".into(), format!("{TYPE_PREFIX}{manifest_type}").into());
    if let Some(name) = &label.name {
        out.insert("name".into(), name.clone().into());
    }
    if let Some(id) = &label.id {
        out.insert("id".into(), id.clone().into());
    }
    let hard = match property.get(keys::HARD).and_then(Value::as_str) {
        Some(h @ ("true" | "false")) => Some(h.to_string()),
        _ => None,
    };
    if let Some(h) = hard {
        property.remove(keys::HARD);
        out.insert("hard".into(), h.into());
    }
    // Lifted only when the number reads back as the same string, so nothing changes on a round trip.
    let coefficient = property
        .get(keys::HARD_COEFFICIENT)
        .and_then(Value::as_str)
        .and_then(|s| {
            let n = number(s.parse::<f64>().ok()?);
            let text = n.to_string();
            (text == s).then_some(n)
        });
    if let Some(c) = coefficient {
        property.remove(keys::HARD_COEFFICIENT);
        out.insert("hard-coefficient".into(), c);
    }
    if let Some(by) = &label.annotated_by {
        out.insert("annotated-by".into(), by.clone().into());
    }
    if let Some(score) = label.score {
        out.insert("confidence".into(), score.into());
    }
    let lifted: Vec<String> = property
        .keys()
        .filter(|k| k.starts_with(keys::MANIFEST_PREFIX))
        .cloned()
        .collect();
    for key in lifted {
        let v = property.remove(&key).unwrap_or(Value::Null);
        out.entry(key[keys::MANIFEST_PREFIX.len()..].to_string()).or_insert(v);
    }
    if !property.is_empty() {
        out.insert("property".into(), property.into());
    }
    out
}

/// The one annotation naming the VOC file, with what all its objects agree on.
fn voc_annotation(record: &Record, shapes: &[&SampleLabel], loc: &str, losses: &mut Vec<Loss>) -> Map<String, Value> {
    let segmentation = shapes.iter().any(|l| l.label_type == Some(3));
    let t = if segmentation {
        "image_segmentation"
    } else {
        "object_detection"
    };
    let mut out = Map::new();
    out.insert("type".into(), format!("{TYPE_PREFIX}{t}").into());
    out.insert("annotation-loc".into(), loc.into());
    out.insert("annotation-format".into(), VOC_FORMAT.into());
    let by: Vec<Option<Value>> = shapes.iter().map(|l| l.annotated_by.clone().map(Value::from)).collect();
    shared("annotated-by", &by, record, loc, &mut out, losses);
    let mut manifest_keys: Vec<&String> = shapes
        .iter()
        .filter_map(|l| l.property.as_ref())
        .flat_map(|p| p.keys().filter(|k| k.starts_with(keys::MANIFEST_PREFIX)))
        .collect();
    manifest_keys.sort();
    manifest_keys.dedup();
    for key in manifest_keys {
        let values: Vec<Option<Value>> = shapes
            .iter()
            .map(|l| l.property.as_ref().and_then(|p| p.get(key)).cloned())
            .collect();
        shared(
            &key[keys::MANIFEST_PREFIX.len()..],
            &values,
            record,
            loc,
            &mut out,
            losses,
        );
    }
    out
}

/// Writes `key` when every object has the same value; reports it when they disagree.
fn shared(
    key: &str,
    values: &[Option<Value>],
    record: &Record,
    loc: &str,
    out: &mut Map<String, Value>,
    losses: &mut Vec<Loss>,
) {
    match values.first() {
        Some(first) if values.iter().all(|v| v == first) => {
            if let (Some(v), false) = (first, out.contains_key(key)) {
                out.insert(key.to_string(), v.clone());
            }
        }
        Some(_) => losses.push(record.loss(
            None,
            LossKind::Converted,
            format!("the objects of {loc} disagree on {key}; the annotation is written without it"),
        )),
        None => {}
    }
}

/// A JSON object of already written values, its keys in the given order.
fn object(pairs: &[(String, String)]) -> String {
    let fields: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// The keys of an annotation in the guide's order, then the rest sorted.
fn annotation_order(mut map: Map<String, Value>) -> Vec<(String, String)> {
    const ORDER: &[&str] = &[
        "type",
        "name",
        "id",
        "property",
        "hard",
        "hard-coefficient",
        "annotated-by",
        "confidence",
        "annotation-loc",
        "annotation-format",
        "creation-time",
    ];
    let mut pairs: Vec<(String, String)> = ORDER
        .iter()
        .filter_map(|k| map.remove(*k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    pairs.extend(map.into_iter().map(|(k, v)| (k, v.to_string())));
    pairs
}
