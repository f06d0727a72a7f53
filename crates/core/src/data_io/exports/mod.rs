//! Export tasks (`.../export-tasks`): the request's checks into an [`ExportPlan`], the task as
//! answered, the start of the background run (`run.rs`: the samples chosen by `select.rs`,
//! written by the layouts of `layouts.rs`, with every loss in the report) and the download of
//! a finished export as a zip (`download.rs`).
//!
//! An export writes into a directory of the object store that must be empty or missing: the
//! files there are then exactly the export's, which is what the download zips, and nothing a
//! user put there is overwritten.

mod download;
mod layouts;
mod run;
mod select;

use serde::{Deserialize, Serialize};
use teamlabel_api::data_io::{
    CreateExportTaskRequest, CreateTaskResponse, ExportParams, ExportTask, ListExportTasksResponse, ListTasksQuery,
};
use teamlabel_api::enums::DatasetType;

pub use download::ExportDownload;

use crate::app::App;
use crate::data_io::tasks::{new_task, task_page, Progress};
use crate::data_io::versions::parse_ratio;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::{is_hex32, is_plausible_id};
use crate::objects::ObjectPath;
use crate::query::parse_i64;
use crate::store::{DataTaskRecord, DatasetRecord, TaskKind};
use crate::text::check_name;

/// Most samples an export may name in `export_params.samples`.
pub const MAX_LISTED_SAMPLES: usize = 100_000;

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Format {
    /// `{dataset}.manifest`, blobs copied to `data/`.
    Manifest,
    /// Each image with `x.xml` beside it.
    Voc,
    /// `annotations.json` with the images under `images/`.
    Coco,
    /// `obj.names`, `obj.data`, `train.txt` and `obj_train_data/` with a `x.txt` per image.
    Yolo,
    /// A folder per label (`export_format` 1) or `x.txt` beside each file (2).
    Classification,
    /// `{dataset}.txt`: `text<TAB>label,label` lines.
    Tsv,
    /// `{dataset}.conll`: a token and its BIO tag per line, a blank line between samples.
    Conll,
    /// `{dataset}.jsonl`: the text with its entity spans and relations per line.
    Jsonl,
}

impl Format {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "MANIFEST" => Format::Manifest,
            "VOC" => Format::Voc,
            "COCO" => Format::Coco,
            "YOLO" => Format::Yolo,
            "CLASSIFICATION" => Format::Classification,
            "TSV" => Format::Tsv,
            "CONLL" => Format::Conll,
            "JSONL" => Format::Jsonl,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Manifest => "MANIFEST",
            Format::Voc => "VOC",
            Format::Coco => "COCO",
            Format::Yolo => "YOLO",
            Format::Classification => "CLASSIFICATION",
            Format::Tsv => "TSV",
            Format::Conll => "CONLL",
            Format::Jsonl => "JSONL",
        }
    }

    /// The format written when the request names none.
    fn default_for(t: DatasetType) -> Self {
        match t {
            DatasetType::ImageClassification | DatasetType::SoundClassification => Format::Classification,
            DatasetType::ObjectDetection | DatasetType::ImageSegmentation => Format::Voc,
            DatasetType::TextClassification => Format::Tsv,
            DatasetType::NamedEntity => Format::Conll,
            DatasetType::TextTriplet => Format::Jsonl,
            _ => Format::Manifest,
        }
    }

    /// Whether the format can hold the labels of a dataset of this type.
    fn fits(self, t: DatasetType) -> bool {
        match self {
            Format::Manifest => true,
            Format::Voc | Format::Coco | Format::Yolo => {
                matches!(t, DatasetType::ObjectDetection | DatasetType::ImageSegmentation)
            }
            Format::Classification => {
                matches!(t, DatasetType::ImageClassification | DatasetType::SoundClassification)
            }
            Format::Tsv => t == DatasetType::TextClassification,
            Format::Conll | Format::Jsonl => matches!(t, DatasetType::NamedEntity | DatasetType::TextTriplet),
        }
    }
}

/// `NEW_DATASET`: the dataset made from the export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDataset {
    pub name: String,
    pub work_path: Option<String>,
}

