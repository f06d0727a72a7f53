//! Samples of a dataset (spec/samples.md): adding them in batches (bytes into the blob store, or
//! references that are stored and never fetched), listing with filters, reading one, reading
//! its bytes, and deleting in batches.

use std::collections::HashSet;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::batch::{BatchResponse, ItemResult};
use crate::clock::now_ms;
use crate::datasets::dataset::DataSource;
use crate::datasets::label_changes::version_not_found;
use crate::datasets::labels::LabelDef;
use crate::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::{is_hex32, new_hex32};
use crate::query::{parse_bool, parse_i64, parse_order, parse_page};
use crate::rules::sample_labels::{
    check_metadata, check_sample_labels, check_triplet_types, meta, SampleFacts, SampleLabel,
};
use crate::store::{DatasetRecord, SampleQuery, SampleRecord};
use crate::text::check_text;

/// One sample to add (objects.md §3, "Sample (request object)"). Exactly one of `data`,
/// `data_source` and `source` gives the content.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSample {
    /// File name, up to 1024 characters, none of ``!<>=&"'``; unique in the dataset.
    #[serde(default)]
    pub name: Option<String>,
    /// Sample type (objects.md §1.3); defaults from the dataset type.
    #[serde(default)]
    pub sample_type: Option<i64>,
    /// File bytes, base64.
    #[serde(default)]
    pub data: Option<String>,
    /// A reference to a stored file (`data_path` is a URL); kept, never fetched.
    #[serde(default)]
    pub data_source: Option<DataSource>,
    /// A URL of the content, or `content://<text>` for a text sample; kept, never fetched.
    #[serde(default)]
    pub source: Option<String>,
    /// Text encoding of `data`: `UTF-8` (default; the only one supported).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Initial labels, checked against the dataset's labels.
    #[serde(default)]
    pub labels: Option<Vec<SampleLabel>>,
    /// Initial metadata; `@modelarts:size` is read from image bytes when left out.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

/// Body of `POST .../data-annotations/samples`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSamplesRequest {
    #[serde(default)]
    pub samples: Option<Vec<NewSample>>,
    /// Default true; false files labeled samples as auto-labeled, to be confirmed (image
    /// classification and object detection only).
    #[serde(default)]
    pub final_annotation: Option<bool>,
    /// Not supported: send labels in `samples[].labels`.
    #[serde(default)]
    pub label_format: Option<crate::datasets::dataset::LabelFormat>,
}

/// Body of `POST .../data-annotations/samples/delete`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteSamplesRequest {
    /// Sample ids.
    #[serde(default)]
    pub samples: Option<Vec<String>>,
    /// Also delete stored bytes no other sample uses.
    #[serde(default)]
    pub delete_source: Option<bool>,
}

