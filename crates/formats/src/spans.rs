//! Entities and relations of a text as one JSON object a line:
//! `{"id":..,"text":..,"entities":[{"id":"E1","start":s,"end":e,"label":name}],
//! "relations":[{"id":"R1","from":"E1","to":"E2","type":name}]}`, lossless for named entities
//! (101), triplet entities (103) and relations (102): scores, `annotated_by` and the other
//! property keys travel in `score`, `annotated_by` and `property` of each item. A sample whose
//! source is not `content://` carries `source` instead of `text`.
//! It must not read or write files or decide which labels a dataset may hold.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use teamlabel_api::labels::SampleLabel;

use crate::entities::{check_relation, check_span, entity_type, TRIPLET};
use crate::keys;
use crate::record::{InputError, Loss, LossKind, Record};
use crate::CONTENT_SCHEME;

#[derive(Serialize, Deserialize)]
struct Line {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(default)]
    entities: Vec<Entity>,
    #[serde(default)]
    relations: Vec<Relation>,
}

#[derive(Serialize, Deserialize)]
struct Entity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    start: Option<Value>,
    end: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(flatten)]
    common: Common,
}

#[derive(Serialize, Deserialize)]
struct Relation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    relation_type: Option<String>,
    #[serde(flatten)]
    common: Common,
}

#[derive(Serialize, Deserialize, Default)]
struct Common {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    property: Map<String, Value>,
}

fn common(label: &SampleLabel, lifted: [&str; 2]) -> Common {
    let mut property = label.property.clone().unwrap_or_default();
    lifted.iter().for_each(|k| {
        property.remove(*k);
    });
    Common {
        score: label.score,
        annotated_by: label.annotated_by.clone(),
        property,
    }
}

/// The line of `record` (no line break at the end) and the labels it could not hold: labels that
/// are neither entity nor relation, entities without integer offsets, relations without ends.
pub fn write_line(record: &Record) -> (String, Vec<Loss>) {
    let mut losses = Vec::new();
    let mut line = Line {
        id: record.id.clone(),
        text: record.text().map(str::to_string),
        source: record.text().is_none().then(|| record.source.clone()),
        entities: Vec::new(),
        relations: Vec::new(),
    };
    for label in &record.labels {
        let p = label.property.as_ref();
        let get = |k: &str| p.and_then(|p| p.get(k)).cloned();
        match label.label_type {
            Some(101 | 103) | None => {
                let (start, end) = (get(keys::START_INDEX), get(keys::END_INDEX));
                if !start.as_ref().is_some_and(Value::is_u64) || !end.as_ref().is_some_and(Value::is_u64) {
                    let reason = "an entity needs integer start and end offsets";
                    losses.push(record.loss(Some(label), LossKind::Dropped, reason));
                    continue;
                }
                line.entities.push(Entity {
                    id: label.id.clone(),
                    start,
                    end,
                    label: label.name.clone(),
                    common: common(label, [keys::START_INDEX, keys::END_INDEX]),
                });
            }
            Some(TRIPLET) => {
                let end = |k: &str| get(k).and_then(|v| v.as_str().map(str::to_string));
                let (Some(from), Some(to)) = (end(keys::FROM), end(keys::TO)) else {
                    let reason = "a relation needs the ids of its two entities";
                    losses.push(record.loss(Some(label), LossKind::Dropped, reason));
                    continue;
                };
                line.relations.push(Relation {
                    id: label.id.clone(),
                    from: Some(from),
                    to: Some(to),
                    relation_type: label.name.clone(),
                    common: common(label, [keys::FROM, keys::TO]),
                });
            }
            Some(other) => {
                let reason = format!("label type {other} is no entity or relation");
                losses.push(record.loss(Some(label), LossKind::Dropped, reason));
            }
        }
    }
    (serde_json::to_string(&line).unwrap_or_default(), losses)
}

