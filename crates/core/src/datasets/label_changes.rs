//! Changes to a dataset's label set: adding, updating (with renames that follow through triplet
//! relationships) and deleting labels, each checked against the whole set, and the label
//! endpoints' use cases built on them. A change is planned in memory, checked item by item, and
//! written in one transaction only if every item passed.

use std::collections::HashMap;

use serde_json::{Map, Value};
use teamlabel_api::batch::{BatchResponse, ItemResult};
use teamlabel_api::enums::{DatasetType, LabelType};
use teamlabel_api::labels::{
    DeleteLabelsQuery, Label, LabelByNameQuery, LabelsRequest, ListLabelsQuery, ListLabelsResponse,
};

use crate::app::App;
use crate::batch;
use crate::datasets::labels::{
    check_attributes, check_label_name, check_label_property, check_label_set, define_label, find_label, prop, LabelDef,
};
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op as PolicyOp, Standing};
use crate::query::{parse_bool, parse_i64, parse_page, parse_u64};
use crate::store::{DatasetChange, DeletedSample};

/// Most labels one dataset may have.
pub const MAX_LABELS_PER_DATASET: usize = 10_000;

/// A label set being changed. New labels carry negative ids until they are stored.
#[derive(Debug, Clone)]
pub struct LabelPlan {
    dataset_type: DatasetType,
    original: Vec<LabelDef>,
    pub labels: Vec<LabelDef>,
    next_new_id: i64,
}

impl LabelPlan {
    pub fn new(dataset_type: DatasetType, current: Vec<LabelDef>) -> Self {
        Self {
            dataset_type,
            original: current.clone(),
            labels: current,
            next_new_id: -1,
        }
    }

    /// Applies one step; if it (or the set after it) breaks a rule, the plan is left as it was.
    fn step(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let before = self.labels.clone();
        let next = self.next_new_id;
        let outcome = f(self).and_then(|()| check_label_set(&self.labels));
        if outcome.is_err() {
            self.labels = before;
            self.next_new_id = next;
        }
        outcome
    }

    pub fn add(&mut self, field: &str, label: &Label) -> Result<()> {
        self.step(|plan| {
            let mut def = define_label(plan.dataset_type, field, label)?;
            if plan.labels.len() >= MAX_LABELS_PER_DATASET {
                return Err(Error::invalid(format!(
                    "{field}: a dataset may have at most {MAX_LABELS_PER_DATASET} labels"
                )));
            }
            def.id = plan.next_new_id;
            plan.next_new_id -= 1;
            plan.labels.push(def);
            Ok(())
        })
    }

    /// Merges `property` into the label named by `name` (+ `type`): a key with `null` removes it;
    /// `@modelarts:rename_to` renames the label (and the relationships that name it).
    pub fn update(
        &mut self,
        field: &str,
        name: &str,
        label_type: Option<LabelType>,
        property: &Map<String, Value>,
        attributes: Option<&Vec<teamlabel_api::labels::LabelAttribute>>,
    ) -> Result<()> {
        self.step(|plan| {
            let current = find_label(&plan.labels, name, label_type)?.clone();
            let mut next = current.clone();
            for (k, v) in property {
                if k == prop::RENAME_TO {
                    continue;
                }
                if v.is_null() {
                    next.property.remove(k);
                } else {
                    next.property.insert(k.clone(), v.clone());
                }
            }
            check_label_property(&next.name, next.label_type, &next.property)?;
            if let Some(attrs) = attributes {
                check_attributes(&next.name, attrs)?;
                next.attributes = Some(attrs.clone());
            }
            if let Some(new_name) = property.get(prop::RENAME_TO) {
                let new_name = new_name
                    .as_str()
                    .ok_or_else(|| Error::invalid(format!("{field}: {} must be a string", prop::RENAME_TO)))?;
                check_label_name(&format!("{field}: {}", prop::RENAME_TO), new_name)?;
                if current.label_type == LabelType::TripletEntity {
                    for rel in plan
                        .labels
                        .iter_mut()
                        .filter(|l| l.label_type == LabelType::TripletRelation)
                    {
                        for key in [prop::FROM_TYPE, prop::TO_TYPE] {
                            if rel.property.get(key).and_then(Value::as_str) == Some(current.name.as_str()) {
                                rel.property
                                    .insert(key.to_string(), Value::String(new_name.to_string()));
                            }
                        }
                    }
                }
                next.name = new_name.to_string();
            }
            let slot = plan
                .labels
                .iter_mut()
                .find(|l| l.id == current.id)
                .expect("label found above");
            *slot = next;
            Ok(())
        })
    }