/// A sample as answered (`DescribeSampleResp`, objects.md §3).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Sample {
    pub sample_id: String,
    pub sample_name: String,
    pub sample_type: SampleType,
    pub sample_status: SampleStatus,
    pub sample_time: i64,
    pub sample_size: i64,
    /// Where the content is: this server's URL for stored bytes, or the reference given.
    pub source: String,
    pub labels: Vec<SampleLabel>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListSamplesResponse {
    /// Number of samples matching the filters (all pages).
    pub sample_count: u64,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListSamplesQuery {
    /// Page number (0-based).
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// Page size, 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// `asc` or `desc` (default) by time added.
    pub order: Option<String>,
    /// `__ALL__` (labeled), `__NONE__` (unlabeled) or `__AUTO_ANNOTATION__`.
    pub sample_state: Option<String>,
    /// Only samples carrying this label.
    pub label_name: Option<String>,
    /// Type of `label_name`.
    #[param(value_type = Option<i32>)]
    pub label_type: Option<String>,
    /// Only samples of this type.
    #[param(value_type = Option<i32>)]
    pub sample_type: Option<String>,
    /// URL-encoded JSON list of conditions (AND-ed); each may give `label_list` and `sample_name`.
    pub search_conditions: Option<String>,
    /// Samples of a version (no versions exist yet: any id is not found).
    pub version_id: Option<String>,
    /// Team filter: not supported on the dataset list.
    pub email: Option<String>,
}

/// One condition of `search_conditions` (objects.md §5).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchCondition {
    #[serde(default)]
    label_list: Option<SearchLabels>,
    #[serde(default)]
    sample_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchLabels {
    #[serde(default)]
    labels: Vec<SearchLabel>,
    #[serde(default)]
    op: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct SearchLabel {
    name: Option<String>,
    #[serde(rename = "type", default)]
    label_type: Option<i64>,
}

/// Turns a stored sample into its answer; `base_url` is this server's address for file URLs.
pub fn sample_to_api(s: &SampleRecord, project_id: &str, base_url: &str) -> Sample {
    let source = match (&s.source, &s.blob_sha256) {
        (Some(src), _) => src.clone(),
        (None, _) => format!(
            "{base_url}/v2/{project_id}/datasets/{}/data-annotations/samples/{}/file",
            s.dataset_id, s.id
        ),
    };
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

fn content_type_of(bytes: &[u8], name: &str, sample_type: SampleType) -> &'static str {
    if let Ok(t) = imagesize::image_type(bytes) {
        use imagesize::ImageType as I;
        return match t {
            I::Jpeg => "image/jpeg",
            I::Png => "image/png",
            I::Gif => "image/gif",
            I::Bmp => "image/bmp",
            I::Webp => "image/webp",
            I::Tiff => "image/tiff",
            _ => "application/octet-stream",
        };
    }
    let lower = name.to_ascii_lowercase();
    if (sample_type == SampleType::Text || lower.ends_with(".txt")) && std::str::from_utf8(bytes).is_ok() {
        return "text/plain; charset=utf-8";
    }
    if lower.ends_with(".wav") {
        "audio/wav"
    } else if lower.ends_with(".mp3") {
        "audio/mpeg"
    } else if lower.ends_with(".mp4") {
        "video/mp4"
    } else {
        "application/octet-stream"
    }
}

fn check_reference(field: &str, url: &str, dataset_type: DatasetType) -> Result<Option<i64>> {
    if let Some(text) = url.strip_prefix("content://") {
        if !matches!(
            dataset_type,
            DatasetType::TextClassification | DatasetType::NamedEntity | DatasetType::TextTriplet | DatasetType::Custom
        ) {
            return Err(Error::bad_request(
                codes::UPLOAD_FAILED,
                format!("{field}: content:// text is only for text datasets"),
            ));
        }
        return Ok(Some(text.chars().count() as i64));
    }
    let scheme_ok = ["http://", "https://", "obs://", "s3://", "file://"]
        .iter()
        .any(|p| url.starts_with(p))
        || (url.starts_with('/') && !url.starts_with("//"));
    if !scheme_ok || url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::bad_request(
            codes::UPLOAD_FAILED,
            format!("{field} must be an http(s)://, obs://, s3:// or file:// URL, an absolute path, or content://<text>, of at most 2048 characters"),
        ));
    }
    Ok(None)
}

fn last_segment(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
}

/// A sample item that passed its checks, with the bytes still to be stored.
struct Prepared {
    record: SampleRecord,
    bytes: Option<Vec<u8>>,
}

