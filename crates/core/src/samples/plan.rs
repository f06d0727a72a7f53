//! The per-item planning of a batch label update: one pure function, `plan_items`, used by both
//! the dataset update (`samples::update`) and the team task update (`team::task_labels`). Each
//! item is checked against the dataset's label definitions and against the record it writes as
//! the batch goes (so a record named twice sees the first write, and the last one wins), and
//! answers the write it plans or why it fails. No store, no clock, no HTTP: where an item lands
//! (a dataset sample, or a member's copy) is the caller's `Target`.

use std::collections::HashMap;
use std::hash::Hash;

use serde_json::{Map, Value};
use teamlabel_api::enums::{DatasetType, SampleType, SAMPLE_USAGES};
use teamlabel_api::samples::SampleLabels;

use crate::datasets::labels::LabelDef;
use crate::error::{codes, Error, Result};
use crate::rules::metadata::check_metadata;
use crate::rules::sample_labels::check_sample_labels;
use crate::rules::triplets::check_triplet_types;
use crate::rules::values::{PlacedLabel, SampleFacts};
use crate::samples::source::{listed_source, source_matches, SourceUrls};
use crate::store::SampleRecord;

/// A record an item writes over, as the batch goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub version: i64,
    pub labels: Vec<PlacedLabel>,
    /// A copy's team state, or a dataset sample's status.
    pub state: String,
    /// A copy's own metadata (if it has any), or a dataset sample's metadata.
    pub metadata: Option<Map<String, Value>>,
}

/// What every item of a batch is checked against.
pub struct Facts<'a> {
    pub dataset_type: DatasetType,
    pub labels: &'a [LabelDef],
    /// How the edge names stored bytes, to compare an item's `source`.
    pub urls: &'a dyn SourceUrls,
}

/// Where the items of one kind of batch land.
pub trait Target<'s> {
    /// What names the record an item writes (a sample id, a copy id).
    type Key: Clone + Eq + Hash;
    /// The record an item writes and its sample, or why the item cannot write one.
    fn locate(&self, item: &SampleLabels, sample_id: &str) -> Result<(Self::Key, &'s SampleRecord)>;
    /// Refuses an item by the state of what it writes over; none by default.
    fn check_current(&self, _sample_id: &str, _current: &Current) -> Result<()> {
        Ok(())
    }
    /// The image size the labels are checked against when neither the item nor the record
    /// gives one; none by default.
    fn base_size(&self, _sample: &SampleRecord) -> Option<(f64, f64)> {
        None
    }
    /// The state after the write; `labeled` when the new label set is not empty.
    fn state_after(&self, labeled: bool) -> String;
}

/// One item's planned write.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned<K> {
    pub key: K,
    pub sample_id: String,
    /// The record as it was before this item (the write expects `before.version`).
    pub before: Current,
    pub labels: Vec<PlacedLabel>,
    /// The metadata the item gives, replacing the stored one.
    pub metadata: Option<Map<String, Value>>,
    /// The usage the item gives, upper-cased.
    pub usage: Option<String>,
    pub state_after: String,
}

impl<K> Planned<K> {
    /// The metadata after the write: the item's, or what was there.
    pub fn metadata_after(&self) -> Option<Map<String, Value>> {
        self.metadata.clone().or_else(|| self.before.metadata.clone())
    }

    /// The record as this item leaves it, for the items after it.
    fn after(&self) -> Current {
        Current {
            version: self.before.version + 1,
            labels: self.labels.clone(),
            state: self.state_after.clone(),
            metadata: self.metadata_after(),
        }
    }
}

/// Plans every item of a batch in order. `current` holds the loaded records by key and is
/// updated with each planned write, so a later item of the same batch sees an earlier one.
pub fn plan_items<'s, T: Target<'s>>(
    items: &[SampleLabels],
    facts: &Facts<'_>,
    target: &T,
    current: &mut HashMap<T::Key, Current>,
) -> Vec<Result<Planned<T::Key>>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let planned = plan_one(item, facts, target, current);
        if let Ok(p) = &planned {
            current.insert(p.key.clone(), p.after());
        }
        out.push(planned);
    }
    out
}

