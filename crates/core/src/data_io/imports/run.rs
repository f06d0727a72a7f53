//! The run of an import: the sources read the files into the sink, which writes them a page
//! at a time; the task ends `COMPLETED` with its counts and issues, or `FAILED` with the reason
//! (`4340` when nothing could be read).

use crate::app::App;
use crate::data_io::imports::sink::Sink;
use crate::data_io::imports::{sources, ImportPlan};
use crate::data_io::tasks::{public_message, update, Progress};
use crate::error::{codes, Error};
use crate::store::{DataTaskRecord, DatasetRecord};

/// Samples an import must bring for the store's statistics to be refreshed after it.
pub(super) const ANALYZE_AFTER: u64 = 10_000;

impl App {
    pub(super) async fn run_import(&self, dataset: DatasetRecord, task: DataTaskRecord, plan: ImportPlan) {
        let (result, progress, current) = self.import_into(&dataset, task.clone(), &plan, false).await;
        match result {
            Ok(()) if progress.total_sample_count == 0 => {
                let e = Error::bad_request(
                    codes::IMPORT_NOTHING,
                    format!(
                        "Import path does not contain valid file: nothing to import under {}",
                        plan.import_path
                    ),
                );
                self.fail_import(&current, &progress, &e).await
            }
            Ok(()) => {
                if progress.imported_sample_count >= ANALYZE_AFTER {
                    if let Err(e) = self.store.refresh_statistics().await {
                        tracing::warn!(task = %task.id, error = %e, "statistics were not refreshed after an import");
                    }
                }
                let u = update(&current, "COMPLETED", &progress);
                if let Err(e) = self.end_data_task(&current, u).await {
                    tracing::warn!(task = %task.id, error = %e, "the end of an import was not recorded");
                }
            }
            Err(e) => self.fail_import(&current, &progress, &e).await,
        }
    }

    /// Reads the plan's files into the dataset through a sink, writing the task's progress as
    /// it goes; `skip_known` passes over the files that are samples already. Answers the
    /// outcome, the progress and the task as last written.
    pub(super) async fn import_into(
        &self,
        dataset: &DatasetRecord,
        task: DataTaskRecord,
        plan: &ImportPlan,
        skip_known: bool,
    ) -> (Result<(), Error>, Progress, DataTaskRecord) {
        let labels = match self.store.list_labels(&dataset.id).await {
            Ok(l) => l,
            Err(e) => return (Err(e), Progress::default(), task),
        };
        let mut sink = Sink {
            app: self,
            dataset,
            plan,
            task,
            labels,
            pending: Vec::new(),
            progress: Progress::default(),
            inflight: None,
            saved_at: 0,
            skip_known,
            known: Default::default(),
        };
        let read = sources::read(self, dataset, plan, &mut sink).await;
        let result = match read {
            Ok(()) => sink.finish().await,
            Err(e) => {
                // A page still being written is counted before the task fails.
                let _ = sink.settle().await;
                Err(e)
            }
        };
        (result, sink.progress, sink.task)
    }

    async fn fail_import(&self, task: &DataTaskRecord, progress: &Progress, e: &Error) {
        tracing::warn!(task = %task.id, error = %e, "an import failed");
        let mut u = update(task, "FAILED", progress);
        u.error_code = Some(
            if e.code == codes::INTERNAL {
                codes::IMPORT_FAILED
            } else {
                e.code
            }
            .to_string(),
        );
        u.error_msg = Some(public_message(e));
        if let Err(e) = self.end_data_task(task, u).await {
            tracing::warn!(task = %task.id, error = %e, "the failure of an import was not recorded");
        }
    }
}
