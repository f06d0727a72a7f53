//! Import tasks (`.../import-tasks`): the request's checks, the task as answered, and the start
//! of the background run (`run.rs`: the files read by `sources.rs` go to the `sink.rs`, which
//! writes samples and labels in pages). One import runs at a time per dataset (`4356`). A sync
//! with the dataset's data source (`sync.rs`) is a directory import of that folder that passes
//! over the files already imported and then removes the samples whose file is gone.

mod run;
mod sink;
mod sources;
pub mod sync;

use serde::{Deserialize, Serialize};
use teamlabel_api::data_io::{
    CreateImportTaskRequest, CreateTaskResponse, ImportTask, ListImportTasksResponse, ListTasksQuery,
};
use teamlabel_api::enums::DatasetType;

use crate::app::App;
use crate::clock::now_ms;
use crate::data_io::tasks::{new_task, task_page, Progress};
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::is_plausible_id;
use crate::objects::ObjectPath;
use crate::store::{DataTaskRecord, DatasetRecord, TaskKind};

/// What an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportType {
    /// A directory in one of the layouts of the manifest guide (section 8).
    Dir,
    /// One ModelArts manifest file.
    Manifest,
    /// One COCO JSON file (an addition).
    Coco,
}

impl ImportType {
    fn code(self) -> i32 {
        match self {
            ImportType::Dir => 0,
            ImportType::Manifest => 1,
            ImportType::Coco => 2,
        }
    }
}

/// An import request as accepted: what the run needs, kept as the task's `request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportPlan {
    pub import_path: String,
    pub import_type: ImportType,
    pub import_annotations: bool,
    pub final_annotation: bool,
    pub included_labels: Vec<String>,
    pub excluded_labels: Vec<String>,
    pub difficult_only: bool,
    /// Between text and labels in text-classification files.
    pub text_separator: String,
    /// Between labels.
    pub label_separator: String,
    /// `x.txt` with `x_result.txt` instead of text and labels on one line.
    pub result_files: bool,
}