fn plan_one<'s, T: Target<'s>>(
    item: &SampleLabels,
    facts: &Facts<'_>,
    target: &T,
    current: &mut HashMap<T::Key, Current>,
) -> Result<Planned<T::Key>> {
    let sample_id = item
        .sample_id
        .as_deref()
        .ok_or_else(|| Error::invalid("sample_id is required"))?;
    let (key, sample) = target.locate(item, sample_id)?;
    let before = current
        .get(&key)
        .ok_or_else(|| Error::internal(format!("no loaded record for sample {sample_id}")))?;
    target.check_current(sample_id, before)?;
    if let Some(v) = item.version {
        if v != before.version {
            return Err(Error::conflict(
                codes::VERSION_CONFLICT,
                format!(
                    "version {v} is not the stored version {}: the labels changed since they were read",
                    before.version
                ),
            ));
        }
    }
    let stored_size = size_of(before.metadata.as_ref()).or_else(|| target.base_size(sample));
    let checked = check_item(item, sample, facts, stored_size)?;
    let state_after = target.state_after(!checked.labels.is_empty());
    // Planned: the record leaves `current`, and `plan_items` puts back what it becomes.
    let before = current.remove(&key).expect("looked up above");
    Ok(Planned {
        key,
        sample_id: sample_id.to_string(),
        before,
        labels: checked.labels,
        metadata: checked.metadata,
        usage: checked.usage,
        state_after,
    })
}

/// The checks every item of both updates shares: type, usage, source, metadata, labels.
/// Answers the labels to store, the metadata to store (when given) and the usage.
struct Checked {
    labels: Vec<PlacedLabel>,
    metadata: Option<Map<String, Value>>,
    usage: Option<String>,
}

fn check_item(
    item: &SampleLabels,
    sample: &SampleRecord,
    facts: &Facts<'_>,
    stored_size: Option<(f64, f64)>,
) -> Result<Checked> {
    if let Some(t) = item.sample_type {
        let t = SampleType::parse("sample_type", t).map_err(Error::invalid)?;
        if t != sample.sample_type {
            return Err(Error::invalid(format!(
                "sample_type {} does not match the sample's type {}",
                t.code(),
                sample.sample_type.code()
            )));
        }
    }
    let usage = match item.sample_usage.as_deref() {
        None => None,
        Some(u) => {
            let upper = u.to_ascii_uppercase();
            if !SAMPLE_USAGES.contains(&upper.as_str()) {
                return Err(Error::invalid(format!(
                    "sample_usage must be one of {}, got {u:?}",
                    SAMPLE_USAGES.join(", ")
                )));
            }
            Some(upper)
        }
    };
    if let Some(src) = item.source.as_deref() {
        if !source_matches(sample, src, facts.urls) {
            let listed = listed_source(sample, facts.urls);
            return Err(Error::invalid(format!(
                "source does not match the sample's source {listed:?}"
            )));
        }
    }
    let request_size = match &item.metadata {
        Some(m) => check_metadata(m)?,
        None => None,
    };
    let sample_facts = SampleFacts {
        dataset_type: facts.dataset_type,
        labels: facts.labels,
        text_len: sample.text_len.map(|n| n as usize),
        size: request_size.or(stored_size),
    };
    let placed = check_sample_labels(&sample_facts, item.labels.as_deref().unwrap_or(&[]))?;
    check_triplet_types(&placed, facts.labels)?;
    Ok(Checked {
        labels: placed,
        metadata: item.metadata.clone(),
        usage,
    })
}

