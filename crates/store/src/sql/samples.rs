//! Samples with their dataset-level labels, written once for both dialects: the column list,
//! the sample filter (also used to pick the samples of a task start), the label-group clause,
//! and the reads. Inserting samples (multi-row writes) is written by each backend. Must not
//! build URLs or check label rules.

use std::collections::{HashMap, HashSet};

use teamlabel_core::error::Result;
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{DeletedSample, Entity, SampleQuery, SampleRecord, StoreError};

use super::args;
use super::{decode, direction, Db, Listing, Query, Stmt};

/// A sample with its `seq`, over `samples s`.
pub const SAMPLE_COLUMNS: &str = "s.seq, s.id, s.dataset_id, s.name, s.sample_type, s.source, s.blob_sha256, \
     s.content_type, s.size, s.text_len, s.metadata, s.sample_usage, s.status, s.sample_time, s.update_time, \
     s.version, s.inline_text";

/// How many columns `SAMPLE_COLUMNS` has: where the columns selected after them begin.
pub const SAMPLE_COLUMN_COUNT: usize = 17;

/// The columns a sample insert writes, in the order both backends bind them.
pub const SAMPLE_FIELDS: &str = "id, dataset_id, name, sample_type, source, blob_sha256, content_type, size, \
     text_len, metadata, sample_usage, status, sample_time, update_time, inline_text";

/// The columns of a placed label after its owner key (`sample_seq` or `copy_id`).
pub const PLACED_LABEL_FIELDS: &str = "ordinal, label_id, instance_id, property, score, annotated_by";

/// The WHERE clause of a sample list over `samples s` of one dataset.
pub fn sample_filter(q: &mut Query, dataset_id: &str, query: &SampleQuery) -> String {
    let mut filter = format!("s.dataset_id = {}", q.text(dataset_id));
    if let Some(statuses) = &query.statuses {
        let statuses: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
        filter += &format!(" AND {}", q.in_texts("s.status", &statuses));
    }
    if let Some(sample_type) = query.sample_type {
        filter += &format!(" AND s.sample_type = {}", q.int4(sample_type.code()));
    }
    if let Some(name) = &query.name {
        filter += &format!(" AND s.name = {}", q.text(name));
    }
    for group in &query.label_groups {
        filter += &label_group_clause(q, group, "sample_labels", "sample_seq", "s.seq");
    }
    filter
}

/// ` AND EXISTS (...)` matching rows of `table` whose `key` is `outer` and whose label is in the
/// group; an empty group matches nothing.
pub fn label_group_clause(q: &mut Query, group: &[i64], table: &str, key: &str, outer: &str) -> String {
    format!(
        " AND EXISTS (SELECT 1 FROM {table} x WHERE x.{key} = {outer} AND {})",
        q.in_ints("x.label_id", group)
    )
}

/// Loads the dataset-level labels of the samples `seqs` in one query, each sample's labels in
/// their order. (A copy's labels are one value of its row: `compact`.)
async fn load_sample_labels<D: Db + ?Sized>(db: &D, seqs: &[i64]) -> Result<HashMap<i64, Vec<PlacedLabel>>> {
    let mut out: HashMap<i64, Vec<PlacedLabel>> = HashMap::new();
    if seqs.is_empty() {
        return Ok(out);
    }
    let mut q = db.query();
    let sql = format!(
        "SELECT x.sample_seq, x.label_id, l.name, l.type, x.instance_id, x.property, x.score, x.annotated_by
         FROM sample_labels x JOIN labels l ON l.id = x.label_id
         WHERE {} ORDER BY x.sample_seq, x.ordinal",
        q.in_ints("x.sample_seq", seqs)
    );
    for (owner, label) in db.fetch_all(Stmt::new(sql, q.args), decode::placed_label).await? {
        out.entry(owner).or_default().push(label);
    }
    Ok(out)
}

/// Puts their labels on samples read with their `seq`.
pub async fn with_labels<D: Db + ?Sized>(db: &D, samples: Vec<(i64, SampleRecord)>) -> Result<Vec<SampleRecord>> {
    let seqs: Vec<i64> = samples.iter().map(|(seq, _)| *seq).collect();
    let mut by_seq = load_sample_labels(db, &seqs).await?;
    Ok(samples
        .into_iter()
        .map(|(seq, mut s)| {
            s.labels = by_seq.remove(&seq).unwrap_or_default();
            s
        })
        .collect())
}

