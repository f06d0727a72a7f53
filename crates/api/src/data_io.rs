//! Data in and out on the wire: dataset versions, import tasks and export tasks (the
//! `versions`, `import-tasks` and `export-tasks` endpoints). Shapes only: paths, formats and
//! counts are checked and produced in `teamlabel-core`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::datasets::LabelStats;

/// Body of `POST .../versions`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVersionRequest {
    /// 1–32 of `[A-Za-z0-9_-]`; default `V` + the three-digit next version number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    /// `Default` (a manifest); `CarbonData` and `CSV` are table formats and refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_format: Option<String>,
    /// 0–256 characters without `!<>=&"'`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Share of labeled samples marked `TRAIN` (the rest `EVAL`), in [0, 1]; default `"1.00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_evaluate_sample_ratio: Option<String>,
    /// Leave hard-example values out of the manifest (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_hard_property: Option<bool>,
    /// Draw the split anew instead of keeping each sample's usage (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_sample_usage: Option<bool>,
    /// Copying images into the version is not supported: only `false` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_images: Option<bool>,
    /// Table versions only: not supported, only `true` (the default) is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_column_header: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct CreateVersionResponse {
    pub version_id: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListVersionsQuery {
    /// Version status 0–4.
    #[param(value_type = Option<i32>)]
    pub status: Option<String>,
    /// `"min,max"` of the train ratio, e.g. `0.0,1.0`.
    pub train_evaluate_ratio: Option<String>,
    /// 0 Default, 1 CarbonData, 2 CSV.
    #[param(value_type = Option<i32>)]
    pub version_format: Option<String>,
    /// Page number (0-based).
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// Page size, 1 to 1000 (default 1000).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}

/// A dataset version.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct DatasetVersion {
    pub version_id: String,
    pub version_name: String,
    pub version_format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version_id: Option<String>,
    /// 0 creating, 1 normal, 3 deleted, 4 error.
    pub status: i32,
    pub create_time: i64,
    pub update_time: i64,
    pub is_current: bool,
    pub description: String,
    pub total_sample_count: i64,
    pub annotated_sample_count: i64,
    /// `{work_path}{dataset}-{id}/annotation/{version}/{version}.manifest`.
    pub manifest_path: String,
    pub data_path: String,
    pub train_evaluate_sample_ratio: String,
    pub remove_sample_usage: bool,
    pub clear_hard_property: bool,
    pub export_images: bool,
    /// The dataset type.
    pub task_type: i32,
    /// `single` or `multi`: whether some sample carries more than one label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_type: Option<String>,
    /// Per-label counts (on the single-version read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_stats: Option<Vec<LabelStats>>,
    /// Why publishing failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ListVersionsResponse {
    pub total_number: u64,
    pub versions: Vec<DatasetVersion>,
}

/// A label named in an import filter: `{"name": ...}` or, as the provider's example sends it,
/// a plain string.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LabelRef {
    Name(String),
    Label {
        name: String,
        #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
        label_type: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<Object>)]
        property: Option<Value>,
    },
}

impl LabelRef {
    pub fn name(&self) -> &str {
        match self {
            LabelRef::Name(n) => n,
            LabelRef::Label { name, .. } => name,
        }
    }
}

/// How text-classification files separate text and labels.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportLabelFormat {
    /// `0` text and labels in one file (default), `1` `x.txt` with `x_result.txt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_type: Option<String>,
    /// Between text and labels (default a tab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_label_separator: Option<String>,
    /// Between labels (default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_separator: Option<String>,
    /// Not supported: refused when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_sample_separator: Option<String>,
}

