//! Datasets and their label definitions, written once for both dialects. Only `update_dataset`
//! (one transaction that reads, locks and deletes with `RETURNING`) is written by each backend,
//! with this module's statements. Must not validate names or label rules.

use std::collections::HashMap;

use serde_json::Value;
use teamlabel_api::enums::SampleStatus;
use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::error::Result;
use teamlabel_core::store::{DatasetQuery, DatasetRecord, Entity, LabelUsage, SampleCounts, StoreError};

use super::args;
use super::{decode, direction, Db, Listing, Stmt};

pub const DATASET_COLUMNS: &str = "id, project_id, name, dataset_type, description, data_sources, work_path, \
     work_path_type, data_format, workspace_id, import_annotations, label_format, status, create_time, update_time";

/// Inserts one label definition at `position`.
pub fn insert_label(dataset_id: &str, label: &LabelDef, position: i32) -> Stmt {
    Stmt::new(
        "INSERT INTO labels (dataset_id, name, type, property, attributes, position) VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            dataset_id,
            &label.name,
            label.label_type.code(),
            Value::Object(label.property.clone()),
            attributes(label),
            position
        ],
    )
}

/// Rewrites one label definition of a dataset.
pub fn update_label(dataset_id: &str, label: &LabelDef) -> Stmt {
    Stmt::new(
        "UPDATE labels SET name = $3, type = $4, property = $5, attributes = $6 WHERE id = $1 AND dataset_id = $2",
        args![
            label.id,
            dataset_id,
            &label.name,
            label.label_type.code(),
            Value::Object(label.property.clone()),
            attributes(label)
        ],
    )
}

fn attributes(label: &LabelDef) -> Option<Value> {
    label
        .attributes
        .as_ref()
        .map(|a| serde_json::to_value(a).unwrap_or(Value::Array(Vec::new())))
}

/// The position after the dataset's last label.
pub const NEXT_LABEL_POSITION: &str = "SELECT COALESCE(MAX(position) + 1, 0) FROM labels WHERE dataset_id = $1";

/// Samples whose every label is among the deleted ones go with them (`$1` dataset, `{ids}` the
/// deleted label ids as a list clause over `sl.label_id`).
pub fn samples_of_deleted_labels(ids_in: &str, ids_not_in: &str) -> String {
    format!(
        "DELETE FROM samples WHERE dataset_id = $1
           AND EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq AND {ids_in})
           AND NOT EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq AND NOT ({ids_not_in}))
         RETURNING seq, id, blob_sha256"
    )
}

/// Samples left without labels are unannotated again.
pub const RESET_UNLABELED: &str = "UPDATE samples SET status = 'UN_ANNOTATION'
     WHERE dataset_id = $1 AND status <> 'UN_ANNOTATION'
       AND NOT EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq)";

/// The dataset's own fields.
pub const UPDATE_DATASET: &str =
    "UPDATE datasets SET name = COALESCE($2, name), description = COALESCE($3, description),
     update_time = $4 WHERE id = $1";

pub async fn insert_dataset<D: Db + ?Sized>(db: &D, d: &DatasetRecord, labels: &[LabelDef]) -> Result<()> {
    let mut stmts = vec![Stmt::new(
        format!(
            "INSERT INTO datasets ({DATASET_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ),
        args![
            &d.id,
            &d.project_id,
            &d.name,
            d.dataset_type.code(),
            &d.description,
            d.data_sources.clone(),
            &d.work_path,
            d.work_path_type,
            &d.data_format,
            &d.workspace_id,
            d.import_annotations,
            d.label_format.clone(),
            d.status,
            d.create_time,
            d.update_time
        ],
    )];
    for (i, label) in labels.iter().enumerate() {
        let position = i32::try_from(i).map_err(|_| StoreError::Internal("label position out of range".into()))?;
        stmts.push(insert_label(&d.id, label, position));
    }
    db.execute(stmts).await?;
    Ok(())
}

pub async fn get_dataset<D: Db + ?Sized>(db: &D, project_id: &str, dataset_id: &str) -> Result<DatasetRecord> {
    let stmt = Stmt::new(
        format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE project_id = $1 AND id = $2"),
        args![project_id, dataset_id],
    );
    let found = db.fetch_one(stmt, decode::dataset).await?;
    Ok(found.ok_or_else(|| StoreError::not_found(Entity::Dataset, dataset_id))?)
}

pub async fn list_datasets<D: Db + ?Sized>(
    db: &D,
    project_id: &str,
    query: &DatasetQuery,
) -> Result<(u64, Vec<DatasetRecord>)> {
    let mut q = db.query();
    let mut filter = format!("project_id = {}", q.text(project_id));
    if let Some(t) = query.dataset_type {
        filter += &format!(" AND dataset_type = {}", q.int4(t.code()));
    }
    if let Some(search) = query.search_content.as_deref().filter(|s| !s.is_empty()) {
        filter += &q.contains("name", search);
    }
    let dir = direction(query.ascending);
    // Names sort by code point whatever the database's collation.
    let key = if query.sort_by_name {
        "name COLLATE \"C\""
    } else {
        "create_time"
    };
    let count = format!("SELECT COUNT(*) FROM datasets WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE {filter}
             ORDER BY {key} {dir}, id COLLATE \"C\" {dir} {}",
            q.page(query.offset, query.limit)
        )
    });
    db.fetch_list(list, decode::dataset).await
}

