//! `GET .../workforce-tasks/{id}/agreement`: how far the task's labelers agree on the samples
//! several of them labeled, per task and per labeler (figures in `team::agreement`). A copy
//! counts once it is labeled (any state but `__NONE__` and `__AUTO_ANNOTATION__`). Reads only.

use std::collections::HashMap;

use teamlabel_api::team::acceptance::{AgreementFigure, AgreementFigures, TaskAgreement};

use crate::app::App;
use crate::error::Result;
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing, TaskRole};
use crate::rules::values::PlacedLabel;
use crate::team::agreement::{agreement_of, Agreement, Figure};
use crate::team::task_states::state;

/// How many samples one store read loads.
const LOAD_CHUNK: usize = 500;

fn figure(f: &Figure) -> AgreementFigure {
    AgreementFigure {
        value: f.value,
        sample_count: f.samples,
    }
}

fn figures(a: &Agreement) -> AgreementFigures {
    AgreementFigures {
        classification_alpha: figure(&a.classification),
        detection_f1: figure(&a.detection),
        entity_f1: figure(&a.entities),
    }
}

impl App {
    pub async fn workforce_task_agreement(
        &self,
        p: &Principal,
        dataset_id: &str,
        task_id: &str,
    ) -> Result<TaskAgreement> {
        let (_, task) = self.load_task(p, dataset_id, task_id).await?;
        let members = self.store.task_workers(&task.id).await?;
        policy::authorize(
            p,
            Op::GetWorkforceTaskAgreement,
            &Standing::task(&TaskRole::of(p, &members)),
        )?;
        let copies = self.store.task_copy_states(&task.id).await?;
        let labeled = |s: &str| s != state::NONE && s != state::AUTO_ANNOTATION;
        let mut per_sample: HashMap<&str, usize> = HashMap::new();
        for c in copies.iter().filter(|c| labeled(&c.state)) {
            *per_sample.entry(c.sample_id.as_str()).or_default() += 1;
        }
        let mut ids: Vec<String> = per_sample
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .map(|(id, _)| id.to_string())
            .collect();
        ids.sort();
        let mut samples: Vec<Vec<(String, Vec<PlacedLabel>)>> = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(LOAD_CHUNK) {
            for s in self.store.load_team_samples(&task.id, dataset_id, chunk).await? {
                samples.push(
                    s.copies
                        .into_iter()
                        .filter(|c| labeled(&c.state))
                        .map(|c| (c.worker_id, c.labels))
                        .collect(),
                );
            }
        }
        let (whole, per_worker) = agreement_of(&samples, task.iou_threshold);
        Ok(TaskAgreement {
            iou_threshold: task.iou_threshold,
            task: figures(&whole),
            workers: per_worker.iter().map(|(w, a)| (w.clone(), figures(a))).collect(),
        })
    }
}