/// Reads a line of a dataset of `dataset_type` (entities are 103 in a triplet dataset, 101
/// otherwise; in a free-format dataset 103 when the line holds relations). Refused when the JSON
/// is broken, there is neither `text` nor `source`, an entity lacks offsets or lies outside the
/// text, or a relation names an entity id the line does not hold.
pub fn parse_line(line: &str, dataset_type: i64) -> Result<Record, InputError> {
    let err = |reason: String| InputError::new(reason);
    let read: Line =
        serde_json::from_str(line.trim_start_matches('\u{feff}')).map_err(|e| err(format!("broken JSON: {e}")))?;
    let source = match (read.text, read.source) {
        (Some(text), _) => format!("{CONTENT_SCHEME}{text}"),
        (None, Some(source)) => source,
        (None, None) => return Err(err("text or source is required".into())),
    };
    let mut record = Record::new(source);
    record.id = read.id;
    let text = record.text().map(str::to_string);
    let entity = entity_type(dataset_type, !read.relations.is_empty());
    let label = |id, name, c: Common, pairs: [(&str, Value); 2], label_type| {
        let mut property = c.property;
        property.extend(pairs.into_iter().map(|(k, v)| (k.to_string(), v)));
        SampleLabel {
            id,
            name,
            label_type: Some(label_type),
            property: Some(property),
            score: c.score,
            annotated_by: c.annotated_by,
        }
    };
    let mut ids = Vec::new();
    for (i, e) in read.entities.into_iter().enumerate() {
        let at = format!("entity {} ({})", i + 1, e.label.as_deref().unwrap_or_default());
        let pairs = [
            (keys::START_INDEX, e.start.unwrap_or(Value::Null)),
            (keys::END_INDEX, e.end.unwrap_or(Value::Null)),
        ];
        let l = label(e.id, e.label, e.common, pairs, entity);
        let empty = Map::new();
        let property = l.property.as_ref().unwrap_or(&empty);
        let p: Map<String, Value> = property
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        check_span(&at, text.as_deref(), &p).map_err(err)?;
        ids.extend(l.id.clone());
        record.labels.push(l);
    }
    for (i, r) in read.relations.into_iter().enumerate() {
        let at = format!(
            "relation {} ({})",
            i + 1,
            r.relation_type.as_deref().unwrap_or_default()
        );
        let pairs = [
            (keys::FROM, r.from.map_or(Value::Null, Value::from)),
            (keys::TO, r.to.map_or(Value::Null, Value::from)),
        ];
        let l = label(r.id, r.relation_type, r.common, pairs, TRIPLET);
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        check_relation(&at, &id_refs, l.property.as_ref()).map_err(err)?;
        record.labels.push(l);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    const TRIPLET_LINE: &str = r#"{"source":"content://\"Three Body\" is a series of long science fiction novels created by Liu Cix.","annotation":[{"type":"modelarts/text_entity","name":"Person","id":"E1","property":{"@modelarts:start_index":67,"@modelarts:end_index":74}},{"type":"modelarts/text_entity","name":"Book","id":"E2","property":{"@modelarts:start_index":0,"@modelarts:end_index":12},"annotated-by":"human","confidence":0.5},{"type":"modelarts/text_triplet","name":"Author","id":"R1","property":{"@modelarts:from":"E1","@modelarts:to":"E2","note":"x"}}]}"#;

    #[test]
    fn a_triplet_sample_is_written_and_read_back_losslessly() {
        let mut record = manifest::parse_line(TRIPLET_LINE, 102).unwrap().record;
        record.id = Some("s1".into());
        let (line, losses) = write_line(&record);
        assert!(losses.is_empty());
        assert_eq!(
            line,
            r#"{"id":"s1","text":"\"Three Body\" is a series of long science fiction novels created by Liu Cix.","entities":[{"id":"E1","start":67,"end":74,"label":"Person"},{"id":"E2","start":0,"end":12,"label":"Book","score":0.5,"annotated_by":"human"}],"relations":[{"id":"R1","from":"E1","to":"E2","type":"Author","property":{"note":"x"}}]}"#
        );
        assert_eq!(parse_line(&line, 102).unwrap(), record);
        let ner = parse_line(r#"{"text":"ab","entities":[{"start":0,"end":1,"label":"X"}]}"#, 101).unwrap();
        assert_eq!(ner.labels[0].label_type, Some(101));
        assert_eq!(
            write_line(&ner).0,
            r#"{"text":"ab","entities":[{"start":0,"end":1,"label":"X"}],"relations":[]}"#
        );
    }

    #[test]
    fn what_a_line_cannot_hold_is_listed_and_broken_lines_refused() {
        let mut r = Record::new("obs://b/a.txt");
        r.labels.push(SampleLabel {
            name: Some("pos".into()),
            label_type: Some(100),
            ..SampleLabel::default()
        });
        let (line, losses) = write_line(&r);
        assert_eq!(line, r#"{"source":"obs://b/a.txt","entities":[],"relations":[]}"#);
        assert_eq!(losses[0].reason, "label type 100 is no entity or relation");
        let refuse = |line: &str| parse_line(line, 102).unwrap_err().reason;
        assert_eq!(refuse(r#"{"entities":[]}"#), "text or source is required");
        assert_eq!(
            refuse(r#"{"text":"abc","entities":[{"start":1,"end":9,"label":"X"}]}"#),
            "entity 1 (X): end_index 9 is outside the text (3 characters)"
        );
        assert_eq!(
            refuse(r#"{"text":"abc","entities":[{"label":"X"}]}"#),
            "entity 1 (X): a text entity needs @modelarts:start_index and @modelarts:end_index"
        );
        assert_eq!(
            refuse(
                r#"{"text":"abc","entities":[{"id":"E1","start":0,"end":1}],"relations":[{"from":"E1","to":"E9","type":"R"}]}"#
            ),
            "relation 1 (R): @modelarts:to names E9, which is no entity id on this sample"
        );
        assert!(refuse("{").starts_with("broken JSON: "));
    }
}
