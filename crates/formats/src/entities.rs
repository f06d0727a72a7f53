//! The checks and typing the text-span formats (manifest, span JSONL) share: an entity's
//! character offsets against its text, a triplet's ends against the entity ids of its sample,
//! and whether an entity is a named entity (101) or a triplet entity (103).
//! It must not read or write any format.

use serde_json::{Map, Value};

use crate::keys;

/// Label type of a named entity.
pub(crate) const NAMED_ENTITY: i64 = 101;
/// Label type of a triplet relation.
pub(crate) const TRIPLET: i64 = 102;
/// Label type of a triplet entity.
pub(crate) const TRIPLET_ENTITY: i64 = 103;

/// The label type of an entity on a line of a dataset of `dataset_type`: 103 in a triplet
/// dataset, 101 in a named-entity dataset; in a free-format dataset 103 when the line holds a
/// relation and 101 when it does not.
pub(crate) fn entity_type(dataset_type: i64, line_has_relation: bool) -> i64 {
    match dataset_type {
        102 => TRIPLET_ENTITY,
        900 if line_has_relation => TRIPLET_ENTITY,
        _ => NAMED_ENTITY,
    }
}

/// Checks an entity's `@modelarts:start_index`/`end_index`: integers, start < end, and inside
/// `text` (counted in Unicode scalar values) when the text is known. `at` names the item.
pub(crate) fn check_span(at: &str, text: Option<&str>, property: &Map<String, Value>) -> Result<(u64, u64), String> {
    let (Some(start), Some(end)) = (property.get(keys::START_INDEX), property.get(keys::END_INDEX)) else {
        return Err(format!(
            "{at}: a text entity needs {} and {}",
            keys::START_INDEX,
            keys::END_INDEX
        ));
    };
    let int = |key: &str, v: &Value| {
        v.as_u64()
            .ok_or_else(|| format!("{at}: {key} must be an integer >= 0, got {v}"))
    };
    let (start, end) = (int(keys::START_INDEX, start)?, int(keys::END_INDEX, end)?);
    if start >= end {
        return Err(format!("{at}: start_index {start} must be less than end_index {end}"));
    }
    if let Some(text) = text {
        let len = text.chars().count() as u64;
        if end > len {
            return Err(format!("{at}: end_index {end} is outside the text ({len} characters)"));
        }
    }
    Ok((start, end))
}

/// Checks a relation's `@modelarts:from`/`to` against the entity ids of its sample.
pub(crate) fn check_relation(
    at: &str,
    entity_ids: &[&str],
    property: Option<&Map<String, Value>>,
) -> Result<(), String> {
    for key in [keys::FROM, keys::TO] {
        let Some(id) = property.and_then(|p| p.get(key)).and_then(Value::as_str) else {
            return Err(format!(
                "{at}: a triplet needs {} and {} (entity ids)",
                keys::FROM,
                keys::TO
            ));
        };
        if !entity_ids.contains(&id) {
            return Err(format!("{at}: {key} names {id}, which is no entity id on this sample"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn spans_are_counted_in_characters() {
        let p = map(json!({"@modelarts:start_index": 0, "@modelarts:end_index": 2}));
        assert_eq!(check_span("e", Some("日本"), &p), Ok((0, 2)));
        let p = map(json!({"@modelarts:start_index": 0, "@modelarts:end_index": 3}));
        assert_eq!(
            check_span("e", Some("日本"), &p).unwrap_err(),
            "e: end_index 3 is outside the text (2 characters)"
        );
        let p = map(json!({"@modelarts:start_index": 2, "@modelarts:end_index": 2}));
        assert_eq!(
            check_span("e", None, &p).unwrap_err(),
            "e: start_index 2 must be less than end_index 2"
        );
        let p = map(json!({"@modelarts:start_index": -1, "@modelarts:end_index": 2}));
        assert_eq!(
            check_span("e", None, &p).unwrap_err(),
            "e: @modelarts:start_index must be an integer >= 0, got -1"
        );
    }

    #[test]
    fn relations_name_entities_of_their_sample() {
        let p = map(json!({"@modelarts:from": "E1", "@modelarts:to": "E3"}));
        assert_eq!(
            check_relation("r", &["E1", "E2"], Some(&p)).unwrap_err(),
            "r: @modelarts:to names E3, which is no entity id on this sample"
        );
        assert!(check_relation("r", &["E1", "E3"], Some(&p)).is_ok());
        assert_eq!(entity_type(900, true), 103);
        assert_eq!(entity_type(900, false), 101);
        assert_eq!(entity_type(102, false), 103);
    }
}
