//! Adding samples to a dataset in batches: bytes go into the blob store, references (URLs or
//! `content://` text) are stored and never fetched; a short uploaded text is also kept in its
//! row (see `samples::texts`). Each item is checked on its own; initial labels follow the same
//! rules as a label update. It must not fetch a reference.

use std::collections::HashSet;

use base64::Engine;
use teamlabel_api::batch::{BatchResponse, ItemResult};
use teamlabel_api::enums::{DatasetType, SampleStatus, SampleType};
use teamlabel_api::samples::{AddSamplesRequest, NewSample};

use crate::app::App;
use crate::batch;
use crate::clock::now_ms;
use crate::datasets::labels::LabelDef;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::new_sample_id;
use crate::rules::metadata::check_metadata;
use crate::rules::sample_labels::check_sample_labels;
use crate::rules::triplets::check_triplet_types;
use crate::rules::values::{meta, SampleFacts};
use crate::samples::texts::kept_copy;
use crate::store::{DatasetRecord, SampleRecord};
use crate::text::check_text;

pub(crate) fn content_type_of(bytes: &[u8], name: &str, sample_type: SampleType) -> &'static str {
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
        let id = new_sample_id();
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
        let (bytes, source, size, text_len, inline_text, content_type, default_name);
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
            (text_len, inline_text) = if sample_type == SampleType::Text {
                let text = std::str::from_utf8(&decoded).map_err(|_| {
                    Error::bad_request(codes::UPLOAD_FAILED, "data of a text sample must be UTF-8 text")
                })?;
                (Some(text.chars().count() as i64), kept_copy(text))
            } else {
                (None, None)
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
            // A `content://` text is its source: the row holds it already.
            inline_text = None;
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
                inline_text,
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
                    match self.blobs.put(&bytes).await {
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
                Err(e) => batch::failed(e),
            })
            .collect();
        Ok(BatchResponse::from_results(results))
    }
}