pub fn size_of(metadata: Option<&Map<String, Value>>) -> Option<(f64, f64)> {
    metadata.and_then(|m| check_metadata(m).ok().flatten())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use teamlabel_api::enums::{LabelType, SampleStatus};

    struct Urls;

    impl SourceUrls for Urls {
        fn file_url(&self, dataset_id: &str, sample_id: &str) -> String {
            format!("http://h/{dataset_id}/{sample_id}/file")
        }
        fn names_file(&self, given: &str, _: &str, sample_id: &str) -> bool {
            given.ends_with(&format!("/{sample_id}/file"))
        }
    }

    /// Items land on the samples by id; a sample marked "locked" refuses writes.
    struct BySample<'s>(&'s HashMap<String, SampleRecord>);

    impl<'s> Target<'s> for BySample<'s> {
        type Key = String;
        fn locate(&self, _: &SampleLabels, sample_id: &str) -> Result<(String, &'s SampleRecord)> {
            let s = self
                .0
                .get(sample_id)
                .ok_or_else(|| Error::sample_not_found(sample_id))?;
            Ok((sample_id.to_string(), s))
        }
        fn check_current(&self, sample_id: &str, current: &Current) -> Result<()> {
            if current.state == "locked" {
                return Err(Error::invalid(format!("{sample_id} is locked")));
            }
            Ok(())
        }
        fn state_after(&self, labeled: bool) -> String {
            if labeled { "labeled" } else { "empty" }.to_string()
        }
    }

    fn sample(id: &str, source: Option<&str>) -> SampleRecord {
        SampleRecord {
            id: id.into(),
            dataset_id: "d".into(),
            name: format!("{id}.jpg"),
            sample_type: SampleType::Image,
            source: source.map(String::from),
            blob_sha256: source.is_none().then(|| "00".repeat(32)),
            content_type: None,
            size: 1,
            text_len: None,
            inline_text: None,
            metadata: Map::new(),
            sample_usage: None,
            status: SampleStatus::UnAnnotation,
            sample_time: 0,
            update_time: 0,
            version: 3,
            labels: vec![],
        }
    }

    fn defs() -> Vec<LabelDef> {
        vec![LabelDef {
            id: 7,
            name: "cat".into(),
            label_type: LabelType::ImageClassification,
            property: Map::new(),
            attributes: None,
        }]
    }

    fn item(v: serde_json::Value) -> SampleLabels {
        serde_json::from_value(v).unwrap()
    }

    fn plan(items: &[SampleLabels], records: &[SampleRecord]) -> Vec<Result<Planned<String>>> {
        let loaded: HashMap<String, SampleRecord> = records.iter().map(|s| (s.id.clone(), s.clone())).collect();
        let mut current: HashMap<String, Current> = records
            .iter()
            .map(|s| {
                let state = if s.name.starts_with("locked") {
                    "locked"
                } else {
                    "empty"
                };
                let now = Current {
                    version: s.version,
                    labels: vec![],
                    state: state.into(),
                    metadata: Some(s.metadata.clone()),
                };
                (s.id.clone(), now)
            })
            .collect();
        let labels = defs();
        let facts = Facts {
            dataset_type: DatasetType::ImageClassification,
            labels: &labels,
            urls: &Urls,
        };
        plan_items(items, &facts, &BySample(&loaded), &mut current)
    }

    #[test]
    fn each_item_is_planned_on_its_own() {
        let items = [
            item(json!({"sample_id": "a", "labels": [{"name": "cat"}], "sample_usage": "train"})),
            item(json!({"labels": []})),
            item(json!({"sample_id": "zz"})),
            item(json!({"sample_id": "b", "labels": [{"name": "dog"}]})),
            item(json!({"sample_id": "b", "version": 2})),
        ];
        let out = plan(&items, &[sample("a", None), sample("b", None)]);
        let a = out[0].as_ref().unwrap();
        assert_eq!((a.sample_id.as_str(), a.before.version), ("a", 3));
        assert_eq!(a.labels[0].label_id, 7);
        assert_eq!((a.state_after.as_str(), a.usage.as_deref()), ("labeled", Some("TRAIN")));
        assert_eq!(out[1].as_ref().unwrap_err().message, "sample_id is required");
        assert_eq!(out[2].as_ref().unwrap_err().code, codes::SAMPLE_NOT_FOUND);
        assert_eq!(out[3].as_ref().unwrap_err().code, codes::LABEL_NOT_FOUND);
        assert_eq!(out[4].as_ref().unwrap_err().code, codes::VERSION_CONFLICT);
    }

    #[test]
    fn a_sample_named_twice_sees_the_first_write_and_the_last_one_wins() {
        let items = [
            item(json!({"sample_id": "a", "version": 3, "labels": [{"name": "cat"}], "metadata": {"k": 1}})),
            item(json!({"sample_id": "a", "version": 3})),
            item(json!({"sample_id": "a", "version": 4})),
        ];
        let out = plan(&items, &[sample("a", None)]);
        assert_eq!(out[0].as_ref().unwrap().before.version, 3);
        assert_eq!(out[1].as_ref().unwrap_err().code, codes::VERSION_CONFLICT);
        let last = out[2].as_ref().unwrap();
        assert_eq!(last.before.version, 4);
        assert_eq!(last.before.labels.len(), 1);
        assert_eq!((last.labels.len(), last.state_after.as_str()), (0, "empty"));
        assert_eq!(last.metadata, None);
        assert_eq!(last.metadata_after().unwrap()["k"], 1);
    }

    #[test]
    fn the_target_may_refuse_by_the_current_state() {
        let mut locked = sample("a", None);
        locked.name = "locked.jpg".into();
        let out = plan(&[item(json!({"sample_id": "a"}))], &[locked]);
        assert_eq!(out[0].as_ref().unwrap_err().message, "a is locked");
    }

    #[test]
    fn a_given_source_must_be_the_samples() {
        let records = [sample("a", None), sample("r", Some("http://x/r.jpg"))];
        let ok = [
            item(json!({"sample_id": "a", "source": "http://h/d/a/file"})),
            item(json!({"sample_id": "a", "source": "https://other/d/a/file"})),
            item(json!({"sample_id": "r", "source": "http://x/r.jpg"})),
        ];
        assert!(plan(&ok, &records).iter().all(Result::is_ok));
        let bad = [
            item(json!({"sample_id": "a", "source": "http://h/d/b/file"})),
            item(json!({"sample_id": "r", "source": "http://h/d/r/file"})),
        ];
        let out = plan(&bad, &records);
        assert_eq!(
            out[0].as_ref().unwrap_err().message,
            "source does not match the sample's source \"http://h/d/a/file\""
        );
        assert_eq!(
            out[1].as_ref().unwrap_err().message,
            "source does not match the sample's source \"http://x/r.jpg\""
        );
    }
}