impl App {
    fn prepare_sample(
        &self,
        dataset: &DatasetRecord,
        labels: &[LabelDef],
        final_annotation: bool,
        item: &NewSample,
        now: i64,
    ) -> Result<Prepared> {
        let sample_type = match item.sample_type {
            Some(code) => SampleType::parse("sample_type", code).map_err(Error::invalid)?,
            None => dataset.dataset_type.default_sample_type(),
        };
        if !dataset.dataset_type.accepts_sample_type(sample_type) {
            return Err(Error::invalid(format!(
                "sample_type {} does not fit a dataset of type {}; use {}",
                sample_type.code(),
                dataset.dataset_type.code(),
                dataset.dataset_type.default_sample_type().code()
            )));
        }
        if let Some(name) = &item.name {
            if name.is_empty() {
                return Err(Error::invalid("name must not be empty"));
            }
            check_text("name", name, 1024, "!<>=&\"'")?;
        }
        if !matches!(
            item.encoding.as_deref(),
            None | Some("UTF-8") | Some("utf-8") | Some("UTF8") | Some("utf8")
        ) {
            return Err(Error::bad_request(
                codes::UPLOAD_FAILED,
                format!(
                    "encoding {:?} is not supported; send UTF-8",
                    item.encoding.as_deref().unwrap_or("")
                ),
            ));
        }
        let id = new_hex32();
        let given = [item.data.is_some(), item.data_source.is_some(), item.source.is_some()]
            .iter()
            .filter(|x| **x)
            .count();
        if given != 1 {
            return Err(Error::bad_request(
                codes::UPLOAD_FAILED,
                "give exactly one of data (base64 bytes), data_source or source",
            ));
        }
        let mut metadata = item.metadata.clone().unwrap_or_default();
        let (bytes, source, size, text_len, content_type, default_name);
        if let Some(data) = &item.data {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| Error::bad_request(codes::UPLOAD_FAILED, format!("data is not valid base64: {e}")))?;
            if decoded.len() > self.limits.max_sample_bytes {
                return Err(Error::bad_request(
                    codes::SAMPLE_TOO_LARGE,
                    format!(
                        "Sample oversized: {} bytes, at most {}",
                        decoded.len(),
                        self.limits.max_sample_bytes
                    ),
                ));
            }
            let ct = content_type_of(&decoded, item.name.as_deref().unwrap_or(""), sample_type);
            text_len = if sample_type == SampleType::Text {
                let text = std::str::from_utf8(&decoded).map_err(|_| {
                    Error::bad_request(codes::UPLOAD_FAILED, "data of a text sample must be UTF-8 text")
                })?;
                Some(text.chars().count() as i64)
            } else {
                None
            };
            if !metadata.contains_key(meta::SIZE) && ct.starts_with("image/") {
                if let Ok(dim) = imagesize::blob_size(&decoded) {
                    metadata.insert(meta::SIZE.to_string(), serde_json::json!([dim.width, dim.height, 3]));
                }
            }
            default_name = format!(
                "{id}{}",
                match ct {
                    "image/jpeg" => ".jpg",
                    "image/png" => ".png",
                    "image/gif" => ".gif",
                    "image/bmp" => ".bmp",
                    "image/webp" => ".webp",
                    "image/tiff" => ".tiff",
                    t if t.starts_with("text/") => ".txt",
                    _ => "",
                }
            );
            size = decoded.len() as i64;
            content_type = Some(ct.to_string());
            source = None;
            bytes = Some(decoded);
        } else {
            let (field, url) = match (&item.source, &item.data_source) {
                (Some(s), _) => ("source", s.clone()),
                (None, Some(ds)) => {
                    if let Some(field) = ds.table_fields().first() {
                        return Err(Error::bad_request(
                            codes::UPLOAD_FAILED,
                            format!("data_source.{field}: table and database sources are not supported"),
                        ));
                    }
                    if ds.data_type.unwrap_or(0) != 0 {
                        return Err(Error::bad_request(
                            codes::UPLOAD_FAILED,
                            "data_source.data_type: only 0 is supported",
                        ));
                    }
                    (
                        "data_source.data_path",
                        ds.data_path.clone().ok_or_else(|| {
                            Error::bad_request(codes::UPLOAD_FAILED, "data_source.data_path is required")
                        })?,
                    )
                }
                (None, None) => unreachable!("exactly one content field was checked above"),
            };
            text_len = check_reference(field, &url, dataset.dataset_type)?;
            size = text_len.unwrap_or(0);
            default_name = if url.starts_with("content://") {
                format!("{id}.txt")
            } else {
                last_segment(&url).to_string()
            };
            content_type = None;
            bytes = None;
            source = Some(url);
        }
        let name = item.name.clone().unwrap_or(default_name);
        if name.is_empty() {
            return Err(Error::invalid("name is required when the source has no file name"));
        }
        let size_meta = check_metadata(&metadata)?;
        let facts = SampleFacts {
            dataset_type: dataset.dataset_type,
            labels,
            text_len: text_len.map(|n| n as usize),
            size: size_meta,
        };
        let placed = check_sample_labels(&facts, item.labels.as_deref().unwrap_or(&[]))?;
        check_triplet_types(&placed, labels)?;
        let status = match (placed.is_empty(), final_annotation) {
            (true, _) => SampleStatus::UnAnnotation,
            (false, true) => SampleStatus::ManualAnnotation,
            (false, false) => SampleStatus::AutoAnnotation,
        };
        Ok(Prepared {
            record: SampleRecord {
                id,
                dataset_id: dataset.id.clone(),
                name,
                sample_type,
                source,
                blob_sha256: None,
                content_type,
                size,
                text_len,
                metadata,
                sample_usage: None,
                status,
                sample_time: now,
                update_time: now,
                version: 0,
                labels: placed,
            },
            bytes,
        })
    }

    /// Adds samples: each item is checked on its own; the items that pass are stored in one
    /// transaction, and each gets its result (`info` is the new sample id).
    pub async fn add_samples(&self, p: &Principal, dataset_id: &str, req: &AddSamplesRequest) -> Result<BatchResponse> {
        policy::authorize(p, Op::AddSamples, &Standing::project(p))?;
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let items = req.samples.as_deref().unwrap_or(&[]);
        if items.len() > self.limits.max_batch {
            return Err(Error::invalid(format!(
                "samples: at most {} samples per request, got {}",
                self.limits.max_batch,
                items.len()
            )));
        }
        if req.label_format.is_some() {
            return Err(Error::invalid(
                "label_format is not supported when adding samples; send labels in samples[].labels",
            ));
        }
        let final_annotation = req.final_annotation.unwrap_or(true);
        if !final_annotation
            && !matches!(
                dataset.dataset_type,
                DatasetType::ImageClassification | DatasetType::ObjectDetection
            )
        {
            return Err(Error::invalid(
                "final_annotation=false is only allowed for image classification and object detection datasets",
            ));
        }
        let labels = self.store.list_labels(dataset_id).await?;
        let now = now_ms();
        let mut outcomes: Vec<Result<Prepared>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                self.prepare_sample(&dataset, &labels, final_annotation, item, now)
                    .map_err(|e| Error {
                        message: format!("samples[{i}]: {}", e.message),
                        ..e
                    })
            })
            .collect();
        // Names must be unique in the dataset: against stored samples and within the batch.
        let names: Vec<String> = outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok().map(|p| p.record.name.clone()))
            .collect();
        let taken = self.store.find_sample_names(dataset_id, &names).await?;
        let mut seen = HashSet::new();
        for (i, o) in outcomes.iter_mut().enumerate() {
            if let Ok(prepared) = o {
                let name = prepared.record.name.clone();
                if taken.contains(&name) || !seen.insert(name.clone()) {
                    *o = Err(Error::bad_request(
                        codes::SAMPLE_EXISTS,
                        format!("samples[{i}]: Sample already exists: {name:?}"),
                    ));
                }
            }
        }
        let mut records = Vec::new();
        for o in outcomes.iter_mut() {
            if let Ok(prepared) = o {
                if let Some(bytes) = prepared.bytes.take() {
                    match self.blobs.put(&bytes) {
                        Ok(sha) => prepared.record.blob_sha256 = Some(sha),
                        Err(e) => {
                            tracing::error!(error = %e, "storing sample bytes failed");
                            *o = Err(Error::bad_request(
                                codes::UPLOAD_FAILED,
                                "Upload sample failed: the bytes could not be stored",
                            ));
                            continue;
                        }
                    }
                }
                records.push(prepared.record.clone());
            }
        }
        if !records.is_empty() {
            self.store.insert_samples(&records).await?;
        }
        let results = outcomes
            .iter()
            .map(|o| match o {
                Ok(p) => ItemResult {
                    success: true,
                    sample_id: Some(p.record.id.clone()),
                    name: Some(p.record.name.clone()),
                    info: Some(p.record.id.clone()),
                    ..ItemResult::default()
                },
                Err(e) => ItemResult::failed(e),
            })
            .collect();
        Ok(BatchResponse::from_results(results))
    }

    pub async fn list_samples(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &ListSamplesQuery,
        base_url: &str,
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
        let (count, rows) = self.store.list_samples(dataset_id, &query).await?;
        Ok(ListSamplesResponse {
            sample_count: count,
            samples: rows.iter().map(|s| sample_to_api(s, &p.project_id, base_url)).collect(),
        })
    }

    pub async fn get_sample(&self, p: &Principal, dataset_id: &str, sample_id: &str, base_url: &str) -> Result<Sample> {
        policy::authorize(p, Op::GetSample, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        if !is_hex32(sample_id) {
            return Err(Error::sample_not_found(sample_id));
        }
        let s = self.store.get_sample(dataset_id, sample_id).await?;
        Ok(sample_to_api(&s, &p.project_id, base_url))
    }

    pub async fn get_sample_file(&self, p: &Principal, dataset_id: &str, sample_id: &str) -> Result<SampleFile> {
        policy::authorize(p, Op::GetSampleFile, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        if !is_hex32(sample_id) {
            return Err(Error::sample_not_found(sample_id));
        }
        let s = self.store.get_sample(dataset_id, sample_id).await?;
        let sha = s.blob_sha256.as_deref().ok_or_else(|| {
            Error::not_found(
                codes::SAMPLE_NOT_FOUND,
                format!("Sample {sample_id} has no stored file; its source is a reference"),
            )
        })?;
        let bytes = self
            .blobs
            .get(sha)?
            .ok_or_else(|| Error::internal(format!("blob {sha} of sample {sample_id} is missing")))?;
        let content_type = s
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
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
                        ..ItemResult::failed(&Error::sample_not_found(id))
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

/// The label group of a `label_name` (+ `label_type`) filter, `None` without a name. The type
/// is checked against the dataset type list, which the filter takes (it also allows 400 and 900).
pub fn label_name_filter(
    labels: &[LabelDef],
    name: Option<&str>,
    label_type: Option<&str>,
) -> Result<Option<Vec<i64>>> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let label_type = match label_type {
        None | Some("") => None,
        Some(s) => {
            let code = parse_i64("label_type", s)?;
            DatasetType::parse("label_type", code).map_err(Error::invalid)?;
            LabelType::from_code(code)
        }
    };
    Ok(Some(label_ids(labels, name, label_type)))
}

/// What `search_conditions` (a JSON list of conditions, AND-ed) asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    pub name: Option<String>,
    /// Two conditions naming different samples add an empty group: nothing can match.
    pub label_groups: Vec<crate::store::LabelGroup>,
}

impl SearchFilter {
    /// Adds the conditions to a sample query.
    pub fn apply_to(self, query: &mut SampleQuery) {
        query.label_groups.extend(self.label_groups);
        if self.name.is_some() {
            query.name = self.name;
        }
    }
}

/// Parses `search_conditions` against the dataset's labels. Supported condition keys:
/// `label_list` (`op` AND/OR over `labels` of `name` + optional `type`) and `sample_name`; any
/// other key is refused rather than silently ignored.
pub fn parse_search_conditions(raw: &str, labels: &[LabelDef]) -> Result<SearchFilter> {
    let conditions: Vec<SearchCondition> = serde_json::from_str(raw).map_err(|e| {
        Error::invalid(format!(
            "search_conditions must be a JSON list of conditions with label_list and sample_name: {e}"
        ))
    })?;
    let mut out = SearchFilter::default();
    for (i, c) in conditions.iter().enumerate() {
        if let Some(name) = &c.sample_name {
            if out.name.as_ref().is_some_and(|n| n != name) {
                out.label_groups.push(Vec::new());
            }
            out.name = Some(name.clone());
        }
        if let Some(list) = &c.label_list {
            let or = match list.op.as_deref() {
                None if list.labels.len() <= 1 => true,
                Some("OR") => true,
                Some("AND") => false,
                _ => {
                    return Err(Error::invalid(format!(
                        "search_conditions[{i}].label_list.op must be AND or OR (required with several labels)"
                    )))
                }
            };
            let mut groups: Vec<Vec<i64>> = Vec::new();
            for (j, l) in list.labels.iter().enumerate() {
                let name = l.name.as_deref().ok_or_else(|| {
                    Error::invalid(format!(
                        "search_conditions[{i}].label_list.labels[{j}].name is required"
                    ))
                })?;
                let t = match l.label_type {
                    Some(code) => Some(LabelType::parse("type", code).map_err(Error::invalid)?),
                    None => None,
                };
                groups.push(label_ids(labels, name, t));
            }
            if or {
                out.label_groups.push(groups.concat());
            } else {
                out.label_groups.extend(groups);
            }
        }
    }
    Ok(out)
}

/// Ids of the labels named `name` (of `label_type` when given); empty when none matches, which
/// makes the filter match no sample.
pub fn label_ids(labels: &[LabelDef], name: &str, label_type: Option<LabelType>) -> Vec<i64> {
    labels
        .iter()
        .filter(|l| l.name == name && label_type.is_none_or(|t| t == l.label_type))
        .map(|l| l.id)
        .collect()
}

pub fn parse_delete_source(value: Option<&str>) -> Result<bool> {
    parse_bool("delete_source", value, false)
}