/// Body of `POST .../import-tasks`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateImportTaskRequest {
    /// A directory (`dir`) or one manifest file (`manifest`) in the object store.
    pub import_path: String,
    /// `dir` (default), `manifest` or `coco` (a COCO JSON file; an addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_type: Option<String>,
    /// Import the labels (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_annotations: Option<bool>,
    /// Import the samples (default true); false only adds labels to samples already there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_samples: Option<bool>,
    /// Imported labels count as final (default true); false marks them auto-labeled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_annotation: Option<bool>,
    /// Only samples that carry one of these labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_labels: Option<Vec<LabelRef>>,
    /// Skip samples that carry any of these labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_labels: Option<Vec<LabelRef>>,
    /// Only hard examples (`hard` true in the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficult_only: Option<bool>,
    /// Not supported: refused when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_folder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_format: Option<ImportLabelFormat>,
    /// `obs` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_origin: Option<String>,
    /// Table sources: not supported, refused when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data_source: Option<Value>,
    /// Table sources: not supported, only `false` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_column_header: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct CreateTaskResponse {
    pub task_id: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTasksQuery {
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// Page size, 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// Export lists only: 0–3.
    #[param(value_type = Option<i32>)]
    pub export_type: Option<String>,
}

/// A problem met by an import or an export: the file, the line (1-based) when there is one,
/// the sample, and why.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct TaskIssue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `skipped` (a line or file not imported), `converted` or `dropped` (a label changed or
    /// left out to fit, e.g. a COCO mask read as its box).
    pub kind: String,
    pub reason: String,
}

/// An import task.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ImportTask {
    pub task_id: String,
    pub dataset_id: String,
    /// `QUEUING`, `RUNNING`, `COMPLETED` or `FAILED`.
    pub status: String,
    pub import_path: String,
    /// 0 directory, 1 manifest, 2 COCO JSON (an addition).
    pub import_type: i32,
    pub total_sample_count: u64,
    pub imported_sample_count: u64,
    pub annotated_sample_count: u64,
    /// Samples read but not imported (already there, filtered out, or refused: see `issues`).
    pub skipped_sample_count: u64,
    /// Labels placed on imported samples.
    pub imported_label_count: u64,
    /// Labels created in the dataset because the files named them.
    pub created_label_count: u64,
    pub processed_sample_count: u64,
    pub total_file_count: u64,
    pub finished_file_count: u64,
    pub total_file_size: u64,
    pub finished_file_size: u64,
    pub create_time: i64,
    pub update_ms: i64,
    /// Seconds.
    pub elapsed_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// What was skipped and why (the first 1,000; `issue_count` counts them all).
    pub issues: Vec<TaskIssue>,
    pub issue_count: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ListImportTasksResponse {
    pub total_count: u64,
    pub import_tasks: Vec<ImportTask>,
}

/// Where and how an export is written (`export_params`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `DIR` (files under `path`, the default) or `NEW_DATASET` (files under `path`, then a new
    /// dataset made from them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_dest: Option<String>,
    /// `NEW_DATASET`: the new dataset's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_new_dataset_name: Option<String>,
    /// `NEW_DATASET`: the new dataset's work path (not `path` and not inside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_new_dataset_work_path: Option<String>,
    /// Not supported: a new dataset starts without versions. Refused when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_dataset_version_name: Option<String>,
    /// Not supported: refused when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_dataset_version_format: Option<String>,
    /// The state filter of `export_type` 3: `__ALL__`, `__NONE__` or `__AUTO_ANNOTATION__`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_state: Option<String>,
    /// `export_type` 3: exactly these samples (ids of the dataset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<String>>,
    /// `export_type` 3: samples matching any of these conditions (`label_list`,
    /// `sample_name`), OR-ed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub search_conditions: Option<Vec<Value>>,
    /// Share of the exported labeled samples marked `TRAIN` when `ratio_sample_usage` is true,
    /// in [0, 1], as a string or a number; default `"1.00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub train_sample_ratio: Option<Value>,
    /// Draw the train/eval split by `train_sample_ratio` (default false: samples keep their
    /// usage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_sample_usage: Option<bool>,
    /// Leave hard-example values out (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_hard_property: Option<bool>,
    /// Accepted as the provider's examples send it; leaves VOC `difficult` out when true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_difficult: Option<bool>,
}

