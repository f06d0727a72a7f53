//! Triplet labels: relationships point at entity labels of the same sample, of the entity
//! types their dataset label names. Pure checks. It must not touch the store.

use std::collections::HashMap;

use serde_json::Value;
use teamlabel_api::enums::LabelType;

use crate::datasets::labels::LabelDef;
use crate::error::{codes, Error, Result};
use crate::rules::values::{key, rule, PlacedLabel};

/// Relationships must point at entity labels of the same sample, of the entity types their
/// dataset label names in `@modelarts:from_type` / `@modelarts:to_type`.
pub(crate) fn check_triplets(placed: &[PlacedLabel]) -> Result<()> {
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
