//! Where an import's records go: the sources (`sources.rs`) hand records to a `Sink`, which
//! filters them, creates the labels the files name that the dataset lacks, checks every label by the
//! same rules as the API, and writes samples a page at a time with the names already taken
//! skipped (so a second import of the same files adds nothing). A page is written while the
//! next one is read and checked (one write in flight at a time, so pages land in order), and
//! the progress is written at most twice a second; the task ends `COMPLETED` with its counts
//! and issues, or `FAILED` with the reason.

use std::collections::HashSet;

use teamlabel_api::data_io::TaskIssue;
use teamlabel_api::enums::{LabelType, SampleStatus, SampleType};
use teamlabel_api::labels::Label;
use teamlabel_formats::Record;

use crate::app::App;
use crate::clock::now_ms;
use crate::data_io::imports::ImportPlan;
use crate::data_io::records::metadata_of;
use crate::data_io::tasks::{update, Progress};
use crate::datasets::labels::{define_label, prop, LabelDef};
use crate::error::{Error, Result};
use crate::ids::new_sample_id;
use crate::rules::sample_labels::check_sample_labels;
use crate::rules::values::{key, SampleFacts};
use crate::store::{DataTaskRecord, DatasetChange, DatasetRecord, SampleRecord};

/// Records written per page: one transaction each.
const BATCH: usize = 2000;

/// Least time between two writes of the progress (ms).
const PROGRESS_EVERY_MS: i64 = 500;

/// A page being written: the samples, where each came from, and the names the store took.
type Written = (Vec<SampleRecord>, Vec<(String, Option<u64>)>, Result<Vec<String>>);

/// A record read from a file, with where it came from.
pub(super) struct Incoming {
    /// The sample's name in the dataset: its key below the import path, or a digest of its text.
    pub name: String,
    pub record: Record,
    pub sample_type: SampleType,
    /// Bytes of the file, when known.
    pub size: u64,
    pub file: String,
    pub line: Option<u64>,
}

pub(super) struct Sink<'a> {
    pub(super) app: &'a App,
    pub(super) dataset: &'a DatasetRecord,
    pub(super) plan: &'a ImportPlan,
    pub(super) task: DataTaskRecord,
    pub(super) labels: Vec<LabelDef>,
    pub(super) pending: Vec<Incoming>,
    pub progress: Progress,
    /// The page being written.
    pub(super) inflight: Option<tokio::task::JoinHandle<Written>>,
    /// When the progress was last written (ms).
    pub(super) saved_at: i64,
    /// Whether a directory's files that are samples already are passed over unread (a sync).
    pub(super) skip_known: bool,
    /// Sample names of listed files found in the dataset and not yet passed over.
    pub(super) known: HashSet<String>,
}

impl<'a> Sink<'a> {
    /// Counts a record that was not imported, with where and why.
    pub fn skip(&mut self, file: &str, line: Option<u64>, reason: impl Into<String>) {
        self.progress.total_sample_count += 1;
        self.progress.processed_sample_count += 1;
        self.progress.skipped_sample_count += 1;
        self.progress.issue(TaskIssue {
            path: Some(file.to_string()),
            line,
            kind: "skipped".into(),
            reason: reason.into(),
            ..TaskIssue::default()
        });
    }

