//! Routes per resource; module names match the core modules they call.

pub mod acceptance;
pub mod data_io;
pub mod datasets;
pub mod iam;
pub mod labels;
pub mod samples;
pub mod system;
pub mod team_samples;
pub mod webhooks;
pub mod workforce_tasks;
pub mod workforces;

use serde::Deserialize;

/// `/v2/{project_id}/datasets/{dataset_id}...`
#[derive(Debug, Deserialize)]
pub struct DatasetPath {
    pub project_id: String,
    pub dataset_id: String,
}

/// `.../samples/{sample_id}`
#[derive(Debug, Deserialize)]
pub struct SamplePath {
    pub project_id: String,
    pub dataset_id: String,
    pub sample_id: String,
}

/// `.../labels/{label_name}`
#[derive(Debug, Deserialize)]
pub struct LabelPath {
    pub project_id: String,
    pub dataset_id: String,
    pub label_name: String,
}

/// `/v2/{project_id}/workforces/{workforce_id}`
#[derive(Debug, Deserialize)]
pub struct WorkforcePath {
    pub project_id: String,
    pub workforce_id: String,
}

/// `.../workforces/{workforce_id}/workers/{worker_id}`
#[derive(Debug, Deserialize)]
pub struct WorkerPath {
    pub project_id: String,
    pub workforce_id: String,
    pub worker_id: String,
}

/// `.../datasets/{dataset_id}/workforce-tasks/{workforce_task_id}`
#[derive(Debug, Deserialize)]
pub struct TaskPath {
    pub project_id: String,
    pub dataset_id: String,
    pub workforce_task_id: String,
}

/// `.../workforce-tasks/{workforce_task_id}/data-annotations/samples/{sample_id}`
#[derive(Debug, Deserialize)]
pub struct TaskSamplePath {
    pub project_id: String,
    pub dataset_id: String,
    pub workforce_task_id: String,
    pub sample_id: String,
}
