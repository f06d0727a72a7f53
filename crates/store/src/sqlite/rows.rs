//! DOC

use super::*;

pub(super) fn user_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(at)?,
        project_id: r.get(at + 1)?,
        email: r.get(at + 2)?,
        role: Role::from_code(r.get(at + 3)?).ok_or_else(|| bad_row("role"))?,
        create_time: r.get(at + 4)?,
    })
}

pub(super) const ACCESS_KEY_COLUMNS: &str =
    "k.access_key, k.user_id, k.project_id, k.sealed_secret, k.description, k.security_token_hash, k.expires_at, k.create_time";

pub(super) fn access_key_from_row(r: &Row<'_>) -> rusqlite::Result<AccessKeyRecord> {
    Ok(AccessKeyRecord {
        access_key: r.get(0)?,
        user_id: r.get(1)?,
        project_id: r.get(2)?,
        sealed_secret: r.get(3)?,
        description: r.get(4)?,
        security_token_hash: r.get(5)?,
        expires_at: r.get(6)?,
        create_time: r.get(7)?,
    })
}

pub(super) const DATASET_COLUMNS: &str = "id, project_id, name, dataset_type, description, data_sources, work_path, work_path_type, data_format, workspace_id, import_annotations, label_format, status, create_time, update_time";

pub(super) fn dataset_from_row(r: &Row<'_>) -> rusqlite::Result<DatasetRecord> {
    let data_sources: String = r.get(5)?;
    let label_format: Option<String> = r.get(11)?;
    Ok(DatasetRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        dataset_type: DatasetType::from_code(r.get(3)?).ok_or_else(|| bad_row("dataset_type"))?,
        description: r.get(4)?,
        data_sources: serde_json::from_str(&data_sources).unwrap_or(Value::Array(vec![])),
        work_path: r.get(6)?,
        work_path_type: r.get(7)?,
        data_format: r.get(8)?,
        workspace_id: r.get(9)?,
        import_annotations: r.get(10)?,
        label_format: label_format.and_then(|s| serde_json::from_str(&s).ok()),
        status: r.get(12)?,
        create_time: r.get(13)?,
        update_time: r.get(14)?,
    })
}

pub(super) fn label_from_row(r: &Row<'_>) -> rusqlite::Result<LabelDef> {
    let property: String = r.get(3)?;
    let attributes: Option<String> = r.get(4)?;
    Ok(LabelDef {
        id: r.get(0)?,
        name: r.get(1)?,
        label_type: LabelType::from_code(r.get(2)?).ok_or_else(|| bad_row("label type"))?,
        property: parse_map(&property),
        attributes: attributes.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

// Lookups by sample id write `+s.dataset_id`: the unary plus keeps SQLite's planner (which has
// no statistics) from scanning a dataset through `samples_by_dataset` instead of using the unique
// index on `id`, a scan that costs O(dataset size) per lookup.
pub(super) const SAMPLE_COLUMNS: &str = "s.seq, s.id, s.dataset_id, s.name, s.sample_type, s.source, s.blob_sha256, s.content_type, s.size, s.text_len, s.metadata, s.sample_usage, s.status, s.sample_time, s.update_time, s.version";

pub(super) fn sample_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, SampleRecord)> {
    let metadata: String = r.get(10)?;
    let status: String = r.get(12)?;
    Ok((
        r.get(0)?,
        SampleRecord {
            id: r.get(1)?,
            dataset_id: r.get(2)?,
            name: r.get(3)?,
            sample_type: SampleType::from_code(r.get(4)?).ok_or_else(|| bad_row("sample_type"))?,
            source: r.get(5)?,
            blob_sha256: r.get(6)?,
            content_type: r.get(7)?,
            size: r.get(8)?,
            text_len: r.get(9)?,
            metadata: parse_map(&metadata),
            sample_usage: r.get(11)?,
            status: SampleStatus::from_db(&status).ok_or_else(|| bad_row("status"))?,
            sample_time: r.get(13)?,
            update_time: r.get(14)?,
            version: r.get(15)?,
            labels: Vec::new(),
        },
    ))
}

/// Loads the labels of the given samples (by `seq`) in one query and attaches them.
pub(super) fn attach_labels(conn: &Connection, rows: &mut [(i64, SampleRecord)]) -> rusqlite::Result<()> {
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    let mut by_seq = load_placed_labels(conn, "sample_labels", "sample_seq", &seqs)?;
    for (seq, sample) in rows.iter_mut() {
        sample.labels = by_seq.remove(seq).unwrap_or_default();
    }
    Ok(())
}

/// Loads the placed labels of `keys` from a label table (`sample_labels` by `sample_seq`, or
/// `task_copy_labels` by `copy_id`) in one query, each key's labels in their order.
pub(super) fn load_placed_labels(
    conn: &Connection,
    table: &str,
    key: &str,
    keys: &[i64],
) -> rusqlite::Result<HashMap<i64, Vec<PlacedLabel>>> {
    let mut out: HashMap<i64, Vec<PlacedLabel>> = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT x.{key}, x.label_id, l.name, l.type, x.instance_id, x.property, x.score, x.annotated_by
         FROM {table} x JOIN labels l ON l.id = x.label_id
         WHERE x.{key} IN ({}) ORDER BY x.{key}, x.ordinal",
        vec!["?"; keys.len()].join(",")
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut q = stmt.query(params_from_iter(keys.iter()))?;
    while let Some(r) = q.next()? {
        let property: String = r.get(5)?;
        let placed = PlacedLabel {
            label_id: r.get(1)?,
            name: r.get(2)?,
            label_type: LabelType::from_code(r.get(3)?).ok_or_else(|| bad_row("label type"))?,
            instance_id: r.get(4)?,
            property: parse_map(&property),
            score: r.get(6)?,
            annotated_by: r.get(7)?,
        };
        out.entry(r.get(0)?).or_default().push(placed);
    }
    Ok(out)
}

/// The WHERE clause of a sample list over `samples s`; `?1` is the dataset id, further values
/// are pushed onto `args`. Label ids and states are integers and fixed strings, inlined.
pub(super) fn sample_filter(q: &SampleQuery, args: &mut Vec<Box<dyn ToSql>>) -> String {
    let mut filter = String::from("s.dataset_id = ?1");
    if let Some(statuses) = &q.statuses {
        let list = statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        filter.push_str(&format!(" AND s.status IN ({list})"));
    }
    if let Some(t) = q.sample_type {
        args.push(Box::new(t.code()));
        filter.push_str(&format!(" AND s.sample_type = ?{}", args.len()));
    }
    if let Some(name) = &q.name {
        args.push(Box::new(name.clone()));
        filter.push_str(&format!(" AND s.name = ?{}", args.len()));
    }
    for group in &q.label_groups {
        filter.push_str(&label_group_clause(group, "sample_labels", "sample_seq", "s.seq"));
    }
    filter
}

/// ` AND EXISTS (...)` matching rows of `table` whose `key` is `outer` and whose label is in the
/// group; an empty group matches nothing.
pub(super) fn label_group_clause(group: &[i64], table: &str, key: &str, outer: &str) -> String {
    if group.is_empty() {
        return " AND 0 = 1".to_string();
    }
    let ids = group.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    format!(" AND EXISTS (SELECT 1 FROM {table} x WHERE x.{key} = {outer} AND x.label_id IN ({ids}))")
}

pub(super) fn workforce_from_row(r: &Row<'_>) -> rusqlite::Result<WorkforceRecord> {
    Ok(WorkforceRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        worker_count: r.get::<_, i64>(4)? as u64,
        create_time: r.get(5)?,
        update_time: r.get(6)?,
    })
}

/// Loads samples of a dataset by public id (with their `seq`, without labels), in the order of
/// `ids`, skipping ids that do not exist.
pub(super) fn load_samples_by_id(
    c: &Connection,
    dataset_id: &str,
    ids: &[String],
) -> rusqlite::Result<Vec<(i64, SampleRecord)>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE +s.dataset_id = ?1 AND s.id = ?2"
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        if let Some(row) = stmt.query_row(params![dataset_id, id], sample_from_row).optional()? {
            out.push(row);
        }
    }
    Ok(out)
}

