//! Reading and deleting the samples of a dataset: listing with filters, reading one, reading
//! its stored bytes, and deleting in batches. A sample's `source` is written by the edge
//! through `samples::source::SourceUrls`. It must not write a URL itself.

use std::collections::HashSet;
use teamlabel_api::batch::{BatchResponse, ItemResult};
use teamlabel_api::enums::{SampleStatus, SampleType};
use teamlabel_api::samples::{DeleteSamplesRequest, ListSamplesQuery, ListSamplesResponse, Sample};

use crate::app::App;
use crate::batch;
use crate::datasets::label_changes::version_not_found;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::is_hex32;
use crate::objects::ObjectPath;
use crate::query::{parse_bool, parse_i64, parse_order, parse_page};
use crate::samples::add::content_type_of;
use crate::samples::search::{label_name_filter, parse_search_conditions};
use crate::samples::source::{listed_source, SourceUrls};
use crate::samples::texts::sample_data;
use crate::store::{SampleQuery, SampleRecord};

/// Turns a stored sample into its answer; `urls` writes the source of stored bytes. A short
/// uploaded text without a copy in its row is answered only once read from the blob store
/// (`App::read_texts_from_blobs`).
pub fn sample_to_api(s: &SampleRecord, urls: &dyn SourceUrls) -> Sample {
    let source = listed_source(s, urls);
    Sample {
        sample_id: s.id.clone(),
        sample_name: s.name.clone(),
        sample_type: s.sample_type,
        sample_status: s.status,
        sample_time: s.sample_time,
        sample_size: s.size,
        source,
        labels: s.labels.iter().map(|l| l.to_api()).collect(),
        metadata: s.metadata.clone(),
        sample_data: sample_data(s),
    }
}

/// A sample's stored bytes with what the HTTP layer needs to answer them safely.
#[derive(Debug, Clone)]
pub struct SampleFile {
    pub bytes: Vec<u8>,
    pub content_type: String,
    pub file_name: String,
    /// Only images and plain text are shown inline; everything else is an attachment.
    pub inline: bool,
}

