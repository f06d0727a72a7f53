//! The rules a label placed on a sample must follow (DESIGN.md, "The batch label update", §7):
//! the label exists in the dataset with an allowed type, and its `@modelarts:` properties fit its
//! type: geometry for detection, spans for entities, from/to for triplets, times for speech,
//! scores and hard-example values in range. Sample metadata is checked here too. Pure functions:
//! every writer of sample labels (add samples, the dataset and team batch updates) calls them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::datasets::labels::{find_label, LabelDef};
use crate::enums::{DatasetType, LabelType, SHAPES};
use crate::error::{codes, Error, Result};

/// A label placed on a sample (objects.md §3, SampleLabel).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleLabel {
    /// Per-sample instance id, e.g. `E1` for a triplet entity, `R1` for a relationship.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name of a label of the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label type (objects.md §1.2); optional where the name is unambiguous.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub label_type: Option<i64>,
    /// Geometry, offsets, times and hard-example values (`@modelarts:` keys); other keys are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub property: Option<Map<String, Value>>,
    /// Confidence in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// `human`, `auto`, or a `modelarts/...` producer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotated_by: Option<String>,
}

/// A label that passed the rules, ready to store: it refers to its dataset label by id.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedLabel {
    pub label_id: i64,
    pub name: String,
    pub label_type: LabelType,
    pub instance_id: Option<String>,
    pub property: Map<String, Value>,
    pub score: Option<f64>,
    pub annotated_by: Option<String>,
}

impl PlacedLabel {
    pub fn to_api(&self) -> SampleLabel {
        SampleLabel {
            id: self.instance_id.clone(),
            name: Some(self.name.clone()),
            label_type: Some(self.label_type.code() as i64),
            property: Some(self.property.clone()),
            score: self.score,
            annotated_by: self.annotated_by.clone(),
        }
    }
}

/// What the rules need to know about the sample being labeled.
#[derive(Debug, Clone, Copy)]
pub struct SampleFacts<'a> {
    pub dataset_type: DatasetType,
    pub labels: &'a [LabelDef],
    /// Length of a text sample in Unicode scalar values, when the server knows the text.
    pub text_len: Option<usize>,
    /// `[width, height]` known for the sample: from the request's metadata, else stored.
    pub size: Option<(f64, f64)>,
}

/// Most labels one sample may carry.
pub const MAX_LABELS_PER_SAMPLE: usize = 1000;

/// The `@modelarts:` keys of a sample label's property map.
pub mod key {
    pub const SHAPE: &str = "@modelarts:shape";
    pub const FEATURE: &str = "@modelarts:feature";
    pub const START_INDEX: &str = "@modelarts:start_index";
    pub const END_INDEX: &str = "@modelarts:end_index";
    pub const FROM: &str = "@modelarts:from";
    pub const TO: &str = "@modelarts:to";
    pub const CONTENT: &str = "@modelarts:content";
    pub const START_TIME: &str = "@modelarts:start_time";
    pub const END_TIME: &str = "@modelarts:end_time";
    pub const SOURCE: &str = "@modelarts:source";
    pub const HARD: &str = "@modelarts:hard";
    pub const HARD_COEFFICIENT: &str = "@modelarts:hard_coefficient";
    pub const HARD_REASONS: &str = "@modelarts:hard_reasons";
}

/// The `@modelarts:` keys of sample metadata.
pub mod meta {
    pub const SIZE: &str = "@modelarts:size";
    pub const IMPORT_ORIGIN: &str = "@modelarts:import_origin";
    pub const HARD: &str = "@modelarts:hard";
    pub const HARD_COEFFICIENT: &str = "@modelarts:hard_coefficient";
    pub const HARD_REASONS: &str = "@modelarts:hard_reasons";
    pub const PARENT_DURATION: &str = "@modelarts:parent_duration";
    pub const TIME_IN_VIDEO: &str = "@modelarts:time_in_video";
    pub const PARENT_SOURCE: &str = "@modelarts:parent_source";
}

/// Highest hard-example reason id (objects.md §1.9).
pub const MAX_HARD_REASON: i64 = 30;