/// An export request as accepted: what the run needs, kept as the task's `request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportPlan {
    /// The output directory, `/bucket/dir/`.
    pub path: String,
    pub export_type: i32,
    pub export_format: Option<i32>,
    pub format: Format,
    pub version_id: Option<String>,
    /// Written before storage paths in a manifest: `obs://` or `s3://`.
    pub header: String,
    /// `__ALL__`, `__NONE__` or `__AUTO_ANNOTATION__` (export type 3).
    pub sample_state: Option<String>,
    /// Export type 3: these samples only.
    pub samples: Vec<String>,
    /// Export type 3: samples matching any of these.
    pub search_conditions: Vec<serde_json::Value>,
    /// The train share when the split is drawn anew.
    pub ratio: Option<f64>,
    pub clear_hard: bool,
    pub clear_difficult: bool,
    pub new_dataset: Option<NewDataset>,
    /// The parameters as given, echoed on the task.
    pub params: ExportParams,
}

impl App {
    pub async fn create_export_task(
        &self,
        p: &Principal,
        dataset_id: &str,
        req: &CreateExportTaskRequest,
    ) -> Result<CreateTaskResponse> {
        policy::authorize(p, Op::CreateExportTask, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let plan = check_request(&d, req)?;
        if let Some(v) = &plan.version_id {
            let v = self.live_version(dataset_id, v).await?;
            if v.status != crate::store::version_status::NORMAL {
                return Err(Error::bad_request(
                    codes::EXPORT_BAD_PARAMETER,
                    format!(
                        "version {} is not published (status {}); export a published version",
                        v.id, v.status
                    ),
                ));
            }
        }
        let out = ObjectPath::parse("path", &plan.path)?;
        if !self.objects.list(&out, None, 1).await?.is_empty() {
            return Err(Error::bad_request(
                codes::EXPORT_BAD_PATH,
                format!(
                    "the export path {} is not empty; export into an empty or new directory so nothing there is overwritten",
                    out.with_header("obs://")
                ),
            ));
        }
        let task = new_task(&d.id, TaskKind::Export, plan.export_type, "INIT", &plan)?;
        self.store.insert_data_task(&task).await?;
        let app = self.clone();
        let task_id = task.id.clone();
        let owner = p.clone();
        tokio::spawn(async move { app.run_export(owner, d, task, plan).await });
        Ok(CreateTaskResponse { task_id })
    }

    pub async fn list_export_tasks(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &ListTasksQuery,
    ) -> Result<ListExportTasksResponse> {
        policy::authorize(p, Op::ListExportTasks, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        let (offset, limit) = task_page(q)?;
        let export_type = match q.export_type.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(export_type_of(parse_i64("export_type", s)?)?),
            None => None,
        };
        let (total, rows) = self
            .store
            .list_data_tasks(dataset_id, TaskKind::Export, export_type, offset, limit)
            .await?;
        Ok(ListExportTasksResponse {
            total_count: total,
            export_tasks: rows.iter().map(export_to_api).collect(),
        })
    }

    pub async fn get_export_task(&self, p: &Principal, dataset_id: &str, task_id: &str) -> Result<ExportTask> {
        policy::authorize(p, Op::GetExportTask, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        Ok(export_to_api(&self.export_task(dataset_id, task_id).await?))
    }

    /// An export task of the dataset, else `4359`.
    async fn export_task(&self, dataset_id: &str, task_id: &str) -> Result<DataTaskRecord> {
        let found = if is_plausible_id(task_id) {
            self.store.get_data_task(dataset_id, TaskKind::Export, task_id).await?
        } else {
            None
        };
        found.ok_or_else(|| {
            Error::not_found(
                codes::EXPORT_NOT_FOUND,
                format!("Export task does not exist: {task_id}"),
            )
        })
    }
}

fn export_type_of(n: i64) -> Result<i32> {
    if (0..=3).contains(&n) {
        Ok(n as i32)
    } else {
        Err(Error::bad_request(
            codes::EXPORT_BAD_PARAMETER,
            format!("export_type must be 0 (labeled), 1 (unlabeled), 2 (all) or 3 (by export_params), got {n}"),
        ))
    }
}

fn check_request(d: &DatasetRecord, req: &CreateExportTaskRequest) -> Result<ExportPlan> {
    let bad = |m: String| Error::bad_request(codes::EXPORT_BAD_PARAMETER, m);
    let t = d.dataset_type;
    let path = ObjectPath::parse("path", &req.path)
        .map_err(|e| Error::bad_request(codes::EXPORT_BAD_PATH, e.message))?
        .as_dir();
    let export_type = export_type_of(i64::from(req.export_type.unwrap_or(2)))?;
    let params = req.export_params.clone().unwrap_or_default();
    if matches!(t, DatasetType::Table) {
        return Err(Error::bad_request(
            codes::UNSUPPORTED_OPERATION,
            "table datasets cannot be exported as files",
        ));
    }
    if !matches!(req.version_format.as_deref(), None | Some("Default")) {
        return Err(bad(
            "version_format must be Default: table formats are not supported".into()
        ));
    }
    if req.with_column_header == Some(false) {
        return Err(bad("with_column_header applies to table exports only".into()));
    }
    if params.export_dataset_version_name.is_some() || params.export_dataset_version_format.is_some() {
        return Err(bad(
            "export_params.export_dataset_version_name/format are not supported: publish a version of the new dataset once it is made"
                .into(),
        ));
    }
    let header = req.source_type_header.clone().unwrap_or_else(|| "obs://".into());
    if header != "obs://" && header != "s3://" {
        return Err(bad(format!(
            "source_type_header must be obs:// or s3://, got {header:?}"
        )));
    }
    let format = match req.annotation_format.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Format::parse(s).ok_or_else(|| {
            bad(format!(
                "annotation_format must be MANIFEST, VOC, COCO, YOLO, CLASSIFICATION, TSV, CONLL or JSONL, got {s:?}"
            ))
        })?,
        None => Format::default_for(t),
    };
    if !format.fits(t) {
        return Err(bad(format!(
            "annotation_format {} cannot hold the labels of a dataset of type {}",
            format.as_str(),
            t.code()
        )));
    }
    let export_format = match (req.export_format, format) {
        (None, Format::Classification) => Some(2),
        (Some(f @ (1 | 2)), Format::Classification) => Some(f),
        (None, _) => None,
        (Some(f), Format::Classification) => {
            return Err(bad(format!(
                "export_format must be 1 (a folder per label) or 2 (x.txt beside each file), got {f}"
            )))
        }
        (Some(_), other) => {
            return Err(bad(format!(
                "export_format chooses a classification layout; it does not apply to {}",
                other.as_str()
            )))
        }
    };
    let sample_state = match (req.sample_state.as_deref(), params.sample_state.as_deref()) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() && a != b => {
            return Err(bad(format!(
                "sample_state {a:?} and export_params.sample_state {b:?} differ; give one"
            )))
        }
        (Some(a), _) if !a.is_empty() => Some(a.to_string()),
        (_, Some(b)) if !b.is_empty() => Some(b.to_string()),
        _ => None,
    };
    if let Some(s) = &sample_state {
        if !matches!(s.as_str(), "__ALL__" | "__NONE__" | "__AUTO_ANNOTATION__") {
            return Err(bad(format!(
                "sample_state must be __ALL__, __NONE__ or __AUTO_ANNOTATION__, got {s:?}"
            )));
        }
    }
    let samples = params.samples.clone().unwrap_or_default();
    let search_conditions = params.search_conditions.clone().unwrap_or_default();
    let by_params = sample_state.is_some() || !samples.is_empty() || !search_conditions.is_empty();
    if by_params && export_type != 3 {
        return Err(bad(
            "sample_state, samples and search_conditions choose the samples of export_type 3; set export_type to 3"
                .into(),
        ));
    }
    if samples.len() > MAX_LISTED_SAMPLES {
        return Err(bad(format!(
            "export_params.samples names {} samples; at most {MAX_LISTED_SAMPLES}",
            samples.len()
        )));
    }
    if let Some(id) = samples.iter().find(|s| !is_hex32(s)) {
        return Err(bad(format!("export_params.samples: {id:?} is not a sample id")));
    }
    if req.version_id.is_some() && export_type == 3 {
        return Err(bad(
            "a version is exported whole or by export_type 0–2; export_type 3 filters the working set".into(),
        ));
    }
    let ratio = if params.ratio_sample_usage == Some(true) {
        let text = match &params.train_sample_ratio {
            None => "1.00".to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(bad(format!(
                    "export_params.train_sample_ratio must be a number, got {other}"
                )))
            }
        };
        Some(parse_ratio("export_params.train_sample_ratio", &text).map_err(|e| bad(e.message))?)
    } else {
        None
    };
    let new_dataset = match params.export_dest.as_deref().unwrap_or("DIR") {
        "DIR" => None,
        "NEW_DATASET" => {
            let name = params
                .export_new_dataset_name
                .clone()
                .ok_or_else(|| bad("export_params.export_new_dataset_name is required with NEW_DATASET".into()))?;
            check_name("export_params.export_new_dataset_name", &name, 1, 100).map_err(|e| bad(e.message))?;
            if format != Format::Manifest && req.annotation_format.is_some() {
                return Err(bad(
                    "NEW_DATASET writes a manifest for the new dataset to import; leave annotation_format out or set MANIFEST"
                        .into(),
                ));
            }
            let work_path = match params.export_new_dataset_work_path.as_deref() {
                None => None,
                Some(w) => {
                    let wp = ObjectPath::parse("export_params.export_new_dataset_work_path", w)
                        .map_err(|e| Error::bad_request(codes::EXPORT_BAD_PATH, e.message))?
                        .as_dir();
                    let (a, b) = (wp.to_string(), path.to_string());
                    if a.starts_with(&b) || b.starts_with(&a) {
                        return Err(Error::bad_request(
                            codes::EXPORT_BAD_PATH,
                            format!("export_new_dataset_work_path {a} must not be the export path {b}, inside it, or above it"),
                        ));
                    }
                    Some(a)
                }
            };
            Some(NewDataset { name, work_path })
        }
        other => {
            return Err(bad(format!(
                "export_params.export_dest must be DIR or NEW_DATASET, got {other:?}"
            )))
        }
    };
    let format = if new_dataset.is_some() {
        Format::Manifest
    } else {
        format
    };
    Ok(ExportPlan {
        path: path.to_string(),
        export_type,
        export_format: if new_dataset.is_some() { None } else { export_format },
        format,
        version_id: req.version_id.clone().filter(|v| !v.is_empty()),
        header,
        sample_state,
        samples,
        search_conditions,
        ratio,
        clear_hard: params.clear_hard_property.unwrap_or(true),
        clear_difficult: params.clear_difficult.unwrap_or(false),
        new_dataset,
        params,
    })
}

