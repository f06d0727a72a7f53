//! A copy's labels as one compact value (`task_copies.labels`, migration `0010_compact_labels`):
//! a JSON array with one `[label_id, instance_id, property, score, annotated_by]` per label, in
//! order. Names and types are not stored: they are the label's, put back when read
//! (`with_names`), and a placed label whose label was deleted is dropped, as the label rows it
//! replaced went with their label. `distinct` gives the rows of `task_copy_label_ids`. Must not
//! run anything but the one name lookup.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};
use teamlabel_core::error::Result;
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{CopyRecord, StoreError};

use super::decode::{self, label_type, Cells};
use super::{Db, Dialect, Query, Stmt};

/// One placed label as stored, in the order of its array.
type Stored = (i64, Option<String>, Map<String, Value>, Option<f64>, Option<String>);

/// The compact value of a label set.
pub fn encode(labels: &[PlacedLabel]) -> String {
    #[derive(Serialize)]
    struct Ref<'a>(
        i64,
        &'a Option<String>,
        &'a Map<String, Value>,
        Option<f64>,
        &'a Option<String>,
    );
    let refs: Vec<Ref<'_>> = labels
        .iter()
        .map(|l| Ref(l.label_id, &l.instance_id, &l.property, l.score, &l.annotated_by))
        .collect();
    serde_json::to_string(&refs).expect("labels serialize")
}

/// Each distinct label of a set with how many times it is placed, by label id.
pub fn distinct(labels: &[PlacedLabel]) -> Vec<(i64, i64)> {
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for l in labels {
        *counts.entry(l.label_id).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// A copy read with its compact labels, before their names are put back.
pub struct Unnamed {
    pub copy: CopyRecord,
    pub labels: String,
}

/// `COPY_COLUMNS` from column `at`, the labels as their compact value.
pub fn unnamed(r: &dyn Cells, at: usize) -> Result<Unnamed, StoreError> {
    Ok(Unnamed {
        copy: decode::copy(r, at)?,
        labels: r.text(at + 14)?,
    })
}

/// Puts their labels on copies read with the compact value: one lookup of the names and types
/// of the labels they use.
pub async fn with_names<D: Db + ?Sized>(db: &D, read: Vec<Unnamed>) -> Result<Vec<CopyRecord>> {
    let mut parsed: Vec<(CopyRecord, Vec<Stored>)> = Vec::with_capacity(read.len());
    for u in read {
        let stored: Vec<Stored> = serde_json::from_str(&u.labels)
            .map_err(|e| StoreError::Internal(format!("labels of copy {}: {e}", u.copy.id)))?;
        parsed.push((u.copy, stored));
    }
    let mut ids: Vec<i64> = parsed.iter().flat_map(|(_, s)| s.iter().map(|l| l.0)).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut names = HashMap::with_capacity(ids.len());
    if !ids.is_empty() {
        let mut q = db.query();
        let sql = format!("SELECT id, name, type FROM labels WHERE {}", q.in_ints("id", &ids));
        let rows = db
            .fetch_all(Stmt::new(sql, q.args), |r| {
                Ok((r.int(0)?, (r.text(1)?, label_type(r, 2)?)))
            })
            .await?;
        names.extend(rows);
    }
    Ok(parsed
        .into_iter()
        .map(|(mut copy, stored)| {
            copy.labels = stored
                .into_iter()
                .filter_map(|(label_id, instance_id, property, score, annotated_by)| {
                    let (name, label_type) = names.get(&label_id)?.clone();
                    Some(PlacedLabel {
                        label_id,
                        name,
                        label_type,
                        instance_id,
                        property,
                        score,
                        annotated_by,
                    })
                })
                .collect();
            copy
        })
        .collect())
}

/// The statements that take deleted labels (`label_ids`) out of every copy: out of the compact
/// values, then out of `task_copy_label_ids`. Run with the labels' deletion, before or after.
pub fn forget_labels(dialect: Dialect, label_ids: &[i64]) -> Vec<Stmt> {
    let mut q = Query::new(dialect);
    let used = q.in_ints("label_id", label_ids);
    let rewrite = match dialect {
        Dialect::Sqlite => {
            let keep = q.in_ints("e.value ->> 0", label_ids);
            format!(
                "UPDATE task_copies SET labels = (
                     SELECT json_group_array(json(e.value)) FROM json_each(task_copies.labels) e WHERE NOT ({keep}))
                 WHERE id IN (SELECT copy_id FROM task_copy_label_ids WHERE {used})"
            )
        }
        Dialect::Postgres => {
            let keep = q.in_ints("(e.v ->> 0)::bigint", label_ids);
            format!(
                "UPDATE task_copies c SET labels = COALESCE((
                     SELECT json_agg(e.v ORDER BY e.i)::text
                     FROM json_array_elements(c.labels::json) WITH ORDINALITY AS e(v, i) WHERE NOT ({keep})), '[]')
                 WHERE c.id IN (SELECT copy_id FROM task_copy_label_ids WHERE {used})"
            )
        }
    };
    let args = q.args;
    let mut q = Query::new(dialect);
    let drop = format!(
        "DELETE FROM task_copy_label_ids WHERE {}",
        q.in_ints("label_id", label_ids)
    );
    vec![Stmt::new(rewrite, args), Stmt::new(drop, q.args)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use teamlabel_api::enums::LabelType;

    fn placed(id: i64, property: Value, score: Option<f64>) -> PlacedLabel {
        PlacedLabel {
            label_id: id,
            name: "ignored".into(),
            label_type: LabelType::ObjectDetection,
            instance_id: Some("i-1".into()),
            property: property.as_object().cloned().unwrap_or_default(),
            score,
            annotated_by: None,
        }
    }

    #[test]
    fn the_value_keeps_order_ids_and_properties_and_not_names() {
        let labels = vec![
            placed(
                7,
                json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2], [3, 4]]}),
                Some(0.5),
            ),
            placed(3, json!({}), None),
        ];
        let text = encode(&labels);
        assert_eq!(
            text,
            r#"[[7,"i-1",{"@modelarts:feature":[[1,2],[3,4]],"@modelarts:shape":"bndbox"},0.5,null],[3,"i-1",{},null,null]]"#
        );
        let back: Vec<Stored> = serde_json::from_str(&text).unwrap();
        assert_eq!(back[0].0, 7);
        assert_eq!(back[0].2, labels[0].property);
        assert_eq!(back[0].3, Some(0.5));
        assert_eq!(back[1].0, 3);
    }

    #[test]
    fn distinct_counts_each_label_once() {
        let labels = vec![
            placed(7, json!({}), None),
            placed(3, json!({}), None),
            placed(7, json!({}), None),
        ];
        assert_eq!(distinct(&labels), vec![(3, 1), (7, 2)]);
        assert!(distinct(&[]).is_empty());
    }
}