fn rule(message: impl Into<String>) -> Error {
    Error::bad_request(codes::LABEL_RULE, message)
}

/// Which `@modelarts:` property keys a label type may carry (besides the hard-example ones).
fn allowed_keys(t: LabelType) -> &'static [&'static str] {
    use LabelType as L;
    match t {
        L::ObjectDetection | L::ImageSegmentation | L::Video => &[key::SHAPE, key::FEATURE],
        L::NamedEntity | L::TripletEntity => &[key::START_INDEX, key::END_INDEX],
        L::TripletRelation => &[key::FROM, key::TO],
        L::SpeechContent => &[key::CONTENT],
        L::SpeechParagraph => &[key::CONTENT, key::START_TIME, key::END_TIME, key::SOURCE],
        L::ImageClassification | L::TextClassification | L::SoundClassification => &[],
    }
}

/// Checks every label of one sample and resolves each to its dataset label. The first broken
/// rule is returned; its message names the label (`labels[i]`) and the rule.
pub fn check_sample_labels(facts: &SampleFacts<'_>, labels: &[SampleLabel]) -> Result<Vec<PlacedLabel>> {
    if labels.len() > MAX_LABELS_PER_SAMPLE {
        return Err(Error::invalid(format!(
            "labels: at most {MAX_LABELS_PER_SAMPLE} labels per sample, got {}",
            labels.len()
        )));
    }
    let mut placed = Vec::with_capacity(labels.len());
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, label) in labels.iter().enumerate() {
        let p = check_one(facts, i, label)?;
        if let Some(id) = label.id.as_deref() {
            if ids.insert(id, i).is_some() {
                return Err(rule(format!(
                    "labels[{i}].id {id:?} is used by two labels of the sample"
                )));
            }
        }
        placed.push(p);
    }
    check_triplets(&placed)?;
    Ok(placed)
}

fn check_one(facts: &SampleFacts<'_>, i: usize, label: &SampleLabel) -> Result<PlacedLabel> {
    let at = format!("labels[{i}]");
    let name = label
        .name
        .as_deref()
        .ok_or_else(|| Error::invalid(format!("{at}.name is required")))?;
    let wanted = match label.label_type {
        Some(code) => Some(LabelType::parse(&format!("{at}.type"), code).map_err(Error::invalid)?),
        None => None,
    };
    if let Some(t) = wanted {
        if !facts.dataset_type.label_types().contains(&t) {
            return Err(rule(format!(
                "{at}: label type {} is not allowed in a dataset of type {}",
                t.code(),
                facts.dataset_type.code()
            )));
        }
    }
    let def = find_label(facts.labels, name, wanted).map_err(|e| Error {
        message: format!("{at}: {}", e.message),
        ..e
    })?;
    if let Some(id) = label.id.as_deref() {
        if id.is_empty() || id.chars().count() > 64 {
            return Err(rule(format!("{at}.id must be 1 to 64 characters")));
        }
    }
    if let Some(score) = label.score {
        if !(0.0..=1.0).contains(&score) {
            return Err(rule(format!("{at}.score must be within [0, 1], got {score}")));
        }
    }
    if let Some(by) = label.annotated_by.as_deref() {
        if !(by == "human" || by == "auto" || (by.starts_with("modelarts/") && by.len() <= 64)) {
            return Err(rule(format!(
                "{at}.annotated_by must be human, auto or modelarts/<producer>, got {by:?}"
            )));
        }
    }
    let property = label.property.clone().unwrap_or_default();
    let allowed = allowed_keys(def.label_type);
    for k in property.keys().filter(|k| k.starts_with("@modelarts:")) {
        let hard = [key::HARD, key::HARD_COEFFICIENT, key::HARD_REASONS].contains(&k.as_str());
        if !hard && !allowed.contains(&k.as_str()) {
            return Err(rule(format!(
                "{at}: property {k} does not apply to a label of type {}{}",
                def.label_type.code(),
                if allowed.is_empty() {
                    String::new()
                } else {
                    format!("; allowed: {}", allowed.join(", "))
                }
            )));
        }
    }
    check_hard_label_props(&at, &property)?;
    match def.label_type {
        LabelType::ObjectDetection => {
            let (w, h) = facts.size.ok_or_else(|| {
                Error::bad_request(
                    codes::SIZE_UNKNOWN,
                    format!("{at}: an object detection label needs metadata.@modelarts:size ([width, height]) of the sample"),
                )
            })?;
            check_geometry(&at, &property, true, Some((w, h)))?;
        }
        LabelType::ImageSegmentation | LabelType::Video => {
            check_geometry(&at, &property, false, facts.size)?;
        }
        LabelType::NamedEntity | LabelType::TripletEntity => check_span(&at, &property, facts.text_len)?,
        LabelType::TripletRelation => {
            for k in [key::FROM, key::TO] {
                match property.get(k) {
                    Some(Value::String(s)) if !s.is_empty() => {}
                    Some(_) => {
                        return Err(rule(format!(
                            "{at}: {k} must be the id of an entity label of the sample"
                        )))
                    }
                    None => {
                        return Err(Error::bad_request(
                            codes::TRIPLET_ENTITY_MISSING,
                            format!("{at}: a relationship needs {k}"),
                        ))
                    }
                }
            }
        }
        LabelType::SpeechContent => check_optional_string(&at, &property, key::CONTENT)?,
        LabelType::SpeechParagraph => {
            check_optional_string(&at, &property, key::CONTENT)?;
            check_optional_string(&at, &property, key::SOURCE)?;
            let start = required_time(&at, &property, key::START_TIME)?;
            let end = required_time(&at, &property, key::END_TIME)?;
            if start >= end {
                return Err(rule(format!(
                    "{at}: {} must be before {}",
                    key::START_TIME,
                    key::END_TIME
                )));
            }
        }
        LabelType::ImageClassification | LabelType::TextClassification | LabelType::SoundClassification => {}
    }
    Ok(PlacedLabel {
        label_id: def.id,
        name: def.name.clone(),
        label_type: def.label_type,
        instance_id: label.id.clone(),
        property,
        score: label.score,
        annotated_by: label.annotated_by.clone(),
    })
}