impl App {
    pub async fn list_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &ListSamplesQuery,
        urls: &dyn SourceUrls,
    ) -> Result<ListSamplesResponse> {
        policy::authorize(p, Op::ListSamples, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        if let Some(v) = q.version_id.as_deref().filter(|v| !v.is_empty()) {
            return Err(version_not_found(v));
        }
        if q.email.as_deref().is_some_and(|e| !e.is_empty()) {
            return Err(Error::invalid(
                "email is a team filter: list the samples of a team labeling task instead",
            ));
        }
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let statuses = match q.sample_state.as_deref() {
            None | Some("") => None,
            Some("__ALL__") => Some(vec![SampleStatus::ManualAnnotation, SampleStatus::AutoAnnotation]),
            Some("__NONE__") => Some(vec![SampleStatus::UnAnnotation]),
            Some("__AUTO_ANNOTATION__") => Some(vec![SampleStatus::AutoAnnotation]),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "sample_state {other:?} is not a state of dataset samples; use __ALL__, __NONE__ or __AUTO_ANNOTATION__ (team states are listed on team task samples)"
                )))
            }
        };
        let sample_type = match q.sample_type.as_deref() {
            None | Some("") => None,
            Some(s) => Some(SampleType::parse("sample_type", parse_i64("sample_type", s)?).map_err(Error::invalid)?),
        };
        let labels = self.store.list_labels(dataset_id).await?;
        let mut query = SampleQuery {
            offset: page.offset,
            limit: page.limit,
            ascending: parse_order(q.order.as_deref())?,
            statuses,
            sample_type,
            ..SampleQuery::default()
        };
        if q.label_type.as_deref().is_some_and(|t| !t.is_empty()) && q.label_name.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid(
                "label_type goes with label_name: give the label's name too",
            ));
        }
        if let Some(group) = label_name_filter(&labels, q.label_name.as_deref(), q.label_type.as_deref())? {
            query.label_groups.push(group);
        }
        if let Some(raw) = q.search_conditions.as_deref().filter(|s| !s.is_empty()) {
            parse_search_conditions(raw, &labels)?.apply_to(&mut query);
        }
        let (count, mut rows) = self.store.list_samples(dataset_id, &query).await?;
        self.read_texts_from_blobs(rows.iter_mut().collect()).await;
        Ok(ListSamplesResponse {
            sample_count: count,
            samples: rows.iter().map(|s| sample_to_api(s, urls)).collect(),
        })
    }

    pub async fn get_sample(
        &self,
        p: &Principal,
        dataset_id: &str,
        sample_id: &str,
        urls: &dyn SourceUrls,
    ) -> Result<Sample> {
        policy::authorize(p, Op::GetSample, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        if !is_hex32(sample_id) {
            return Err(Error::sample_not_found(sample_id));
        }
        let mut s = self.store.get_sample(dataset_id, sample_id).await?;
        self.read_texts_from_blobs(vec![&mut s]).await;
        Ok(sample_to_api(&s, urls))
    }

    pub async fn get_sample_file(&self, p: &Principal, dataset_id: &str, sample_id: &str) -> Result<SampleFile> {
        policy::authorize(p, Op::GetSampleFile, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        if !is_hex32(sample_id) {
            return Err(Error::sample_not_found(sample_id));
        }
        self.sample_file(dataset_id, sample_id).await
    }

    /// The stored bytes of a sample of a dataset the caller may read.
    pub(crate) async fn sample_file(&self, dataset_id: &str, sample_id: &str) -> Result<SampleFile> {
        let s = self.store.get_sample(dataset_id, sample_id).await?;
        let (bytes, content_type) = match (s.blob_sha256.as_deref(), s.source.as_deref()) {
            (Some(sha), _) => {
                let bytes = self
                    .blobs
                    .get(sha)
                    .await?
                    .ok_or_else(|| Error::internal(format!("blob {sha} of sample {sample_id} is missing")))?;
                let content_type = s
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into());
                (bytes, content_type)
            }
            // A sample imported from the object store is read from there; a URL is never
            // fetched.
            (None, Some(source)) if ObjectPath::parse("source", source).is_ok() => {
                let path = ObjectPath::parse("source", source)?;
                let bytes = self.objects.get(&path, self.limits.max_sample_bytes as u64).await?;
                let content_type = content_type_of(&bytes, &s.name, s.sample_type).to_string();
                (bytes, content_type)
            }
            _ => {
                return Err(Error::not_found(
                    codes::SAMPLE_NOT_FOUND,
                    format!("Sample {sample_id} has no stored file; its source is a reference"),
                ))
            }
        };
        let inline = content_type.starts_with("image/") || content_type.starts_with("text/plain");
        Ok(SampleFile {
            bytes,
            content_type,
            file_name: s.name,
            inline,
        })
    }

    /// Deletes samples: ids that do not exist fail their item (`ModelArts.4420`), the rest are
    /// deleted together.
    pub async fn delete_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        req: &DeleteSamplesRequest,
    ) -> Result<BatchResponse> {
        policy::authorize(p, Op::DeleteSamples, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        let ids = req.samples.as_deref().unwrap_or(&[]);
        if ids.len() > self.limits.max_batch {
            return Err(Error::invalid(format!(
                "samples: at most {} ids per request, got {}",
                self.limits.max_batch,
                ids.len()
            )));
        }
        let wanted: Vec<String> = ids.iter().filter(|id| is_hex32(id)).cloned().collect();
        let deleted = self.store.delete_samples(dataset_id, &wanted).await?;
        let gone: HashSet<&str> = deleted.iter().map(|d| d.id.as_str()).collect();
        let mut answered = HashSet::new();
        let results = ids
            .iter()
            .map(|id| {
                if gone.contains(id.as_str()) && answered.insert(id.as_str()) {
                    ItemResult {
                        sample_id: Some(id.clone()),
                        ..ItemResult::ok()
                    }
                } else {
                    ItemResult {
                        sample_id: Some(id.clone()),
                        ..batch::failed(&Error::sample_not_found(id))
                    }
                }
            })
            .collect();
        if req.delete_source == Some(true) {
            self.remove_unused_blobs(&deleted).await;
        }
        Ok(BatchResponse::from_results(results))
    }
}

pub fn parse_delete_source(value: Option<&str>) -> Result<bool> {
    parse_bool("delete_source", value, false)
}