    pub fn delete(&mut self, name: &str, label_type: Option<LabelType>) -> Result<()> {
        self.step(|plan| {
            let target = find_label(&plan.labels, name, label_type)?.clone();
            if target.label_type == LabelType::TripletEntity {
                if let Some(rel) = plan.labels.iter().find(|l| {
                    l.label_type == LabelType::TripletRelation
                        && [prop::FROM_TYPE, prop::TO_TYPE]
                            .iter()
                            .any(|k| l.property.get(*k).and_then(Value::as_str) == Some(target.name.as_str()))
                }) {
                    return Err(Error::bad_request(
                        codes::ENTITY_IN_USE,
                        format!(
                            "Entity label {:?} can not be deleted because it is used by triplet label {:?}",
                            target.name, rel.name
                        ),
                    ));
                }
            }
            plan.labels.retain(|l| l.id != target.id);
            Ok(())
        })
    }

    /// The store change that takes the original set to the planned one.
    pub fn into_change(self, delete_policy: u8, update_time: i64) -> DatasetChange {
        let originals: HashMap<i64, &LabelDef> = self.original.iter().map(|l| (l.id, l)).collect();
        let mut change = DatasetChange {
            delete_policy,
            update_time,
            ..DatasetChange::default()
        };
        for l in &self.labels {
            match originals.get(&l.id) {
                None => change.add_labels.push(LabelDef { id: 0, ..l.clone() }),
                Some(orig) if *orig != l => change.update_labels.push(l.clone()),
                Some(_) => {}
            }
        }
        change.delete_labels = self
            .original
            .iter()
            .filter(|o| !self.labels.iter().any(|l| l.id == o.id))
            .map(|o| o.id)
            .collect();
        change
    }
}

pub fn version_not_found(id: &str) -> Error {
    Error::not_found(
        codes::VERSION_NOT_FOUND,
        format!("Dataset version does not exist: {id}"),
    )
}

fn parse_label_type(value: Option<&str>) -> Result<Option<LabelType>> {
    match value {
        None | Some("") => Ok(None),
        Some(s) => {
            let code = parse_i64("label_type", s)?;
            LabelType::parse("label_type", code).map(Some).map_err(Error::invalid)
        }
    }
}

fn require_labels(req: &LabelsRequest, max: usize) -> Result<&[Label]> {
    let labels = req.labels.as_deref().unwrap_or(&[]);
    if labels.is_empty() {
        return Err(Error::invalid("labels: send at least one label"));
    }
    if labels.len() > max {
        return Err(Error::invalid(format!(
            "labels: at most {max} labels per request, got {}",
            labels.len()
        )));
    }
    Ok(labels)
}

enum Op {
    Add,
    Update,
    Delete,
}

impl App {
    pub async fn list_labels(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &ListLabelsQuery,
    ) -> Result<ListLabelsResponse> {
        policy::authorize(p, PolicyOp::ListLabels, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        if let Some(v) = q.version_id.as_deref().filter(|v| !v.is_empty()) {
            return Err(version_not_found(v));
        }
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 100_000, 100_000)?;
        let labels = self.store.list_labels(dataset_id).await?;
        let total = labels.len() as u64;
        let start = (page.offset.saturating_mul(page.limit)).min(total) as usize;
        let end = (start as u64 + page.limit).min(total) as usize;
        Ok(ListLabelsResponse {
            total_number: total,
            labels: labels[start..end].iter().map(LabelDef::to_api).collect(),
        })
    }

