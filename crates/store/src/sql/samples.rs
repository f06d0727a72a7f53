//! Samples with their dataset-level labels, written once for both dialects: the column list,
//! the sample filter (also used to pick the samples of a task start), the label-group clause,
//! and the reads. Inserting samples (multi-row writes) is written by each backend. Must not
//! build URLs or check label rules.

use teamlabel_core::store::SampleQuery;

use super::Query;

/// A sample with its `seq`, over `samples s`.
pub const SAMPLE_COLUMNS: &str = "s.seq, s.id, s.dataset_id, s.name, s.sample_type, s.source, s.blob_sha256, \
     s.content_type, s.size, s.text_len, s.metadata, s.sample_usage, s.status, s.sample_time, s.update_time, \
     s.version";

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
