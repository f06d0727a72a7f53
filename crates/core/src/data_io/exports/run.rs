//! The run of an export: the chosen samples a page at a time into the layout's files, every
//! loss counted, listed on the task (the first 1,000) and written to `export-report.jsonl`
//! beside the files (all of them, then a summary line). The task ends `SUCCESSED` with its
//! counts, or `FAILED` with the reason. To `NEW_DATASET`, the manifest written is then imported
//! into a new dataset of the same type and labels.
//!
//! The train/eval split (`ratio_sample_usage`) is drawn over the exported labeled samples by
//! selection sampling seeded from the task id, as a version's is from the version id.

use serde_json::json;
use teamlabel_api::data_io::TaskIssue;
use teamlabel_api::datasets::{CreateDatasetRequest, DataSource};
use teamlabel_formats::Loss;

use crate::app::App;
use crate::clock::now_ms;
use crate::data_io::exports::layouts::{safe_name, Output, Spool};
use crate::data_io::exports::select::Selection;
use crate::data_io::exports::ExportPlan;
use crate::data_io::tasks::{public_message, update, Progress};
use crate::data_io::versions::{seed_of, Split};
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::objects::ObjectPath;
use crate::store::{DataTaskRecord, DatasetRecord};

/// The report file written beside the export's files.
pub const REPORT_FILE: &str = "export-report.jsonl";

/// The state of a run between pages.
struct Run {
    task: DataTaskRecord,
    progress: Progress,
    /// Taken when it is uploaded.
    report: Option<Spool>,
    /// When the progress was last written (ms).
    saved_at: i64,
}

/// Least time between two writes of the progress (ms).
const PROGRESS_EVERY_MS: i64 = 500;

impl Run {
    fn issue(&mut self, issue: TaskIssue) -> Result<()> {
        match issue.kind.as_str() {
            "converted" => self.progress.converted_label_count += 1,
            _ => self.progress.dropped_label_count += 1,
        }
        let line = serde_json::to_string(&issue).map_err(|e| Error::internal(e.to_string()))?;
        if let Some(r) = self.report.as_mut() {
            r.write(&line)?;
            r.write("\n")?;
        }
        self.progress.issue(issue);
        Ok(())
    }

    fn loss(&mut self, l: Loss) -> Result<()> {
        self.issue(TaskIssue {
            sample: Some(l.sample),
            label: l.label,
            kind: l.kind.as_str().to_string(),
            reason: l.reason,
            ..TaskIssue::default()
        })
    }

    async fn save(&mut self, app: &App, status: &str) -> Result<()> {
        let u = update(&self.task, status, &self.progress);
        app.store.update_data_task(&u).await?;
        self.task.status = status.into();
        self.saved_at = now_ms();
        Ok(())
    }
}

impl App {
    pub(super) async fn run_export(&self, owner: Principal, d: DatasetRecord, task: DataTaskRecord, plan: ExportPlan) {
        let mut current = task.clone();
        let mut progress = Progress::default();
        let result = self.write_export(&owner, &d, &plan, &mut current, &mut progress).await;
        let mut u = update(&current, "SUCCESSED", &progress);
        if let Err(e) = &result {
            tracing::warn!(task = %task.id, error = %e, "an export failed");
            u.status = "FAILED".into();
            u.error_code = Some(
                if e.code == codes::INTERNAL {
                    codes::EXPORT_FAILED
                } else {
                    e.code
                }
                .to_string(),
            );
            u.error_msg = Some(public_message(e));
        }
        if let Err(e) = self.end_data_task(&current, u).await {
            tracing::warn!(task = %task.id, error = %e, "the end of an export was not recorded");
        }
    }

    async fn write_export(
        &self,
        owner: &Principal,
        d: &DatasetRecord,
        plan: &ExportPlan,
        current: &mut DataTaskRecord,
        progress: &mut Progress,
    ) -> Result<()> {
        let dir = ObjectPath::parse("path", &plan.path)?.as_dir();
        let report_path = dir.join(REPORT_FILE)?;
        let mut run = Run {
            task: current.clone(),
            progress: Progress {
                report_path: Some(report_path.with_header("obs://")),
                ..Progress::default()
            },
            report: Some(Spool::new(report_path)?),
            saved_at: 0,
        };
        let result = self.write_pages(owner, d, plan, &dir, &mut run).await;
        *current = run.task.clone();
        *progress = run.progress.clone();
        result
    }