fn check_optional_string(at: &str, property: &Map<String, Value>, k: &str) -> Result<()> {
    match property.get(k) {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => Err(rule(format!("{at}: {k} must be a string"))),
    }
}

fn required_time(at: &str, property: &Map<String, Value>, k: &str) -> Result<u64> {
    let s = property
        .get(k)
        .ok_or_else(|| rule(format!("{at}: a speech paragraph label needs {k} (hh:mm:ss.SSS)")))?
        .as_str()
        .ok_or_else(|| rule(format!("{at}: {k} must be a string hh:mm:ss.SSS")))?;
    parse_time(s).ok_or_else(|| rule(format!("{at}: {k} {s:?} is not a time hh:mm:ss.SSS")))
}

/// Parses `hh:mm:ss.SSS` into milliseconds (minutes and seconds below 60).
pub fn parse_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 12 || b[2] != b':' || b[5] != b':' || b[8] != b'.' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (h, m, sec, ms) = (num(0..2)?, num(3..5)?, num(6..8)?, num(9..12)?);
    if m >= 60 || sec >= 60 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

/// Formats milliseconds as `hh:mm:ss.SSS` (hours below 100).
pub fn format_time(ms: u64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        h,
        rest / 60_000,
        (rest % 60_000) / 1000,
        rest % 1000
    )
}

fn check_span(at: &str, property: &Map<String, Value>, text_len: Option<usize>) -> Result<()> {
    let index = |k: &str| -> Result<i64> {
        property
            .get(k)
            .ok_or_else(|| rule(format!("{at}: an entity label needs {k}")))?
            .as_i64()
            .ok_or_else(|| rule(format!("{at}: {k} must be an integer")))
    };
    let (start, end) = (index(key::START_INDEX)?, index(key::END_INDEX)?);
    check_span_bounds(start, end, text_len).map_err(|why| rule(format!("{at}: {why}")))
}

