//! Datasets: the checks on names and paths and the use cases create, get, list, update and delete.
//! It must not reach into samples or labels beyond their counts.

use serde_json::{Map, Value};
use teamlabel_api::datasets::{
    CreateDatasetRequest, CreateDatasetResponse, DataSource, Dataset, ListDatasetsQuery, ListDatasetsResponse,
    UpdateDatasetRequest,
};
use teamlabel_api::enums::DatasetType;

use crate::app::App;
use crate::clock::now_ms;
use crate::datasets::label_changes::{version_not_found, LabelPlan};
use crate::datasets::labels::{check_label_set, define_label, LabelDef};
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::new_alnum19;
use crate::query::{parse_bool, parse_i64, parse_order, parse_page};
use crate::store::{DatasetQuery, DatasetRecord, SampleCounts, VersionSummary};

use crate::text::{check_description, check_name, check_text};

const DESCRIPTION_FORBIDDEN_UPDATE: &str = "^!<>=&\"";

/// Checks an object-store style directory path `/bucket/dir/`.
fn check_dir_path(field: &str, path: &str, max: usize) -> Result<()> {
    let len = path.chars().count();
    if len < 3 || len > max {
        return Err(Error::bad_request(
            if field == "work_path" && len > max {
                codes::WORK_PATH_TOO_LONG
            } else {
                codes::INVALID_ARGUMENT
            },
            format!("{field} must be 3 to {max} characters long, got {len}"),
        ));
    }
    if !path.starts_with('/') || !path.ends_with('/') || path.contains("//") {
        return Err(Error::bad_request(
            codes::INVALID_PATH,
            format!("{field} must be a directory of the form /bucket/dir/, got {path:?}"),
        ));
    }
    if let Some(c) = path.chars().find(|c| !(c.is_alphanumeric() || "-_/.".contains(*c))) {
        return Err(Error::bad_request(
            codes::INVALID_PATH,
            format!("{field} may contain only letters, digits, '-', '_', '.' and '/'; found {c:?}"),
        ));
    }
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(Error::bad_request(
            codes::INVALID_PATH,
            format!("{field} must not contain . or .. segments"),
        ));
    }
    if path.trim_matches('/').split('/').count() < 2 {
        return Err(Error::bad_request(
            codes::SUBDIRECTORY_REQUIRED,
            format!("A subdirectory must be specified as the dataset input or output path: {field} {path:?} is a bare bucket"),
        ));
    }
    Ok(())
}

fn dataset_to_api(
    d: &DatasetRecord,
    counts: SampleCounts,
    labels: Option<&[LabelDef]>,
    versions: VersionSummary,
) -> Dataset {
    Dataset {
        dataset_id: d.id.clone(),
        dataset_name: d.name.clone(),
        dataset_type: d.dataset_type,
        data_format: d.data_format.clone(),
        dataset_format: 0,
        status: d.status,
        description: d.description.clone(),
        data_sources: serde_json::from_value(d.data_sources.clone()).unwrap_or_default(),
        work_path: d.work_path.clone(),
        work_path_type: d.work_path_type,
        inner_work_path: d.work_path.as_ref().map(|w| format!("{w}{}-{}/", d.name, d.id)),
        create_time: d.create_time,
        update_time: d.update_time,
        total_sample_count: counts.total,
        annotated_sample_count: counts.annotated(),
        unconfirmed_sample_count: counts.auto_annotation,
        dataset_version_count: versions.count,
        next_version_num: versions.next_num.max(1) as u64,
        current_version_id: versions.current_id,
        current_version_name: versions.current_name,
        import_annotations: d.import_annotations,
        label_format: d.label_format.clone().and_then(|v| serde_json::from_value(v).ok()),
        workspace_id: d.workspace_id.clone(),
        labels: labels.map(|ls| ls.iter().map(LabelDef::to_api).collect()),
    }
}

pub(crate) fn unsupported(message: impl Into<String>) -> Error {
    Error::bad_request(codes::INVALID_ARGUMENT, message)
}