pub(super) const WORKER_COLUMNS: &str =
    "w.id, w.workforce_id, w.user_id, u.email, w.role, w.description, w.create_time, w.update_time";

pub(super) fn worker_from_row(r: &Row<'_>) -> rusqlite::Result<WorkerRecord> {
    Ok(WorkerRecord {
        id: r.get(0)?,
        workforce_id: r.get(1)?,
        user_id: r.get(2)?,
        email: r.get(3)?,
        role: Role::from_code(r.get(4)?).ok_or_else(|| bad_row("role"))?,
        description: r.get(5)?,
        create_time: r.get(6)?,
        update_time: r.get(7)?,
    })
}

pub(super) const TASK_COLUMNS: &str = "id, dataset_id, name, description, status, repetition, workforces_config, sample_conditions, synchronize_data, synchronize_auto_labeling_data, auto_sync_dataset, data_sync_type, create_time, update_time";

pub(super) fn task_from_row(r: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    let config: String = r.get(6)?;
    let conditions: Option<String> = r.get(7)?;
    Ok(TaskRecord {
        id: r.get(0)?,
        dataset_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        status: r.get(4)?,
        repetition: r.get(5)?,
        workforces_config: serde_json::from_str(&config).unwrap_or(Value::Object(Map::new())),
        sample_conditions: conditions.and_then(|c| serde_json::from_str(&c).ok()),
        synchronize_data: r.get(8)?,
        synchronize_auto_labeling_data: r.get(9)?,
        auto_sync_dataset: r.get(10)?,
        data_sync_type: r.get(11)?,
        create_time: r.get(12)?,
        update_time: r.get(13)?,
    })
}

/// Loads copies (without labels) by a WHERE clause over `task_copies c`.
pub(super) const COPY_COLUMNS: &str =
    "c.id, c.worker_id, c.state, c.version, c.metadata, c.sample_usage, c.update_time";

pub(super) fn copy_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<CopyRecord> {
    let metadata: Option<String> = r.get(at + 4)?;
    Ok(CopyRecord {
        id: r.get(at)?,
        worker_id: r.get(at + 1)?,
        state: r.get(at + 2)?,
        version: r.get(at + 3)?,
        labels: Vec::new(),
        metadata: metadata.map(|m| parse_map(&m)),
        sample_usage: r.get(at + 5)?,
        update_time: r.get(at + 6)?,
    })
}

/// Attaches their labels to copies, in one query.
pub(super) fn attach_copy_labels(conn: &Connection, copies: &mut [&mut CopyRecord]) -> rusqlite::Result<()> {
    let ids: Vec<i64> = copies.iter().map(|c| c.id).collect();
    let mut by_copy = load_placed_labels(conn, "task_copy_labels", "copy_id", &ids)?;
    for copy in copies.iter_mut() {
        copy.labels = by_copy.remove(&copy.id).unwrap_or_default();
    }
    Ok(())
}
