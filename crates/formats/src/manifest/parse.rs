//! Reading one manifest line. It must not read the VOC files the line names.

use serde_json::{Map, Value};
use teamlabel_api::labels::SampleLabel;

use super::{datasets_of, needs_name, ManifestLine, Pending, ANNOTATION_TYPES, TYPE_PREFIX, VOC_FORMAT};
use crate::entities::{self, check_relation, check_span, TRIPLET};
use crate::geometry::number;
use crate::keys;
use crate::record::{InputError, Record};

const USAGES: &[&str] = &["TRAIN", "EVAL", "TEST", "INFERENCE"];
const SAMPLE_TYPES: &[i64] = &[0, 1, 2, 4, 6, 9];

/// Reads one manifest line of a dataset of `dataset_type`. Refused (with the reason, and no line
/// number: the caller adds it with [`InputError::on_line`]) when the line is not a JSON object,
/// has no `source`, holds an unknown annotation type or one that does not belong to the dataset
/// type, a classification, entity or triplet annotation without a name, a text entity without
/// indices or with indices outside a `content://` text, a triplet whose `@modelarts:from`/`to`
/// names no entity id of the line, or a detection/segmentation annotation without
/// `annotation-loc`.
pub fn parse_line(line: &str, dataset_type: i64) -> Result<ManifestLine, InputError> {
    let err = |reason: String| InputError::new(reason);
    let value: Value =
        serde_json::from_str(line.trim_start_matches('\u{feff}')).map_err(|e| err(format!("broken JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(err("a manifest line must be a JSON object".into()));
    };
    let mut record = Record::default();
    let mut annotations = Vec::new();
    for (key, v) in object {
        match key.as_str() {
            "source" => record.source = v.as_str().unwrap_or_default().to_string(),
            "usage" => record.usage = usage(&v).map_err(err)?,
            "id" => record.id = Some(string("id", &v).map_err(err)?),
            "sample-type" => {
                record.sample_type = Some(
                    v.as_i64()
                        .filter(|t| SAMPLE_TYPES.contains(t))
                        .ok_or_else(|| err(format!("sample-type must be one of 0, 1, 2, 4, 6, 9, got {v}")))?,
                )
            }
            "hard" => record.hard = Some(hard("hard", &v).map_err(err)?),
            "hard-coefficient" => record.hard_coefficient = Some(coefficient("hard-coefficient", &v).map_err(err)?),
            "property" => {
                let mut property = match v {
                    Value::Object(p) => p,
                    Value::Null => Map::new(),
                    _ => return Err(err("property must be a JSON object".into())),
                };
                record.size = property.get(keys::SIZE).and_then(size);
                if record.size.is_some() {
                    property.remove(keys::SIZE);
                }
                record.property = property;
            }
            "annotation" => match v {
                Value::Null => {}
                Value::Array(list) => annotations = list,
                _ => return Err(err("annotation must be a list".into())),
            },
            _ => {
                record.extra.insert(key, v);
            }
        }
    }
    if record.source.is_empty() {
        return Err(err("source is required (a non-empty string)".into()));
    }
    let has_relation = annotations
        .iter()
        .any(|a| a.get("type").and_then(Value::as_str).map(bare) == Some("text_triplet"));
    let mut pending = Vec::new();
    let mut numbers = Vec::new();
    for (i, a) in annotations.into_iter().enumerate() {
        let at = format!("annotation {}", i + 1);
        let Value::Object(a) = a else {
            return Err(err(format!("{at}: must be a JSON object")));
        };
        let read = annotation(&at, a, dataset_type, has_relation).map_err(err)?;
        match read {
            Read::Label(label) => {
                record.labels.push(label);
                numbers.push(i + 1);
            }
            Read::Voc {
                loc,
                label_type,
                template,
            } => pending.push(Pending {
                loc,
                label_type,
                at: record.labels.len(),
                template,
                merged: false,
            }),
        }
    }
    check_texts(&record, &numbers).map_err(err)?;
    let annotation_locs = pending.iter().map(|p| p.loc.clone()).collect();
    Ok(ManifestLine {
        record,
        annotation_locs,
        pending,
    })
}

enum Read {
    Label(SampleLabel),
    Voc {
        loc: String,
        label_type: i64,
        template: SampleLabel,
    },
}

fn bare(t: &str) -> &str {
    t.strip_prefix(TYPE_PREFIX).unwrap_or(t)
}

fn annotation(at: &str, a: Map<String, Value>, dataset_type: i64, has_relation: bool) -> Result<Read, String> {
    let raw_type = a
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}: type is required"))?
        .to_string();
    let raw_type = raw_type.as_str();
    let t = bare(raw_type);
    if !ANNOTATION_TYPES.contains(&t) {
        return Err(format!("{at}: unknown type {raw_type}"));
    }
    if !datasets_of(t).contains(&dataset_type) {
        return Err(format!(
            "{at}: type {raw_type} does not belong to a dataset of type {dataset_type}"
        ));
    }
    let label_type = match t {
        "image_classification" => 0,
        "object_detection" if dataset_type == 600 => 600,
        "object_detection" => 1,
        "image_segmentation" => 3,
        "text_classification" => 100,
        "text_entity" => entities::entity_type(dataset_type, has_relation),
        "text_triplet" => TRIPLET,
        "audio_classification" => 200,
        "audio_content" => 201,
        _ => 202,
    };
    let mut label = SampleLabel {
        label_type: Some(label_type),
        ..SampleLabel::default()
    };
    let mut property = Map::new();
    let mut loc = None;
    let mut extras = Map::new();
    for (key, v) in a {
        match key.as_str() {
            "type" => {}
            "name" => label.name = Some(string(&format!("{at}: name"), &v)?),
            "id" => label.id = Some(string(&format!("{at}: id"), &v)?),
            "property" => match v {
                Value::Object(p) => property = p,
                Value::Null => {}
                _ => return Err(format!("{at}: property must be a JSON object")),
            },
            "annotated-by" => label.annotated_by = Some(string(&format!("{at}: annotated-by"), &v)?),
            "confidence" => {
                label.score = Some(
                    v.as_f64()
                        .ok_or_else(|| format!("{at}: confidence must be a number, got {v}"))?,
                )
            }
            "hard" => {
                extras.insert(
                    keys::HARD.into(),
                    Value::from(hard(&format!("{at}: hard"), &v)?.to_string()),
                );
            }
            "hard-coefficient" => {
                let c = coefficient(&format!("{at}: hard-coefficient"), &v)?;
                let text = match &v {
                    Value::String(s) => s.clone(),
                    _ => number(c).to_string(),
                };
                extras.insert(keys::HARD_COEFFICIENT.into(), Value::from(text));
            }
            "annotation-loc" if matches!(t, "object_detection" | "image_segmentation") => {
                loc = Some(string(&format!("{at}: annotation-loc"), &v)?)
            }
            "annotation-format" if matches!(t, "object_detection" | "image_segmentation") => {
                let f = string(&format!("{at}: annotation-format"), &v)?;
                if !f.eq_ignore_ascii_case(VOC_FORMAT) {
                    return Err(format!(
                        "{at}: annotation-format {f} is not supported; only {VOC_FORMAT}"
                    ));
                }
            }
            _ => {
                extras.insert(format!("{}{key}", keys::MANIFEST_PREFIX), v);
            }
        }
    }
    if needs_name(t) && label.name.as_deref().is_none_or(str::is_empty) {
        return Err(format!("{at}: {raw_type} needs a name"));
    }
    property.extend(extras);
    label.property = (!property.is_empty()).then_some(property);
    if matches!(t, "object_detection" | "image_segmentation") {
        let loc = loc.ok_or_else(|| format!("{at}: {raw_type} needs annotation-loc (the PASCAL VOC file)"))?;
        return Ok(Read::Voc {
            loc,
            label_type,
            template: label,
        });
    }
    Ok(Read::Label(label))
}

/// Entity offsets against the `content://` text, relation ends against the line's entity ids.
/// `numbers` holds the annotation number of each label.
fn check_texts(record: &Record, numbers: &[usize]) -> Result<(), String> {
    let text = record.text();
    let mut ids = Vec::new();
    let name = |i: usize| {
        let l = &record.labels[i];
        format!("annotation {} ({})", numbers[i], l.name.as_deref().unwrap_or_default())
    };
    for (i, l) in record.labels.iter().enumerate() {
        if matches!(l.label_type, Some(101 | 103)) {
            let at = name(i);
            check_span(&at, text, l.property.as_ref().unwrap_or(&Map::new()))?;
            ids.extend(l.id.as_deref());
        }
    }
    for (i, l) in record.labels.iter().enumerate() {
        if l.label_type == Some(TRIPLET) {
            let at = name(i);
            check_relation(&at, &ids, l.property.as_ref())?;
        }
    }
    Ok(())
}

fn string(what: &str, v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{what} must be a string, got {v}"))
}

fn usage(v: &Value) -> Result<Option<String>, String> {
    let u = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_ascii_uppercase(),
        _ => return Err(format!("usage must be a string, got {v}")),
    };
    if u.is_empty() {
        return Ok(None);
    }
    if !USAGES.contains(&u.as_str()) {
        return Err(format!("usage must be one of {}, got {v}", USAGES.join(", ")));
    }
    Ok(Some(u))
}

/// `"true"`/`"false"` (any case), `"1"`/`"0"`, or a JSON bool.
fn hard(what: &str, v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") || s == "0" => Ok(false),
        _ => Err(format!("{what} must be \"true\" or \"false\", got {v}")),
    }
}

/// A number in [0, 1], or a string holding one.
fn coefficient(what: &str, v: &Value) -> Result<f64, String> {
    let c = match v {
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => v.as_f64(),
    };
    c.filter(|c| (0.0..=1.0).contains(c))
        .ok_or_else(|| format!("{what} must be a number from 0 to 1, got {v}"))
}

/// `[w, h]` or `[w, h, d]` of positive integers (depth 3 when left out).
pub(super) fn size(v: &Value) -> Option<[u32; 3]> {
    let dims: Vec<u32> = v
        .as_array()?
        .iter()
        .map(|d| d.as_u64().and_then(|d| u32::try_from(d).ok()))
        .collect::<Option<_>>()?;
    match dims.as_slice() {
        [w, h] if *w > 0 && *h > 0 => Some([*w, *h, 3]),
        [w, h, d] if *w > 0 && *h > 0 => Some([*w, *h, *d]),
        _ => None,
    }
}