/// `0 <= start < end <= len` (end exclusive), `len` in Unicode scalar values when known.
pub fn check_span_bounds(start: i64, end: i64, text_len: Option<usize>) -> std::result::Result<(), String> {
    if start < 0 {
        return Err(format!("{} must be >= 0, got {start}", key::START_INDEX));
    }
    if start >= end {
        return Err(format!(
            "{} ({start}) must be less than {} ({end})",
            key::START_INDEX,
            key::END_INDEX
        ));
    }
    if let Some(len) = text_len {
        if end as u64 > len as u64 {
            return Err(format!(
                "{} ({end}) is past the end of the text ({len} characters)",
                key::END_INDEX
            ));
        }
    }
    Ok(())
}

fn check_geometry(at: &str, property: &Map<String, Value>, required: bool, size: Option<(f64, f64)>) -> Result<()> {
    let shape = match property.get(key::SHAPE) {
        None if !required && !property.contains_key(key::FEATURE) => return Ok(()),
        None => {
            return Err(rule(format!(
                "{at}: {} is required; one of {}",
                key::SHAPE,
                SHAPES.join(", ")
            )))
        }
        Some(v) => v
            .as_str()
            .ok_or_else(|| rule(format!("{at}: {} must be a string", key::SHAPE)))?,
    };
    let feature = property
        .get(key::FEATURE)
        .ok_or_else(|| rule(format!("{at}: a {shape} needs {}", key::FEATURE)))?;
    check_feature(shape, feature, size).map_err(|why| rule(format!("{at}: {why}")))
}

fn point(v: &Value) -> Option<(f64, f64)> {
    match v.as_array()?.as_slice() {
        [x, y] => Some((x.as_f64()?, y.as_f64()?)),
        _ => None,
    }
}

/// Checks `@modelarts:feature` for a shape: the point count and layout of objects.md, every
/// coordinate >= 0 and, when the image size is known, inside it; a bndbox has x1 < x2 and y1 < y2.
pub fn check_feature(shape: &str, feature: &Value, size: Option<(f64, f64)>) -> std::result::Result<(), String> {
    let f = key::FEATURE;
    let items = feature
        .as_array()
        .ok_or_else(|| format!("{f} must be a list of points [[x, y], ...]"))?;
    let points_of = |list: &[Value]| -> std::result::Result<Vec<(f64, f64)>, String> {
        list.iter()
            .enumerate()
            .map(|(i, v)| point(v).ok_or_else(|| format!("{f}[{i}] must be a point [x, y] of two numbers")))
            .collect()
    };
    let points = match shape {
        "circle" => {
            let [centre, radius] = items.as_slice() else {
                return Err(format!("{f} of a circle must be [[x, y], [radius]]"));
            };
            let r = match radius.as_array().map(Vec::as_slice) {
                Some([r]) => r.as_f64(),
                _ => None,
            }
            .ok_or_else(|| format!("{f} of a circle must be [[x, y], [radius]]"))?;
            if r.is_nan() || r <= 0.0 {
                return Err(format!("the radius of a circle must be > 0, got {r}"));
            }
            points_of(std::slice::from_ref(centre))?
        }
        "bndbox" | "line" | "dashed" | "point" | "polygon" | "polyline" => {
            let points = points_of(items)?;
            let (min, exact) = match shape {
                "bndbox" | "line" | "dashed" => (2, true),
                "point" => (1, true),
                "polygon" => (3, false),
                _ => (2, false),
            };
            if (exact && points.len() != min) || points.len() < min {
                return Err(format!(
                    "a {shape} needs {}{min} point{}, got {}",
                    if exact { "exactly " } else { "at least " },
                    if min == 1 { "" } else { "s" },
                    points.len()
                ));
            }
            points
        }
        other => {
            return Err(format!(
                "{} {other:?} is not a shape; allowed: {}",
                key::SHAPE,
                SHAPES.join(", ")
            ))
        }
    };
    for (i, (x, y)) in points.iter().enumerate() {
        if x.is_nan() || y.is_nan() || *x < 0.0 || *y < 0.0 {
            return Err(format!("{f}[{i}] has a negative coordinate ({x}, {y})"));
        }
        if let Some((w, h)) = size {
            if *x > w || *y > h {
                return Err(format!("{f}[{i}] ({x}, {y}) lies outside the image ({w} x {h})"));
            }
        }
    }
    if shape == "bndbox" {
        let ((x1, y1), (x2, y2)) = (points[0], points[1]);
        if !(x1 < x2 && y1 < y2) {
            return Err(format!(
                "a bndbox is [[x1, y1], [x2, y2]] with x1 < x2 and y1 < y2, got [[{x1}, {y1}], [{x2}, {y2}]]"
            ));
        }
    }
    Ok(())
}