    /// Runs one batch of label operations: every item is checked; if any fails nothing is
    /// written and the answer says which (Err carries the batch answer for a 400).
    async fn label_batch(
        &self,
        p: &Principal,
        dataset_id: &str,
        labels: &[Label],
        op: Op,
        delete_policy: u8,
    ) -> Result<std::result::Result<BatchResponse, BatchResponse>> {
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let current = self.store.list_labels(dataset_id).await?;
        let mut plan = LabelPlan::new(dataset.dataset_type, current);
        let mut results = Vec::with_capacity(labels.len());
        for (i, label) in labels.iter().enumerate() {
            let field = format!("labels[{i}]");
            let outcome = match op {
                Op::Add => plan.add(&field, label),
                Op::Update | Op::Delete => match label.name.as_deref() {
                    None => Err(Error::invalid(format!("{field}.name is required"))),
                    Some(name) => match op {
                        Op::Update => plan.update(
                            &field,
                            name,
                            label.label_type,
                            &label.property.clone().unwrap_or_default(),
                            label.attributes.as_ref(),
                        ),
                        _ => plan.delete(name, label.label_type),
                    },
                },
            };
            results.push(match outcome {
                Ok(()) => ItemResult::ok(),
                Err(e) => batch::failed(&e),
            });
        }
        if results.iter().any(|r| !r.success) {
            return Ok(Err(batch::none_applied(results)));
        }
        let answer = BatchResponse::from_results(results);
        let deleted = self
            .apply_label_change(dataset_id, plan.into_change(delete_policy, crate::clock::now_ms()))
            .await?;
        if delete_policy == 2 {
            self.remove_unused_blobs(&deleted).await;
        }
        Ok(Ok(answer))
    }

    pub(crate) async fn apply_label_change(
        &self,
        dataset_id: &str,
        change: DatasetChange,
    ) -> Result<Vec<DeletedSample>> {
        self.store.update_dataset(dataset_id, &change).await
    }

    /// Removes the stored bytes of deleted samples that no other sample points at. Failures are
    /// logged: the samples are gone either way.
    pub(crate) async fn remove_unused_blobs(&self, deleted: &[DeletedSample]) {
        let mut shas: Vec<&str> = deleted.iter().filter_map(|d| d.blob_sha256.as_deref()).collect();
        shas.sort_unstable();
        shas.dedup();
        for sha in shas {
            match self.store.blob_in_use(sha).await {
                Ok(false) => {
                    if let Err(e) = self.blobs.remove(sha).await {
                        tracing::warn!(blob = sha, error = %e, "could not remove a blob");
                    }
                }
                Ok(true) => {}
                Err(e) => tracing::warn!(blob = sha, error = %e, "could not check a blob"),
            }
        }
    }

    pub async fn create_labels(
        &self,
        p: &Principal,
        dataset_id: &str,
        req: &LabelsRequest,
    ) -> Result<std::result::Result<BatchResponse, BatchResponse>> {
        policy::authorize(p, PolicyOp::CreateLabels, &Standing::project(p))?;
        let labels = require_labels(req, self.limits.max_batch)?;
        self.label_batch(p, dataset_id, labels, Op::Add, 0).await
    }

    pub async fn update_labels(
        &self,
        p: &Principal,
        dataset_id: &str,
        req: &LabelsRequest,
    ) -> Result<std::result::Result<BatchResponse, BatchResponse>> {
        policy::authorize(p, PolicyOp::UpdateLabels, &Standing::project(p))?;
        let labels = require_labels(req, self.limits.max_batch)?;
        self.label_batch(p, dataset_id, labels, Op::Update, 0).await
    }

    pub async fn delete_labels(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &DeleteLabelsQuery,
        req: &LabelsRequest,
    ) -> Result<std::result::Result<BatchResponse, BatchResponse>> {
        policy::authorize(p, PolicyOp::DeleteLabels, &Standing::project(p))?;
        let policy = match q.delete_policy.as_deref() {
            None | Some("") => 0,
            Some(s) => parse_u64("delete_policy", s, 0, 2)? as u8,
        };
        let labels = require_labels(req, self.limits.max_batch)?;
        self.label_batch(p, dataset_id, labels, Op::Delete, policy).await
    }

    /// Updates one label by name with a bare property map (merge; `null` removes a key).
    pub async fn update_label_by_name(
        &self,
        p: &Principal,
        dataset_id: &str,
        name: &str,
        q: &LabelByNameQuery,
        property: &Map<String, Value>,
    ) -> Result<()> {
        policy::authorize(p, PolicyOp::UpdateLabel, &Standing::project(p))?;
        let label_type = parse_label_type(q.label_type.as_deref())?;
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let mut plan = LabelPlan::new(dataset.dataset_type, self.store.list_labels(dataset_id).await?);
        plan.update("body", name, label_type, property, None)?;
        self.apply_label_change(dataset_id, plan.into_change(0, crate::clock::now_ms()))
            .await?;
        Ok(())
    }