/// Body of `POST .../export-tasks`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExportTaskRequest {
    /// The output directory in the object store; it must be empty or missing.
    pub path: String,
    /// 0 labeled samples, 1 unlabeled, 2 all (the default), 3 by `export_params`
    /// (`sample_state`, `samples`, `search_conditions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_type: Option<i32>,
    /// Image and sound classification layouts: 1 a folder per label, 2 `x.txt` beside each
    /// file (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_format: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_params: Option<ExportParams>,
    /// Export this version's samples and labels instead of the working set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Same as `export_params.sample_state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_state: Option<String>,
    /// The file format: `MANIFEST`, `VOC`, `COCO`, `YOLO`, `CLASSIFICATION`, `TSV`, `CONLL`
    /// or `JSONL` (which fit depends on the dataset type). Default by type: classification
    /// layouts for image and sound classification, `VOC` for detection and segmentation, `TSV`
    /// for text classification, `CONLL` for named entities, `JSONL` for triplets, `MANIFEST`
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_format: Option<String>,
    /// The scheme written before storage paths in a manifest: `obs://` (default) or `s3://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type_header: Option<String>,
    /// `Default` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_format: Option<String>,
    /// Table exports only: not supported, only `true` (the default) is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_column_header: Option<bool>,
}

/// An export task.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ExportTask {
    pub task_id: String,
    pub dataset_id: String,
    /// Same as `dataset_id`.
    pub resource_id: String,
    /// `INIT`, `RUNNING`, `SUCCESSED` (sic, as the provider spells it) or `FAILED`.
    pub status: String,
    /// Percent, 0.0–100.0.
    pub progress: f64,
    /// The output directory, as `obs://bucket/dir/`.
    pub path: String,
    pub export_type: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_format: Option<i32>,
    /// The format written (see the request).
    pub annotation_format: String,
    pub export_params: ExportParams,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub version_format: String,
    pub total_sample_count: u64,
    pub finished_sample_count: u64,
    /// Labels (or sample bytes) the format could not hold, left out: listed in the report.
    pub dropped_label_count: u64,
    /// Labels written in another form than stored (a rotated box as its bounding box, a
    /// multi-label sample in several folders): listed in the report.
    pub converted_label_count: u64,
    /// The report beside the files (`export-report.jsonl`): every loss, one per line, then a
    /// summary line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_path: Option<String>,
    /// `NEW_DATASET`: the dataset made from the export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_dataset_id: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// What was dropped or converted (the first 1,000; `issue_count` counts them all).
    pub issues: Vec<TaskIssue>,
    pub issue_count: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ListExportTasksResponse {
    pub total_count: u64,
    pub export_tasks: Vec<ExportTask>,
}

/// The body of a sync request: empty, or an empty object.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncDataRequest {}

/// The state of a dataset's synchronization with its data source (`data_sources[].data_path`):
/// the answer of starting one and of asking for its status.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct SyncStatus {
    /// The synchronization task; absent when none has run (`NOT_EXIST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub dataset_id: String,
    /// `RUNNING`, `COMPLETED` or `FAILED`; `NOT_EXIST` when the dataset was never synchronized.
    /// (`QUEUING` and `STARTING` are not used: a sync runs as soon as it is created.)
    pub status: String,
    /// Samples added for objects new in the data source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_sample_count: Option<u64>,
    /// Samples removed because their object is gone from the data source (their history stays:
    /// `GET .../samples/{sample_id}/history` shows the labels they had).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_sample_count: Option<u64>,
    /// Samples in the dataset after the sync (while it runs: so far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_sample_count: Option<u64>,
    /// Objects the sync could not take (not a sample file of the dataset's type, larger than
    /// the sample limit, or with a label file that does not parse; see `issues`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_sample_count: Option<u64>,
    /// Milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Milliseconds the sync ran (so far, while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// What was skipped and why (the first 1,000; `issue_count` counts them all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<TaskIssue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_count: Option<u64>,
}