    async fn write_pages(
        &self,
        owner: &Principal,
        d: &DatasetRecord,
        plan: &ExportPlan,
        dir: &ObjectPath,
        run: &mut Run,
    ) -> Result<()> {
        let labels = self.store.list_labels(&d.id).await?;
        let names: Vec<String> = labels.iter().map(|l| l.name.clone()).collect();
        let (mut selection, total) = Selection::open(self, d, plan).await?;
        run.progress.total_sample_count = total;
        run.save(self, "RUNNING").await?;
        let mut out = Output::new(plan, d.dataset_type, &d.name, &names)?;
        let mut split = plan
            .ratio
            .map(|r| Split::new(seed_of(&run.task.id), (r * total as f64).round() as i64, total as i64));
        let mut issues = Vec::new();
        while let Some(page) = selection.next(self, d, plan.clear_hard, &mut issues).await? {
            for issue in issues.drain(..) {
                run.issue(issue)?;
            }
            for mut item in page {
                if let Some(split) = split.as_mut() {
                    if !item.record.labels.is_empty() {
                        item.record.usage = Some(if split.next() { "TRAIN" } else { "EVAL" }.into());
                    }
                }
                for loss in out.add(self, item).await? {
                    run.loss(loss)?;
                }
                run.progress.finished_sample_count += 1;
            }
            run.progress.total_sample_count = run.progress.total_sample_count.max(run.progress.finished_sample_count);
            if now_ms() - run.saved_at >= PROGRESS_EVERY_MS {
                run.save(self, "RUNNING").await?;
            }
        }
        for issue in issues.drain(..) {
            run.issue(issue)?;
        }
        out.finish(self).await?;
        // What was written is the total: a scan with several conditions only knew a bound.
        run.progress.total_sample_count = run.progress.finished_sample_count;
        let summary = json!({"summary": {
            "task_id": run.task.id,
            "dataset_id": d.id,
            "format": plan.format.as_str(),
            "samples": run.progress.finished_sample_count,
            "dropped": run.progress.dropped_label_count,
            "converted": run.progress.converted_label_count,
        }});
        if let Some(mut report) = run.report.take() {
            report.write(&format!("{summary}\n"))?;
            report.upload(self).await?;
        }
        if let Some(new) = &plan.new_dataset {
            let manifest = dir.join(&format!("{}.manifest", safe_name(&d.name)))?;
            let req = CreateDatasetRequest {
                dataset_name: Some(new.name.clone()),
                dataset_type: Some(d.dataset_type),
                data_sources: Some(vec![DataSource {
                    data_path: Some(dir.to_string()),
                    ..DataSource::default()
                }]),
                work_path: new.work_path.clone(),
                labels: Some(labels.iter().map(|l| l.to_api()).collect()),
                description: Some(format!("exported from dataset {} by export task {}", d.id, run.task.id)),
                ..CreateDatasetRequest::default()
            };
            let made = self.create_dataset(owner, &req).await?;
            run.progress.new_dataset_id = Some(made.dataset_id.clone());
            let new_d = self.store.get_dataset(&owner.project_id, &made.dataset_id).await?;
            let imported = self.import_manifest_now(&new_d, &manifest).await?;
            if imported.status != "COMPLETED" {
                return Err(Error::bad_request(
                    codes::EXPORT_FAILED,
                    format!(
                        "the new dataset {} was made but its import {} failed: {}",
                        made.dataset_id,
                        imported.task_id,
                        imported.error_msg.unwrap_or_default()
                    ),
                ));
            }
        }
        tracing::info!(
            task = %run.task.id,
            samples = run.progress.finished_sample_count,
            dropped = run.progress.dropped_label_count,
            converted = run.progress.converted_label_count,
            "an export finished"
        );
        Ok(())
    }
}