    /// Deletes one label and the samples whose only label it was.
    pub async fn delete_label_by_name(
        &self,
        p: &Principal,
        dataset_id: &str,
        name: &str,
        q: &LabelByNameQuery,
    ) -> Result<()> {
        policy::authorize(p, PolicyOp::DeleteLabel, &Standing::project(p))?;
        let label_type = parse_label_type(q.label_type.as_deref())?;
        let delete_source = parse_bool("delete_source", q.delete_source.as_deref(), false)?;
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let mut plan = LabelPlan::new(dataset.dataset_type, self.store.list_labels(dataset_id).await?);
        plan.delete(name, label_type)?;
        let deleted = self
            .apply_label_change(
                dataset_id,
                plan.into_change(if delete_source { 2 } else { 1 }, crate::clock::now_ms()),
            )
            .await?;
        if delete_source {
            self.remove_unused_blobs(&deleted).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn label(v: Value) -> Label {
        serde_json::from_value(v).unwrap()
    }

    fn stored(id: i64, name: &str, t: LabelType, p: Value) -> LabelDef {
        LabelDef {
            id,
            name: name.into(),
            label_type: t,
            property: p.as_object().unwrap().clone(),
            attributes: None,
        }
    }

    #[test]
    fn renaming_an_entity_follows_through_its_relationships() {
        let mut plan = LabelPlan::new(
            DatasetType::TextTriplet,
            vec![
                stored(1, "Person", LabelType::TripletEntity, json!({})),
                stored(2, "Book", LabelType::TripletEntity, json!({})),
                stored(
                    3,
                    "Author",
                    LabelType::TripletRelation,
                    json!({"@modelarts:from_type": "Person", "@modelarts:to_type": "Book"}),
                ),
            ],
        );
        let rename = json!({"@modelarts:rename_to": "Writer"});
        plan.update(
            "labels[0]",
            "Person",
            Some(LabelType::TripletEntity),
            rename.as_object().unwrap(),
            None,
        )
        .unwrap();
        let change = plan.into_change(0, 0);
        assert_eq!(change.update_labels.len(), 2);
        let rel = change.update_labels.iter().find(|l| l.id == 3).unwrap();
        assert_eq!(rel.property["@modelarts:from_type"], "Writer");
        assert!(change
            .update_labels
            .iter()
            .all(|l| !l.property.contains_key(prop::RENAME_TO)));
    }

    #[test]
    fn an_entity_used_by_a_relationship_cannot_be_deleted() {
        let mut plan = LabelPlan::new(
            DatasetType::TextTriplet,
            vec![
                stored(1, "Person", LabelType::TripletEntity, json!({})),
                stored(
                    3,
                    "Author",
                    LabelType::TripletRelation,
                    json!({"@modelarts:from_type": "Person", "@modelarts:to_type": "Person"}),
                ),
            ],
        );
        assert_eq!(plan.delete("Person", None).unwrap_err().code, codes::ENTITY_IN_USE);
        plan.delete("Author", None).unwrap();
        plan.delete("Person", None).unwrap();
        assert_eq!(plan.into_change(0, 0).delete_labels, vec![1, 3]);
    }

    #[test]
    fn a_failed_step_leaves_the_plan_unchanged() {
        let mut plan = LabelPlan::new(
            DatasetType::ImageClassification,
            vec![stored(
                1,
                "Cat",
                LabelType::ImageClassification,
                json!({"@modelarts:shortcut": "c"}),
            )],
        );
        let err = plan
            .add(
                "labels[0]",
                &label(json!({"name": "Dog", "property": {"@modelarts:shortcut": "c"}})),
            )
            .unwrap_err();
        assert_eq!(err.code, codes::SHORTCUT_EXISTS);
        assert_eq!(plan.labels.len(), 1);
        plan.add("labels[1]", &label(json!({"name": "Dog"}))).unwrap();
        let change = plan.into_change(0, 0);
        assert_eq!(change.add_labels.len(), 1);
        assert_eq!(change.add_labels[0].id, 0);
    }

    #[test]
    fn a_null_property_value_removes_the_key() {
        let mut plan = LabelPlan::new(
            DatasetType::ImageClassification,
            vec![stored(
                1,
                "Cat",
                LabelType::ImageClassification,
                json!({"@modelarts:shortcut": "c", "@modelarts:color": "#ffffff"}),
            )],
        );
        let p = json!({"@modelarts:shortcut": null});
        plan.update("body", "Cat", None, p.as_object().unwrap(), None).unwrap();
        let change = plan.into_change(0, 0);
        assert_eq!(
            Value::Object(change.update_labels[0].property.clone()),
            json!({"@modelarts:color": "#ffffff"})
        );
    }
}
