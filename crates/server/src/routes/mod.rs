//! Routes per resource; module names match the core modules they call.

pub mod datasets;
pub mod labels;
pub mod samples;
pub mod system;

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