fn check_hard_label_props(at: &str, property: &Map<String, Value>) -> Result<()> {
    if let Some(v) = property.get(key::HARD) {
        let ok = matches!(v, Value::Bool(_))
            || matches!(v.as_str(), Some("0" | "1" | "true" | "false"))
            || matches!(v.as_i64(), Some(0 | 1));
        if !ok {
            return Err(rule(format!(
                "{at}: {} must be \"0\", \"1\", \"true\" or \"false\"",
                key::HARD
            )));
        }
    }
    if let Some(v) = property.get(key::HARD_COEFFICIENT) {
        let c = v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse::<f64>().ok()));
        match c {
            Some(c) if (0.0..=1.0).contains(&c) => {}
            _ => {
                return Err(rule(format!(
                    "{at}: {} must be a number in [0, 1], got {v}",
                    key::HARD_COEFFICIENT
                )))
            }
        }
    }
    if let Some(v) = property.get(key::HARD_REASONS) {
        let s = v.as_str().ok_or_else(|| {
            rule(format!(
                "{at}: {} must be reason ids joined by '-', e.g. \"3-20-21\"",
                key::HARD_REASONS
            ))
        })?;
        parse_hard_reasons(s).map_err(|why| rule(format!("{at}: {}: {why}", key::HARD_REASONS)))?;
    }
    Ok(())
}

/// Parses a label's `"3-20-21"` hard-reason string into ids, each within 0..=30.
pub fn parse_hard_reasons(s: &str) -> std::result::Result<Vec<i64>, String> {
    s.split('-')
        .map(|part| {
            let id: i64 = part
                .parse()
                .map_err(|_| format!("{part:?} is not a reason id (0 to {MAX_HARD_REASON})"))?;
            check_reason(id)?;
            Ok(id)
        })
        .collect()
}

fn check_reason(id: i64) -> std::result::Result<(), String> {
    if (0..=MAX_HARD_REASON).contains(&id) {
        Ok(())
    } else {
        Err(format!("reason id {id} is outside 0 to {MAX_HARD_REASON}"))
    }
}

