//! The rules a label placed on a sample must follow: the label exists in the dataset with an
//! allowed type, and its `@modelarts:` properties fit its type (geometry for detection, spans
//! for entities, from/to for triplets, times for speech, scores and hard-example values in
//! range), each rule in its own module. Pure functions: every writer of sample labels (add
//! samples, the dataset and team batch updates) calls `check_sample_labels`.
//! It must not touch the store.

use std::collections::HashMap;

use serde_json::{Map, Value};
use teamlabel_api::enums::LabelType;
use teamlabel_api::labels::SampleLabel;

use crate::datasets::labels::find_label;
use crate::error::{codes, Error, Result};
use crate::rules::geometry::check_geometry;
use crate::rules::hard::check_hard_label_props;
use crate::rules::spans::check_span;
use crate::rules::times::required_time;
use crate::rules::triplets::check_triplets;
use crate::rules::values::{key, rule, PlacedLabel, SampleFacts, MAX_LABELS_PER_SAMPLE};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::labels::LabelDef;
    use crate::error::codes;
    use crate::rules::geometry::check_feature;
    use crate::rules::hard::parse_hard_reasons;
    use crate::rules::metadata::check_metadata;
    use crate::rules::spans::check_span_bounds;
    use crate::rules::times::{format_time, parse_time};
    use crate::rules::triplets::check_triplet_types;
    use proptest::prelude::*;
    use serde_json::json;
    use teamlabel_api::enums::DatasetType;

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