    pub async fn push(&mut self, incoming: Incoming) -> Result<()> {
        self.pending.push(incoming);
        if self.pending.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Checks the records gathered so far and starts writing them.
    pub async fn flush(&mut self) -> Result<()> {
        let batch = std::mem::take(&mut self.pending);
        let mut kept = Vec::with_capacity(batch.len());
        for mut inc in batch {
            if !self.plan.import_annotations {
                inc.record.labels.clear();
            }
            if let Some(why) = self.filtered_out(&inc.record) {
                self.skip(&inc.file, inc.line, why);
                continue;
            }
            kept.push(inc);
        }
        self.define_missing_labels(&kept).await?;
        let now = now_ms();
        let mut records = Vec::with_capacity(kept.len());
        let mut origin = Vec::with_capacity(kept.len());
        for inc in kept {
            match self.sample_of(&inc, now) {
                Ok(s) => {
                    origin.push((inc.file, inc.line));
                    records.push(s);
                }
                Err(e) => self.skip(&inc.file, inc.line, e.message),
            }
        }
        // The previous page must be in before this one goes, so a name repeated across pages
        // is taken by its first occurrence.
        self.settle().await?;
        let store = self.app.store.clone();
        self.inflight = Some(tokio::spawn(async move {
            let inserted = store.insert_new_samples(&records).await;
            (records, origin, inserted)
        }));
        if now_ms() - self.saved_at >= PROGRESS_EVERY_MS {
            self.save().await?;
        }
        Ok(())
    }

    /// Writes what is gathered and waits for every write: the last call of a run.
    pub async fn finish(&mut self) -> Result<()> {
        self.flush().await?;
        self.settle().await
    }

    /// Waits for the page in flight and counts what it imported and skipped.
    pub(super) async fn settle(&mut self) -> Result<()> {
        let Some(handle) = self.inflight.take() else {
            return Ok(());
        };
        let (records, origin, inserted) = handle
            .await
            .map_err(|e| Error::internal(format!("a page of the import stopped: {e}")))?;
        let inserted: HashSet<String> = inserted?.into_iter().collect();
        for (s, (file, line)) in records.iter().zip(origin) {
            if inserted.contains(&s.name) {
                self.progress.total_sample_count += 1;
                self.progress.processed_sample_count += 1;
                self.progress.imported_sample_count += 1;
                self.progress.imported_label_count += s.labels.len() as u64;
                if !s.labels.is_empty() {
                    self.progress.annotated_sample_count += 1;
                }
            } else {
                self.skip(
                    &file,
                    line,
                    format!("a sample named {:?} is already in the dataset", s.name),
                );
            }
        }
        Ok(())
    }

    async fn save(&mut self) -> Result<()> {
        let u = update(&self.task, "RUNNING", &self.progress);
        self.app.store.update_data_task(&u).await?;
        self.task.status = "RUNNING".into();
        self.saved_at = now_ms();
        Ok(())
    }

    /// Why a record is left out by the request's filters, if it is.
    fn filtered_out(&self, r: &Record) -> Option<String> {
        if self.plan.difficult_only && r.hard != Some(true) {
            return Some("difficult_only: the sample is not a hard example".into());
        }
        let named = |l: &str| r.labels.iter().any(|x| x.name.as_deref() == Some(l));
        if !self.plan.included_labels.is_empty() && !self.plan.included_labels.iter().any(|l| named(l)) {
            return Some("included_labels: the sample carries none of them".into());
        }
        if let Some(l) = self.plan.excluded_labels.iter().find(|l| named(l)) {
            return Some(format!("excluded_labels: the sample carries {l:?}"));
        }
        None
    }

    /// Creates the labels the records name that the dataset lacks, in one change.
    async fn define_missing_labels(&mut self, batch: &[Incoming]) -> Result<()> {
        let t = self.dataset.dataset_type;
        let mut wanted: Vec<LabelDef> = Vec::new();
        for inc in batch {
            for l in &inc.record.labels {
                let Some(name) = l.name.as_deref() else { continue };
                let label_type = l
                    .label_type
                    .and_then(LabelType::from_code)
                    .or_else(|| t.default_label_type());
                let known = |x: &LabelDef| x.name == name && label_type.is_none_or(|lt| x.label_type == lt);
                if self.labels.iter().any(known) || wanted.iter().any(known) {
                    continue;
                }
                let label = Label {
                    name: Some(name.to_string()),
                    label_type,
                    property: (label_type == Some(LabelType::TripletRelation))
                        .then(|| relation_ends(&inc.record, l))
                        .flatten(),
                    ..Label::default()
                };
                // A name the label rules refuse is left to the sample check, which skips the
                // sample with the reason.
                if let Ok(def) = define_label(t, "label", &label) {
                    wanted.push(def);
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let created = wanted.len() as u64;
        let change = DatasetChange {
            add_labels: wanted,
            update_time: now_ms(),
            ..DatasetChange::default()
        };
        self.app.store.update_dataset(&self.dataset.id, &change).await?;
        self.labels = self.app.store.list_labels(&self.dataset.id).await?;
        self.progress.created_label_count += created;
        Ok(())
    }

    fn sample_of(&self, inc: &Incoming, now: i64) -> Result<SampleRecord> {
        let r = &inc.record;
        crate::text::check_text("name", &inc.name, 1024, "!<>=&\"'")
            .map_err(|e| Error::invalid(format!("the sample name {:?} cannot be used: {}", inc.name, e.message)))?;
        let text_len = r.text().map(|t| t.chars().count());
        let metadata = metadata_of(r);
        let facts = SampleFacts {
            dataset_type: self.dataset.dataset_type,
            labels: &self.labels,
            text_len,
            size: r.size.map(|[w, h, _]| (f64::from(w), f64::from(h))),
        };
        let placed = check_sample_labels(&facts, &r.labels)?;
        let status = match (placed.is_empty(), self.plan.final_annotation) {
            (true, _) => SampleStatus::UnAnnotation,
            (false, true) => SampleStatus::ManualAnnotation,
            (false, false) => SampleStatus::AutoAnnotation,
        };
        Ok(SampleRecord {
            id: new_sample_id(),
            dataset_id: self.dataset.id.clone(),
            name: inc.name.clone(),
            sample_type: inc.sample_type,
            source: Some(r.source.clone()),
            blob_sha256: None,
            content_type: None,
            size: text_len.map_or(inc.size as i64, |n| n as i64),
            text_len: text_len.map(|n| n as i64),
            inline_text: None,
            metadata,
            sample_usage: r.usage.clone(),
            status,
            sample_time: now,
            update_time: now,
            version: 0,
            labels: placed,
        })
    }
}

/// The `from_type`/`to_type` a relation label needs to be defined, read from the entities its
/// ends name on the same sample; `None` when an end names no entity there (the sample check
/// then skips the sample with the reason).
fn relation_ends(
    r: &Record,
    relation: &teamlabel_api::labels::SampleLabel,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let p = relation.property.as_ref()?;
    let end = |key: &str| -> Option<String> {
        let id = p.get(key)?.as_str()?;
        r.labels
            .iter()
            .find(|e| e.id.as_deref() == Some(id) && e.label_type == Some(i64::from(LabelType::TripletEntity.code())))
            .and_then(|e| e.name.clone())
    };
    let mut m = serde_json::Map::new();
    m.insert(prop::FROM_TYPE.into(), end(key::FROM)?.into());
    m.insert(prop::TO_TYPE.into(), end(key::TO)?.into());
    Some(m)
}