/// Relationships must point at entity labels of the same sample, of the entity types their
/// dataset label names in `@modelarts:from_type` / `@modelarts:to_type`.
fn check_triplets(placed: &[PlacedLabel]) -> Result<()> {
    let entities: HashMap<&str, &PlacedLabel> = placed
        .iter()
        .filter(|p| p.label_type == LabelType::TripletEntity)
        .filter_map(|p| p.instance_id.as_deref().map(|id| (id, p)))
        .collect();
    for (i, rel) in placed
        .iter()
        .enumerate()
        .filter(|(_, p)| p.label_type == LabelType::TripletRelation)
    {
        for k in [key::FROM, key::TO] {
            let target = rel.property.get(k).and_then(Value::as_str).unwrap_or("");
            if !entities.contains_key(target) {
                return Err(Error::bad_request(
                    codes::TRIPLET_ENTITY_MISSING,
                    format!("labels[{i}]: {k} {target:?} is not the id of an entity label (type 103) of this sample"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks a relationship's ends against its dataset label's `from_type` / `to_type`.
pub fn check_triplet_types(placed: &[PlacedLabel], labels: &[LabelDef]) -> Result<()> {
    let by_id: HashMap<&str, &PlacedLabel> = placed
        .iter()
        .filter_map(|p| p.instance_id.as_deref().map(|id| (id, p)))
        .collect();
    for (i, rel) in placed
        .iter()
        .enumerate()
        .filter(|(_, p)| p.label_type == LabelType::TripletRelation)
    {
        let Some(def) = labels.iter().find(|l| l.id == rel.label_id) else {
            continue;
        };
        for (k, want_key) in [
            (key::FROM, crate::datasets::labels::prop::FROM_TYPE),
            (key::TO, crate::datasets::labels::prop::TO_TYPE),
        ] {
            let want = def.property.get(want_key).and_then(Value::as_str);
            let end = rel.property.get(k).and_then(Value::as_str).and_then(|id| by_id.get(id));
            if let (Some(want), Some(end)) = (want, end) {
                if end.name != want {
                    return Err(rule(format!(
                        "labels[{i}]: relationship {:?} needs {k} to be a {want:?} entity, got {:?}",
                        rel.name, end.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Checks sample metadata and answers the `[width, height]` it gives, if any.
pub fn check_metadata(metadata: &Map<String, Value>) -> Result<Option<(f64, f64)>> {
    let bad = |k: &str, what: &str| Error::invalid(format!("metadata.{k} must be {what}"));
    let mut size = None;
    for (k, v) in metadata.iter().filter(|(k, _)| k.starts_with("@modelarts:")) {
        match k.as_str() {
            meta::SIZE => {
                let dims: Option<Vec<i64>> = v.as_array().and_then(|a| a.iter().map(Value::as_i64).collect());
                match dims.as_deref() {
                    Some([w, h]) | Some([w, h, _]) if *w > 0 && *h > 0 => {
                        if let Some(&d) = dims.as_ref().and_then(|d| d.get(2)) {
                            if !(1..=4).contains(&d) {
                                return Err(bad(k, "[width, height] or [width, height, depth] with depth 1 to 4"));
                            }
                        }
                        size = Some((*w as f64, *h as f64));
                    }
                    _ => return Err(bad(k, "[width, height] or [width, height, depth] of positive integers")),
                }
            }
            meta::IMPORT_ORIGIN => {
                if v.as_i64().is_none() {
                    return Err(bad(k, "an integer"));
                }
            }
            meta::HARD => {
                if !(matches!(v, Value::Bool(_)) || matches!(v.as_f64(), Some(x) if x == 0.0 || x == 1.0)) {
                    return Err(bad(k, "0 or 1"));
                }
            }
            meta::HARD_COEFFICIENT => match v.as_f64() {
                Some(c) if (0.0..=1.0).contains(&c) => {}
                _ => return Err(bad(k, "a number in [0, 1]")),
            },
            meta::HARD_REASONS => {
                let ids: Option<Vec<i64>> = v.as_array().and_then(|a| a.iter().map(Value::as_i64).collect());
                let ids = ids.ok_or_else(|| bad(k, "a list of reason ids (integers 0 to 30)"))?;
                for id in ids {
                    check_reason(id).map_err(|why| Error::invalid(format!("metadata.{k}: {why}")))?;
                }
            }
            meta::PARENT_DURATION | meta::TIME_IN_VIDEO => match v.as_f64() {
                Some(x) if x >= 0.0 => {}
                _ => return Err(bad(k, "a number of seconds >= 0")),
            },
            meta::PARENT_SOURCE => {
                if !v.is_string() {
                    return Err(bad(k, "a string"));
                }
            }
            other => {
                return Err(Error::invalid(format!(
                    "metadata: unknown key {other}; known: {}, {}, {}, {}, {}, {}, {}, {}",
                    meta::SIZE,
                    meta::IMPORT_ORIGIN,
                    meta::HARD,
                    meta::HARD_COEFFICIENT,
                    meta::HARD_REASONS,
                    meta::PARENT_DURATION,
                    meta::TIME_IN_VIDEO,
                    meta::PARENT_SOURCE
                )))
            }
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn defs() -> Vec<LabelDef> {
        let mk = |id, name: &str, t, p: Value| LabelDef {
            id,
            name: name.into(),
            label_type: t,
            property: p.as_object().unwrap().clone(),
            attributes: None,
        };
        vec![
            mk(1, "car", LabelType::ObjectDetection, json!({})),
            mk(2, "Person", LabelType::TripletEntity, json!({})),
            mk(3, "Book", LabelType::TripletEntity, json!({})),
            mk(
                4,
                "Author",
                LabelType::TripletRelation,
                json!({"@modelarts:from_type": "Person", "@modelarts:to_type": "Book"}),
            ),
        ]
    }

    fn label(v: Value) -> SampleLabel {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_detection_label_needs_the_image_size() {
        let labels = defs();
        let facts = SampleFacts {
            dataset_type: DatasetType::ObjectDetection,
            labels: &labels,
            text_len: None,
            size: None,
        };
        let l = label(
            json!({"name": "car", "property": {"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2], [3, 4]]}}),
        );
        assert_eq!(
            check_sample_labels(&facts, std::slice::from_ref(&l)).unwrap_err().code,
            codes::SIZE_UNKNOWN
        );
        let facts = SampleFacts {
            size: Some((10.0, 10.0)),
            ..facts
        };
        let placed = check_sample_labels(&facts, &[l]).unwrap();
        assert_eq!(placed[0].label_id, 1);
    }

    #[test]
    fn an_unknown_label_name_is_4410() {
        let labels = defs();
        let facts = SampleFacts {
            dataset_type: DatasetType::ObjectDetection,
            labels: &labels,
            text_len: None,
            size: Some((9.0, 9.0)),
        };
        let err = check_sample_labels(&facts, &[label(json!({"name": "bus"}))]).unwrap_err();
        assert_eq!(err.code, codes::LABEL_NOT_FOUND);
        assert!(err.message.contains("labels[0]"));
    }

    #[test]
    fn relationships_must_point_at_entities_of_the_sample_and_of_the_right_types() {
        let labels = defs();
        let facts = SampleFacts {
            dataset_type: DatasetType::TextTriplet,
            labels: &labels,
            text_len: Some(100),
            size: None,
        };
        let e1 = json!({"id": "E1", "name": "Person", "type": 103, "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 4}});
        let e2 = json!({"id": "E2", "name": "Book", "type": 103, "property": {"@modelarts:start_index": 5, "@modelarts:end_index": 9}});
        let ok = json!({"id": "R1", "name": "Author", "type": 102, "property": {"@modelarts:from": "E1", "@modelarts:to": "E2"}});
        let dangling = json!({"id": "R1", "name": "Author", "type": 102, "property": {"@modelarts:from": "E1", "@modelarts:to": "E9"}});
        let swapped = json!({"id": "R1", "name": "Author", "type": 102, "property": {"@modelarts:from": "E2", "@modelarts:to": "E1"}});
        let placed = check_sample_labels(&facts, &[label(e1.clone()), label(e2.clone()), label(ok)]).unwrap();
        assert!(check_triplet_types(&placed, &labels).is_ok());
        let err = check_sample_labels(&facts, &[label(e1.clone()), label(e2.clone()), label(dangling)]).unwrap_err();
        assert_eq!(err.code, codes::TRIPLET_ENTITY_MISSING);
        let placed = check_sample_labels(&facts, &[label(e1), label(e2), label(swapped)]).unwrap();
        assert_eq!(
            check_triplet_types(&placed, &labels).unwrap_err().code,
            codes::LABEL_RULE
        );
    }

    #[test]
    fn geometry_layouts_follow_the_shape_table() {
        let size = Some((100.0, 100.0));
        for (shape, feature, ok) in [
            ("bndbox", json!([[0, 10], [50, 95]]), true),
            ("bndbox", json!([[0, 10]]), false),
            ("polygon", json!([[0, 1], [5, 9], [1, 6]]), true),
            ("polygon", json!([[0, 1], [5, 9]]), false),
            ("circle", json!([[50, 50], [10]]), true),
            ("circle", json!([[50, 50], [0]]), false),
            ("circle", json!([[50, 50]]), false),
            ("line", json!([[0, 1], [5, 9]]), true),
            ("line", json!([[0, 1], [5, 9], [1, 1]]), false),
            ("dashed", json!([[0, 1], [5, 9]]), true),
            ("point", json!([[0, 1]]), true),
            ("point", json!([[0, 1], [2, 2]]), false),
            ("polyline", json!([[0, 1], [5, 9]]), true),
            ("polyline", json!([[0, 1]]), false),
            ("square", json!([[0, 1], [5, 9]]), false),
            ("point", json!([[-1, 1]]), false),
            ("point", json!([[101, 1]]), false),
            ("point", json!([["a", 1]]), false),
        ] {
            assert_eq!(check_feature(shape, &feature, size).is_ok(), ok, "{shape} {feature}");
        }
    }

    #[test]
    fn metadata_size_and_hard_values_are_checked() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            check_metadata(&m(json!({"@modelarts:size": [1242, 375, 3]}))).unwrap(),
            Some((1242.0, 375.0))
        );
        assert!(check_metadata(&m(json!({"@modelarts:size": [0, 375]}))).is_err());
        assert!(check_metadata(&m(json!({"@modelarts:size": "1x2"}))).is_err());
        assert!(check_metadata(&m(json!({"@modelarts:hard_reasons": [0, 30]}))).is_ok());
        assert!(check_metadata(&m(json!({"@modelarts:hard_reasons": [31]}))).is_err());
        assert!(check_metadata(&m(json!({"@modelarts:hard_coefficient": 1.5}))).is_err());
        assert!(check_metadata(&m(json!({"@modelarts:hard": 1}))).is_ok());
        assert!(check_metadata(&m(json!({"@modelarts:sizes": [1, 2]}))).is_err());
        assert!(check_metadata(&m(json!({"colour": "white"}))).is_ok());
    }

    #[test]
    fn hard_reason_strings_hold_ids_zero_to_thirty() {
        assert_eq!(parse_hard_reasons("3-20-21-19").unwrap(), vec![3, 20, 21, 19]);
        assert!(parse_hard_reasons("0-30").is_ok());
        assert!(parse_hard_reasons("31").is_err());
        assert!(parse_hard_reasons("-1").is_err());
        assert!(parse_hard_reasons("3--4").is_err());
    }

    proptest! {
        #[test]
        fn any_bndbox_inside_the_image_passes_and_its_mirror_fails(
            x1 in 0u32..1000, y1 in 0u32..1000, dx in 1u32..1000, dy in 1u32..1000
        ) {
            let (x2, y2) = (x1 + dx, y1 + dy);
            let size = Some((2000.0, 2000.0));
            prop_assert!(check_feature("bndbox", &json!([[x1, y1], [x2, y2]]), size).is_ok());
            prop_assert!(check_feature("bndbox", &json!([[x2, y2], [x1, y1]]), size).is_err());
            prop_assert!(check_feature("bndbox", &json!([[x2, y1], [x1, y2]]), size).is_err());
        }

        #[test]
        fn any_span_inside_the_text_passes_and_any_span_outside_fails(
            len in 1usize..500, a in 0usize..500, b in 1usize..500
        ) {
            let (start, end) = (a.min(len - 1) as i64, (a.min(len - 1) + b).min(len) as i64);
            prop_assume!(start < end);
            prop_assert!(check_span_bounds(start, end, Some(len)).is_ok());
            prop_assert!(check_span_bounds(start, len as i64 + b as i64, Some(len)).is_err());
            prop_assert!(check_span_bounds(end, start, Some(len)).is_err());
            prop_assert!(check_span_bounds(-(b as i64), end, Some(len)).is_err());
        }

        #[test]
        fn time_strings_round_trip(ms in 0u64..(100 * 3_600_000)) {
            let s = format_time(ms);
            prop_assert_eq!(parse_time(&s), Some(ms));
        }

        #[test]
        fn malformed_times_are_refused(s in "[0-9:.]{0,14}") {
            if let Some(ms) = parse_time(&s) {
                prop_assert_eq!(format_time(ms), s);
            }
        }
    }
}