fn export_to_api(t: &DataTaskRecord) -> ExportTask {
    let p = Progress::from_value(&t.progress);
    let plan: Option<ExportPlan> = serde_json::from_value(t.request.clone()).ok();
    let path = plan.as_ref().map(|p| p.path.clone()).unwrap_or_default();
    let shown = ObjectPath::parse("path", &path).map_or(path, |p| p.with_header("obs://"));
    let progress = match t.status.as_str() {
        "SUCCESSED" => 100.0,
        _ if p.total_sample_count == 0 => 0.0,
        _ => (p.finished_sample_count as f64 * 1000.0 / p.total_sample_count as f64).floor() / 10.0,
    };
    ExportTask {
        task_id: t.id.clone(),
        dataset_id: t.dataset_id.clone(),
        resource_id: t.dataset_id.clone(),
        status: t.status.clone(),
        progress: progress.min(100.0),
        path: shown,
        export_type: t.subtype,
        export_format: plan.as_ref().and_then(|p| p.export_format),
        annotation_format: plan.as_ref().map_or("MANIFEST", |p| p.format.as_str()).to_string(),
        export_params: plan.as_ref().map(|p| p.params.clone()).unwrap_or_default(),
        version_id: plan.as_ref().and_then(|p| p.version_id.clone()),
        version_format: "Default".into(),
        total_sample_count: p.total_sample_count,
        finished_sample_count: p.finished_sample_count,
        dropped_label_count: p.dropped_label_count,
        converted_label_count: p.converted_label_count,
        report_path: p.report_path,
        new_dataset_id: p.new_dataset_id,
        create_time: t.create_time,
        update_time: t.update_time,
        error_code: t.error_code.clone(),
        error_msg: t.error_msg.clone(),
        issues: p.issues,
        issue_count: p.issue_count,
    }
}

#[cfg(test)]
mod tests;