/// Each id once, in first-seen order.
pub fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// Samples of a dataset by public id (with their `seq`, without labels), in the order of `ids`,
/// each once, skipping ids that do not exist.
pub async fn samples_by_id<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    ids: &[String],
) -> Result<Vec<(i64, SampleRecord)>> {
    let ids = distinct(ids);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = db.query();
    let sql = format!(
        "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE /*+*/s.dataset_id = {} AND {}",
        q.text(dataset_id),
        q.in_texts("s.id", &ids)
    );
    let mut by_id: HashMap<String, (i64, SampleRecord)> = db
        .fetch_all(Stmt::new(sql, q.args), decode::sample)
        .await?
        .into_iter()
        .map(|(seq, s)| (s.id.clone(), (seq, s)))
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub async fn find_sample_names<D: Db + ?Sized>(db: &D, dataset_id: &str, names: &[String]) -> Result<HashSet<String>> {
    if names.is_empty() {
        return Ok(HashSet::new());
    }
    let mut q = db.query();
    let sql = format!(
        "SELECT name FROM samples WHERE dataset_id = {} AND {}",
        q.text(dataset_id),
        q.in_texts("name", names)
    );
    Ok(db
        .fetch_all(Stmt::new(sql, q.args), |r| r.text(0))
        .await?
        .into_iter()
        .collect())
}

pub async fn list_samples<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    query: &SampleQuery,
) -> Result<(u64, Vec<SampleRecord>)> {
    let mut q = db.query();
    let filter = sample_filter(&mut q, dataset_id, query);
    let dir = direction(query.ascending);
    let count = format!("SELECT COUNT(*) FROM samples s WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE {filter} ORDER BY s.seq {dir} {}",
            q.page(query.offset, query.limit)
        )
    });
    let (total, page) = db.fetch_list(list, decode::sample).await?;
    Ok((total, with_labels(db, page).await?))
}

pub async fn get_sample<D: Db + ?Sized>(db: &D, dataset_id: &str, sample_id: &str) -> Result<SampleRecord> {
    let found = load_samples(db, dataset_id, &[sample_id.to_string()]).await?.pop();
    Ok(found.ok_or_else(|| StoreError::not_found(Entity::Sample, sample_id))?)
}

pub async fn load_samples<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    sample_ids: &[String],
) -> Result<Vec<SampleRecord>> {
    let rows = samples_by_id(db, dataset_id, sample_ids).await?;
    with_labels(db, rows).await
}

/// Deletes those of `ids` that exist in the dataset, in one transaction, in the order asked.
pub async fn delete_samples<D: Db + ?Sized>(db: &D, dataset_id: &str, ids: &[String]) -> Result<Vec<DeletedSample>> {
    let stmts = distinct(ids)
        .into_iter()
        .map(|id| {
            Stmt::new(
                "DELETE FROM samples WHERE /*+*/dataset_id = $1 AND id = $2 RETURNING id, blob_sha256",
                args![dataset_id, id],
            )
        })
        .collect::<Vec<_>>();
    if stmts.is_empty() {
        return Ok(Vec::new());
    }
    db.write_rows(stmts, |r| decode::deleted_at(r, 0)).await
}

pub async fn blob_in_use<D: Db + ?Sized>(db: &D, sha256: &str) -> Result<bool> {
    let stmt = Stmt::new(
        "SELECT EXISTS (SELECT 1 FROM samples WHERE blob_sha256 = $1)",
        args![sha256],
    );
    Ok(db.fetch_one(stmt, |r| r.flag(0)).await?.unwrap_or(false))
}

/// Implements `SampleStore` for a backend: the methods written once in this module, then those the
/// backend writes itself (`{ ... }`).
#[macro_export]
macro_rules! sample_store {
    ($store:ty { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::SampleStore for $store {
            async fn find_sample_names(&self, dataset_id: &str, names: &[String]) -> Result<HashSet<String>> {
                $crate::sql::samples::find_sample_names(self, dataset_id, names).await
            }
            async fn list_samples(&self, dataset_id: &str, query: &SampleQuery) -> Result<(u64, Vec<SampleRecord>)> {
                $crate::sql::samples::list_samples(&$crate::sql::Db::reader(self).await?, dataset_id, query).await
            }
            async fn get_sample(&self, dataset_id: &str, sample_id: &str) -> Result<SampleRecord> {
                $crate::sql::samples::get_sample(&$crate::sql::Db::reader(self).await?, dataset_id, sample_id).await
            }
            async fn delete_samples(&self, dataset_id: &str, ids: &[String]) -> Result<Vec<DeletedSample>> {
                $crate::sql::samples::delete_samples(self, dataset_id, ids).await
            }
            async fn blob_in_use(&self, sha256: &str) -> Result<bool> {
                $crate::sql::samples::blob_in_use(self, sha256).await
            }
            async fn load_samples(&self, dataset_id: &str, sample_ids: &[String]) -> Result<Vec<SampleRecord>> {
                $crate::sql::samples::load_samples(&$crate::sql::Db::reader(self).await?, dataset_id, sample_ids).await
            }
            $($own)*
        }
    };
}
pub(crate) use sample_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_column_count_counts_sample_columns() {
        assert_eq!(SAMPLE_COLUMNS.split(',').count(), SAMPLE_COLUMN_COUNT);
    }
}