pub async fn sample_counts<D: Db + ?Sized>(db: &D, dataset_ids: &[String]) -> Result<HashMap<String, SampleCounts>> {
    let mut counts: HashMap<String, SampleCounts> = dataset_ids
        .iter()
        .map(|id| (id.clone(), SampleCounts::default()))
        .collect();
    if dataset_ids.is_empty() {
        return Ok(counts);
    }
    let mut q = db.query();
    let sql = format!(
        "SELECT dataset_id, status, COUNT(*) FROM samples WHERE {} GROUP BY dataset_id, status",
        q.in_texts("dataset_id", dataset_ids)
    );
    let rows = db
        .fetch_all(Stmt::new(sql, q.args), |r| Ok((r.text(0)?, r.text(1)?, r.count(2)?)))
        .await?;
    for (dataset_id, status, n) in rows {
        let entry = counts.entry(dataset_id).or_default();
        entry.total += n;
        match SampleStatus::from_db(&status) {
            Some(SampleStatus::UnAnnotation) => entry.un_annotation += n,
            Some(SampleStatus::ManualAnnotation) => entry.manual_annotation += n,
            Some(SampleStatus::AutoAnnotation) => entry.auto_annotation += n,
            None => return Err(StoreError::Internal(format!("stored sample status {status:?} is unknown")).into()),
        }
    }
    Ok(counts)
}

pub async fn delete_dataset<D: Db + ?Sized>(db: &D, project_id: &str, dataset_id: &str) -> Result<()> {
    let stmt = Stmt::new(
        "DELETE FROM datasets WHERE project_id = $1 AND id = $2",
        args![project_id, dataset_id],
    );
    if db.execute(vec![stmt]).await?[0] == 0 {
        return Err(StoreError::not_found(Entity::Dataset, dataset_id).into());
    }
    Ok(())
}

pub async fn list_labels<D: Db + ?Sized>(db: &D, dataset_id: &str) -> Result<Vec<LabelDef>> {
    let stmt = Stmt::new(
        "SELECT id, name, type, property, attributes FROM labels WHERE dataset_id = $1 ORDER BY position, id",
        args![dataset_id],
    );
    db.fetch_all(stmt, decode::label).await
}

pub async fn label_usage<D: Db + ?Sized>(db: &D, dataset_id: &str) -> Result<Vec<LabelUsage>> {
    let stmt = Stmt::new(
        "SELECT sl.label_id, COUNT(*), COUNT(DISTINCT sl.sample_seq)
         FROM sample_labels sl JOIN labels l ON l.id = sl.label_id
         WHERE l.dataset_id = $1 GROUP BY sl.label_id ORDER BY sl.label_id",
        args![dataset_id],
    );
    db.fetch_all(stmt, decode::usage).await
}

/// Implements `DatasetStore` for a backend: the methods written once in this module, then those the
/// backend writes itself (`{ ... }`).
macro_rules! dataset_store {
    ($store:ty { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::DatasetStore for $store {
            async fn insert_dataset(&self, dataset: &DatasetRecord, labels: &[LabelDef]) -> Result<()> {
                $crate::sql::datasets::insert_dataset(self, dataset, labels).await
            }
            async fn get_dataset(&self, project_id: &str, dataset_id: &str) -> Result<DatasetRecord> {
                $crate::sql::datasets::get_dataset(self, project_id, dataset_id).await
            }
            async fn list_datasets(&self, project_id: &str, query: &DatasetQuery) -> Result<(u64, Vec<DatasetRecord>)> {
                $crate::sql::datasets::list_datasets(self, project_id, query).await
            }
            async fn sample_counts(&self, dataset_ids: &[String]) -> Result<HashMap<String, SampleCounts>> {
                $crate::sql::datasets::sample_counts(self, dataset_ids).await
            }
            async fn delete_dataset(&self, project_id: &str, dataset_id: &str) -> Result<()> {
                $crate::sql::datasets::delete_dataset(self, project_id, dataset_id).await
            }
            async fn list_labels(&self, dataset_id: &str) -> Result<Vec<LabelDef>> {
                $crate::sql::datasets::list_labels(self, dataset_id).await
            }
            async fn label_usage(&self, dataset_id: &str) -> Result<Vec<LabelUsage>> {
                $crate::sql::datasets::label_usage(self, dataset_id).await
            }
            $($own)*
        }
    };
}
pub(crate) use dataset_store;