impl App {
    pub async fn create_dataset(&self, p: &Principal, req: &CreateDatasetRequest) -> Result<CreateDatasetResponse> {
        policy::authorize(p, Op::CreateDataset, &Standing::project(p))?;
        let name = req
            .dataset_name
            .as_deref()
            .ok_or_else(|| Error::invalid("dataset_name is required"))?;
        check_name("dataset_name", name, 1, 100)?;
        let dataset_type = req
            .dataset_type
            .ok_or_else(|| Error::invalid(format!("dataset_type is required; one of {}", DatasetType::allowed())))?;
        if dataset_type == DatasetType::Table {
            return Err(Error::bad_request(
                codes::UNSUPPORTED_OPERATION,
                "dataset_type 400 (table) is not supported by this server",
            ));
        }
        if let Some(d) = &req.description {
            check_description("description", d)?;
        }
        let sources = req.data_sources.clone().unwrap_or_default();
        if sources.len() > 1 {
            return Err(Error::invalid(format!(
                "data_sources: only one source per dataset, got {}",
                sources.len()
            )));
        }
        for (i, s) in sources.iter().enumerate() {
            if let Some(field) = s.table_fields().first() {
                return Err(unsupported(format!(
                    "data_sources[{i}].{field}: table and database sources are not supported; give an object-store data_path"
                )));
            }
            if s.data_type.unwrap_or(0) != 0 {
                return Err(unsupported(format!(
                    "data_sources[{i}].data_type: only 0 (object-store path) is supported, got {}",
                    s.data_type.unwrap_or(0)
                )));
            }
            let path = s
                .data_path
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("data_sources[{i}].data_path is required")))?;
            check_dir_path(&format!("data_sources[{i}].data_path"), path, 1024)?;
        }
        if let Some(w) = &req.work_path {
            check_dir_path("work_path", w, 700)?;
            if let Some(input) = sources.first().and_then(|s| s.data_path.as_deref()) {
                if w.starts_with(input) || input.starts_with(w.as_str()) {
                    return Err(Error::bad_request(
                        codes::SUBDIRECTORY_REQUIRED,
                        format!("work_path {w:?} must not be the input path {input:?}, inside it, or above it"),
                    ));
                }
            }
        }
        let work_path_type = req.work_path_type.unwrap_or(0);
        if work_path_type != 0 {
            return Err(Error::invalid(format!(
                "work_path_type must be 0, got {work_path_type}"
            )));
        }
        match req.data_format.as_deref() {
            None | Some("Default") => {}
            Some(other) => {
                return Err(unsupported(format!(
                    "data_format: only Default is supported, got {other:?}"
                )))
            }
        }
        if req.import_data == Some(true)
            || req.managed == Some(true)
            || req.schema.as_ref().is_some_and(|s| !s.is_empty())
        {
            return Err(unsupported(
                "import_data, managed and schema (table and hosted datasets) are not supported",
            ));
        }
        if req.workforce_information.is_some() {
            return Err(unsupported(
                "workforce_information is not supported at dataset creation; create the team labeling task after the dataset",
            ));
        }
        if let Some(lf) = &req.label_format {
            if !matches!(
                dataset_type,
                DatasetType::TextClassification | DatasetType::NamedEntity | DatasetType::TextTriplet
            ) {
                return Err(Error::invalid("label_format applies only to text datasets"));
            }
            if !matches!(lf.label_type.as_deref(), None | Some("0") | Some("1")) {
                return Err(Error::invalid("label_format.label_type must be \"0\" or \"1\""));
            }
            for (field, sep) in [
                ("text_sample_separator", &lf.text_sample_separator),
                ("text_label_separator", &lf.text_label_separator),
            ] {
                if let Some(sep) = sep {
                    let ok = sep.chars().count() == 1
                        && sep
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "!@#$%^&*_=|?/':.;,".contains(c) || c == '\t');
                    if !ok {
                        return Err(Error::invalid(format!(
                            "label_format.{field} must be one letter, digit or one of !@#$%^&*_=|?/':.;,"
                        )));
                    }
                }
            }
        }
        let workspace_id = req.workspace_id.clone().unwrap_or_else(|| "0".to_string());
        check_text("workspace_id", &workspace_id, 64, "")?;

        let mut defs = Vec::new();
        for (i, l) in req.labels.as_deref().unwrap_or(&[]).iter().enumerate() {
            defs.push(define_label(dataset_type, &format!("labels[{i}]"), l)?);
        }
        check_label_set(&defs)?;

        let now = now_ms();
        let record = DatasetRecord {
            id: new_alnum19(),
            project_id: p.project_id.clone(),
            name: name.to_string(),
            dataset_type,
            description: req.description.clone().unwrap_or_default(),
            data_sources: serde_json::to_value(sources.iter().map(DataSource::location).collect::<Vec<_>>())
                .unwrap_or(Value::Array(vec![])),
            work_path: req.work_path.clone(),
            work_path_type,
            data_format: "Default".to_string(),
            workspace_id,
            import_annotations: req.import_annotations.unwrap_or(true),
            label_format: req.label_format.as_ref().and_then(|l| serde_json::to_value(l).ok()),
            status: 1,
            create_time: now,
            update_time: now,
        };
        self.store.insert_dataset(&record, &defs).await?;
        Ok(CreateDatasetResponse { dataset_id: record.id })
    }

    pub async fn get_dataset(&self, p: &Principal, dataset_id: &str) -> Result<Dataset> {
        policy::authorize(p, Op::GetDataset, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let labels = self.store.list_labels(dataset_id).await?;
        let counts = self.store.sample_counts(std::slice::from_ref(&d.id)).await?;
        let versions = self.store.version_summary(&d.id).await?;
        Ok(dataset_to_api(
            &d,
            counts.get(&d.id).copied().unwrap_or_default(),
            Some(&labels),
            versions,
        ))
    }

    pub async fn list_datasets(&self, p: &Principal, q: &ListDatasetsQuery) -> Result<ListDatasetsResponse> {
        policy::authorize(p, Op::ListDatasets, &Standing::project(p))?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 10, 100)?;
        let sort_by_name = match q.sort_by.as_deref() {
            None | Some("") | Some("create_time") => false,
            Some("dataset_name") => true,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "sort_by must be create_time or dataset_name, got {other:?}"
                )))
            }
        };
        let dataset_type = match q.dataset_type.as_deref() {
            None | Some("") => None,
            Some(s) => Some(DatasetType::parse("dataset_type", parse_i64("dataset_type", s)?).map_err(Error::invalid)?),
        };
        let with_labels = parse_bool("with_labels", q.with_labels.as_deref(), false)?;
        let search = q.search_content.clone().filter(|s| !s.is_empty());
        if let Some(s) = &search {
            check_text("search_content", s, 100, "")?;
        }
        let query = DatasetQuery {
            offset: page.offset,
            limit: page.limit,
            sort_by_name,
            ascending: parse_order(q.order.as_deref())?,
            search_content: search,
            dataset_type,
        };
        let (total, rows) = self.store.list_datasets(&p.project_id, &query).await?;
        let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
        let counts = self.store.sample_counts(&ids).await?;
        let mut datasets = Vec::with_capacity(rows.len());
        for d in &rows {
            let labels = if with_labels {
                Some(self.store.list_labels(&d.id).await?)
            } else {
                None
            };
            datasets.push(dataset_to_api(
                d,
                counts.get(&d.id).copied().unwrap_or_default(),
                labels.as_deref(),
                self.store.version_summary(&d.id).await?,
            ));
        }
        Ok(ListDatasetsResponse {
            total_number: total,
            datasets,
        })
    }

    pub async fn update_dataset(
        &self,
        p: &Principal,
        dataset_id: &str,
        req: &UpdateDatasetRequest,
    ) -> Result<CreateDatasetResponse> {
        policy::authorize(p, Op::UpdateDataset, &Standing::project(p))?;
        let dataset = self.store.get_dataset(&p.project_id, dataset_id).await?;
        if let Some(name) = &req.dataset_name {
            check_name("dataset_name", name, 1, 100)?;
        }
        if let Some(d) = &req.description {
            check_text("description", d, 256, DESCRIPTION_FORBIDDEN_UPDATE)?;
        }
        if let Some(v) = req.current_version_id.as_deref() {
            return Err(version_not_found(v));
        }
        let mut plan = LabelPlan::new(dataset.dataset_type, self.store.list_labels(dataset_id).await?);
        for (i, l) in req.delete_labels.as_deref().unwrap_or(&[]).iter().enumerate() {
            let name = l
                .name
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("delete_labels[{i}].name is required")))?;
            plan.delete(name, l.label_type).map_err(|e| Error {
                message: format!("delete_labels[{i}]: {}", e.message),
                ..e
            })?;
        }
        for (i, l) in req.update_labels.as_deref().unwrap_or(&[]).iter().enumerate() {
            let field = format!("update_labels[{i}]");
            let name = l
                .name
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("{field}.name is required")))?;
            plan.update(
                &field,
                name,
                l.label_type,
                &l.property.clone().unwrap_or_default(),
                l.attributes.as_ref(),
            )
            .map_err(|e| Error {
                message: format!("{field}: {}", e.message),
                ..e
            })?;
        }
        for (i, l) in req.add_labels.as_deref().unwrap_or(&[]).iter().enumerate() {
            plan.add(&format!("add_labels[{i}]"), l)?;
        }
        let mut change = plan.into_change(0, now_ms());
        change.name = req.dataset_name.clone();
        change.description = req.description.clone();
        self.store.update_dataset(dataset_id, &change).await?;
        Ok(CreateDatasetResponse {
            dataset_id: dataset_id.to_string(),
        })
    }

    pub async fn delete_dataset(&self, p: &Principal, dataset_id: &str) -> Result<()> {
        policy::authorize(p, Op::DeleteDataset, &Standing::project(p))?;
        self.store.delete_dataset(&p.project_id, dataset_id).await
    }
}

/// Turns a property map request body into the map, refusing non-objects.
pub fn property_map(value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(Error::invalid("body must be a JSON object of label properties")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_directories_below_a_bucket() {
        assert!(check_dir_path("work_path", "/test-obs/classify/output/", 700).is_ok());
        assert_eq!(
            check_dir_path("work_path", "/bucket/", 700).unwrap_err().code,
            codes::SUBDIRECTORY_REQUIRED
        );
        assert_eq!(
            check_dir_path("work_path", "/a/b", 700).unwrap_err().code,
            codes::INVALID_PATH
        );
        assert_eq!(
            check_dir_path("work_path", "/a//b/", 700).unwrap_err().code,
            codes::INVALID_PATH
        );
        assert_eq!(
            check_dir_path("work_path", "/a/../b/", 700).unwrap_err().code,
            codes::INVALID_PATH
        );
        let long = format!("/a/{}/", "b".repeat(700));
        assert_eq!(
            check_dir_path("work_path", &long, 700).unwrap_err().code,
            codes::WORK_PATH_TOO_LONG
        );
    }
}