impl App {
    pub async fn create_import_task(
        &self,
        p: &Principal,
        dataset_id: &str,
        req: &CreateImportTaskRequest,
    ) -> Result<CreateTaskResponse> {
        policy::authorize(p, Op::CreateImportTask, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let plan = check_request(d.dataset_type, req)?;
        let task = new_task(&d.id, TaskKind::Import, plan.import_type.code(), "QUEUING", &plan)?;
        self.store.insert_data_task(&task).await?;
        let app = self.clone();
        let task_id = task.id.clone();
        tokio::spawn(async move { app.run_import(d, task, plan).await });
        Ok(CreateTaskResponse { task_id })
    }

    /// Imports a manifest into a dataset as an import task of its own, and waits for it: how
    /// an export to a new dataset fills it. Answers the finished task.
    pub(crate) async fn import_manifest_now(&self, d: &DatasetRecord, manifest: &ObjectPath) -> Result<ImportTask> {
        let req = CreateImportTaskRequest {
            import_path: manifest.to_string(),
            import_type: Some("manifest".into()),
            ..CreateImportTaskRequest::default()
        };
        let plan = check_request(d.dataset_type, &req)?;
        let task = new_task(&d.id, TaskKind::Import, plan.import_type.code(), "QUEUING", &plan)?;
        self.store.insert_data_task(&task).await?;
        self.run_import(d.clone(), task.clone(), plan).await;
        let done = self.store.get_data_task(&d.id, TaskKind::Import, &task.id).await?;
        Ok(import_to_api(&done.unwrap_or(task)))
    }

    pub async fn list_import_tasks(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &ListTasksQuery,
    ) -> Result<ListImportTasksResponse> {
        policy::authorize(p, Op::ListImportTasks, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        if q.export_type.is_some() {
            return Err(Error::invalid("export_type filters export tasks, not import tasks"));
        }
        let (offset, limit) = task_page(q)?;
        let (total, rows) = self
            .store
            .list_data_tasks(dataset_id, TaskKind::Import, None, offset, limit)
            .await?;
        Ok(ListImportTasksResponse {
            total_count: total,
            import_tasks: rows.iter().map(import_to_api).collect(),
        })
    }

    pub async fn get_import_task(&self, p: &Principal, dataset_id: &str, task_id: &str) -> Result<ImportTask> {
        policy::authorize(p, Op::GetImportTask, &Standing::project(p))?;
        self.store.get_dataset(&p.project_id, dataset_id).await?;
        let found = if is_plausible_id(task_id) {
            self.store.get_data_task(dataset_id, TaskKind::Import, task_id).await?
        } else {
            None
        };
        let task = found.ok_or_else(|| {
            Error::not_found(
                codes::ACCEPTANCE_NOT_FOUND,
                format!("Import task does not exist: {task_id}"),
            )
        })?;
        Ok(import_to_api(&task))
    }
}

/// The dataset types a directory import brings labels for; others get unlabeled samples.
fn dir_labels(t: DatasetType) -> bool {
    matches!(
        t,
        DatasetType::ImageClassification
            | DatasetType::ObjectDetection
            | DatasetType::ImageSegmentation
            | DatasetType::TextClassification
            | DatasetType::SoundClassification
    )
}

fn check_request(t: DatasetType, req: &CreateImportTaskRequest) -> Result<ImportPlan> {
    let bad = |m: String| Error::bad_request(codes::IMPORT_BAD_PARAMETER, m);
    let path = ObjectPath::parse("import_path", &req.import_path)
        .map_err(|e| Error::bad_request(codes::IMPORT_INVALID_PATH, e.message))?;
    let import_type = match req.import_type.as_deref().unwrap_or("dir") {
        "dir" => ImportType::Dir,
        "manifest" => ImportType::Manifest,
        "coco" => ImportType::Coco,
        other => return Err(bad(format!("import_type must be dir, manifest or coco, got {other:?}"))),
    };
    if import_type != ImportType::Dir && path.is_dir() {
        return Err(Error::bad_request(
            codes::IMPORT_INVALID_PATH,
            format!(
                "import_path {} names a directory; a {import_type:?} import reads one file",
                req.import_path
            ),
        ));
    }
    if matches!(t, DatasetType::Table | DatasetType::Custom) {
        return Err(Error::bad_request(
            codes::UNSUPPORTED_OPERATION,
            format!("datasets of type {} cannot import files", t.code()),
        ));
    }
    if import_type == ImportType::Coco && !matches!(t, DatasetType::ObjectDetection | DatasetType::ImageSegmentation) {
        return Err(bad(format!(
            "a COCO import needs an object detection or image segmentation dataset; this one is of type {}",
            t.code()
        )));
    }
    if req.import_samples == Some(false) {
        return Err(bad(
            "import_samples false (labels onto samples already there) is not supported; import the samples with their labels"
                .into(),
        ));
    }
    if req.import_folder.is_some() {
        return Err(bad(
            "import_folder is not supported: samples keep their place in the object store".into(),
        ));
    }
    if req.data_source.is_some() || req.with_column_header == Some(true) {
        return Err(bad(
            "table and database sources are not supported; import from the object store".into(),
        ));
    }
    if let Some(origin) = req.import_origin.as_deref().filter(|o| *o != "obs") {
        return Err(bad(format!(
            "import_origin must be obs (the object store), got {origin:?}"
        )));
    }
    let names = |v: &Option<Vec<teamlabel_api::data_io::LabelRef>>| -> Vec<String> {
        v.iter().flatten().map(|l| l.name().to_string()).collect()
    };
    let format = req.label_format.clone().unwrap_or_default();
    if format.text_sample_separator.is_some() {
        return Err(bad(
            "label_format.text_sample_separator is not supported: one sample per line".into(),
        ));
    }
    let result_files = match format.label_type.as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => return Err(bad(format!("label_format.label_type must be 0 or 1, got {other:?}"))),
    };
    let text_separator = format.text_label_separator.unwrap_or_else(|| "\t".into());
    let label_separator = format.label_separator.unwrap_or_else(|| ",".into());
    for (field, sep) in [
        ("text_label_separator", &text_separator),
        ("label_separator", &label_separator),
    ] {
        if sep.is_empty() || sep.contains('\n') {
            return Err(bad(format!(
                "label_format.{field} must be a non-empty string without a newline"
            )));
        }
    }
    Ok(ImportPlan {
        import_path: path.to_string(),
        import_type,
        import_annotations: req.import_annotations.unwrap_or(true) && (import_type != ImportType::Dir || dir_labels(t)),
        final_annotation: req.final_annotation.unwrap_or(true),
        included_labels: names(&req.included_labels),
        excluded_labels: names(&req.excluded_labels),
        difficult_only: req.difficult_only.unwrap_or(false),
        text_separator,
        label_separator,
        result_files,
    })
}

fn import_to_api(t: &DataTaskRecord) -> ImportTask {
    let p = Progress::from_value(&t.progress);
    let path = t
        .request
        .get("import_path")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let shown = ObjectPath::parse("import_path", path).map_or_else(|_| path.to_string(), |p| p.with_header("obs://"));
    let end = if matches!(t.status.as_str(), "COMPLETED" | "FAILED") {
        t.update_time
    } else {
        now_ms()
    };
    ImportTask {
        task_id: t.id.clone(),
        dataset_id: t.dataset_id.clone(),
        status: t.status.clone(),
        import_path: shown,
        import_type: t.subtype,
        total_sample_count: p.total_sample_count,
        imported_sample_count: p.imported_sample_count,
        annotated_sample_count: p.annotated_sample_count,
        skipped_sample_count: p.skipped_sample_count,
        imported_label_count: p.imported_label_count,
        created_label_count: p.created_label_count,
        processed_sample_count: p.processed_sample_count,
        total_file_count: p.total_file_count,
        finished_file_count: p.finished_file_count,
        total_file_size: p.total_file_size,
        finished_file_size: p.finished_file_size,
        create_time: t.create_time,
        update_ms: t.update_time,
        elapsed_time: (end - t.create_time).max(0) / 1000,
        error_code: t.error_code.clone(),
        error_msg: t.error_msg.clone(),
        issues: p.issues,
        issue_count: p.issue_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, t: Option<&str>) -> CreateImportTaskRequest {
        CreateImportTaskRequest {
            import_path: path.into(),
            import_type: t.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn paths_and_types_are_checked() {
        let e = check_request(DatasetType::ImageClassification, &req("/b/../etc/", None)).unwrap_err();
        assert_eq!(e.code, codes::IMPORT_INVALID_PATH);
        let e = check_request(DatasetType::ImageClassification, &req("/bkt/in/", Some("manifest"))).unwrap_err();
        assert_eq!(e.code, codes::IMPORT_INVALID_PATH);
        let e = check_request(DatasetType::ImageClassification, &req("/bkt/a.json", Some("coco"))).unwrap_err();
        assert_eq!(e.code, codes::IMPORT_BAD_PARAMETER);
        let e = check_request(DatasetType::ImageClassification, &req("/bkt/in/", Some("csv"))).unwrap_err();
        assert_eq!(e.code, codes::IMPORT_BAD_PARAMETER);
        let plan = check_request(DatasetType::NamedEntity, &req("s3://bkt/in/", None)).unwrap();
        assert_eq!(plan.import_path, "/bkt/in/");
        assert!(!plan.import_annotations, "a directory brings no entity labels");
        let plan = check_request(DatasetType::NamedEntity, &req("/bkt/a.manifest", Some("manifest"))).unwrap();
        assert!(plan.import_annotations);
    }
}
