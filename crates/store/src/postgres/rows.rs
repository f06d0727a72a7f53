//! DOC

use super::*;

// ---- rows ----

pub(super) fn col<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> Result<T> {
    row.try_get(name)
        .map_err(|e| Error::internal(format!("reading column {name}: {e}")))
}

pub(super) fn json_object(value: Value, what: &str) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Error::internal(format!("stored {what} is not a JSON object: {other}"))),
    }
}

pub(super) fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(super) fn project_from_row(row: &Row) -> Result<Project> {
    Ok(Project {
        id: col(row, "id")?,
        name: col(row, "name")?,
        create_time: col(row, "create_time")?,
    })
}

pub(super) const ACCESS_KEY_COLUMNS: &str =
    "k.access_key, k.user_id, k.project_id AS key_project_id, k.sealed_secret, k.description, k.security_token_hash, k.expires_at, k.create_time AS key_create_time";

pub(super) fn access_key_from_row(row: &Row) -> Result<AccessKeyRecord> {
    Ok(AccessKeyRecord {
        access_key: col(row, "access_key")?,
        user_id: col(row, "user_id")?,
        project_id: col(row, "key_project_id")?,
        sealed_secret: col(row, "sealed_secret")?,
        description: col(row, "description")?,
        security_token_hash: col(row, "security_token_hash")?,
        expires_at: col(row, "expires_at")?,
        create_time: col(row, "key_create_time")?,
    })
}

pub(super) fn role(code: i32) -> Result<Role> {
    Role::from_code(i64::from(code)).ok_or_else(|| Error::internal(format!("stored role {code} is unknown")))
}

pub(super) fn user_from_row(row: &Row) -> Result<User> {
    Ok(User {
        id: col(row, "id")?,
        project_id: col(row, "project_id")?,
        email: col(row, "email")?,
        role: role(col(row, "role")?)?,
        create_time: col(row, "create_time")?,
    })
}

pub(super) fn dataset_from_row(row: &Row) -> Result<DatasetRecord> {
    let code: i32 = col(row, "dataset_type")?;
    Ok(DatasetRecord {
        id: col(row, "id")?,
        project_id: col(row, "project_id")?,
        name: col(row, "name")?,
        dataset_type: DatasetType::from_code(i64::from(code))
            .ok_or_else(|| Error::internal(format!("stored dataset_type {code} is unknown")))?,
        description: col(row, "description")?,
        data_sources: col(row, "data_sources")?,
        work_path: col(row, "work_path")?,
        work_path_type: col(row, "work_path_type")?,
        data_format: col(row, "data_format")?,
        workspace_id: col(row, "workspace_id")?,
        import_annotations: col(row, "import_annotations")?,
        label_format: col(row, "label_format")?,
        status: col(row, "status")?,
        create_time: col(row, "create_time")?,
        update_time: col(row, "update_time")?,
    })
}

pub(super) fn label_type(code: i32) -> Result<LabelType> {
    LabelType::from_code(i64::from(code)).ok_or_else(|| Error::internal(format!("stored label type {code} is unknown")))
}

pub(super) fn label_from_row(row: &Row) -> Result<LabelDef> {
    let attributes = match col::<Option<Value>>(row, "attributes")? {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            serde_json::from_value::<Vec<LabelAttribute>>(value)
                .map_err(|e| Error::internal(format!("stored label attributes: {e}")))?,
        ),
    };
    Ok(LabelDef {
        id: col(row, "id")?,
        name: col(row, "name")?,
        label_type: label_type(col(row, "type")?)?,
        property: json_object(col(row, "property")?, "label property")?,
        attributes,
    })
}

/// A sample row (selected with `SAMPLE_COLUMNS`) and its `seq`; labels are filled later.
pub(super) fn sample_from_row(row: &Row) -> Result<(i64, SampleRecord)> {
    let type_code: i32 = col(row, "sample_type")?;
    let status: String = col(row, "status")?;
    let sample = SampleRecord {
        id: col(row, "id")?,
        dataset_id: col(row, "dataset_id")?,
        name: col(row, "name")?,
        sample_type: SampleType::from_code(i64::from(type_code))
            .ok_or_else(|| Error::internal(format!("stored sample_type {type_code} is unknown")))?,
        source: col(row, "source")?,
        blob_sha256: col(row, "blob_sha256")?,
        content_type: col(row, "content_type")?,
        size: col(row, "size")?,
        text_len: col(row, "text_len")?,
        metadata: json_object(col(row, "metadata")?, "sample metadata")?,
        sample_usage: col(row, "sample_usage")?,
        status: SampleStatus::from_db(&status)
            .ok_or_else(|| Error::internal(format!("stored sample status {status:?} is unknown")))?,
        sample_time: col(row, "sample_time")?,
        update_time: col(row, "update_time")?,
        version: col(row, "version")?,
        labels: Vec::new(),
    };
    Ok((col(row, "seq")?, sample))
}

pub(super) fn deleted_from_row(row: &Row) -> Result<DeletedSample> {
    Ok(DeletedSample {
        id: col(row, "id")?,
        blob_sha256: col(row, "blob_sha256")?,
    })
}

/// Loads the labels of the samples `seqs` in one query and puts them on the samples, in order.
pub(super) async fn attach_labels<C: GenericClient>(
    db: &C,
    samples: Vec<(i64, SampleRecord)>,
) -> Result<Vec<SampleRecord>> {
    let seqs: Vec<i64> = samples.iter().map(|(seq, _)| *seq).collect();
    let mut by_seq = load_placed_labels(db, "sample_labels", "sample_seq", &seqs).await?;
    Ok(samples
        .into_iter()
        .map(|(seq, mut sample)| {
            sample.labels = by_seq.remove(&seq).unwrap_or_default();
            sample
        })
        .collect())
}

/// Inserts label definitions with positions `first_position..`, one prepared statement reused
/// (label sets are small; a row at a time names the label a unique violation is about).
// ---- team labeling: constraints, errors, rows ----

pub(super) const WORKERS_USER_KEY: &str = "workers_workforce_id_user_id_key";

/// A member with the email of its user, over `workers w JOIN users u`; aliased so the columns
/// can sit next to a task's.
pub(super) const WORKER_COLUMNS: &str = "w.id AS worker_id, w.workforce_id AS worker_workforce_id, \
     w.user_id AS worker_user_id, u.email AS worker_email, w.role AS worker_role, \
     w.description AS worker_description, w.create_time AS worker_create_time, \
     w.update_time AS worker_update_time";

/// A task over `workforce_tasks t`.
pub(super) const TASK_COLUMNS: &str = "t.id, t.dataset_id, t.name, t.description, t.status, t.repetition, \
     t.workforces_config, t.sample_conditions, t.synchronize_data, \
     t.synchronize_auto_labeling_data, t.auto_sync_dataset, t.data_sync_type, t.create_time, \
     t.update_time";

/// A copy (without labels) over `task_copies c`; aliased so the columns can sit next to a
/// sample's.
pub(super) const COPY_COLUMNS: &str = "c.id AS copy_id, c.worker_id AS copy_worker_id, c.state AS copy_state, \
     c.version AS copy_version, c.metadata AS copy_metadata, c.sample_usage AS copy_sample_usage, \
     c.update_time AS copy_update_time";

/// A workforce with its member count, over `workforces f`.
pub(super) const WORKFORCE_COLUMNS: &str = "f.id, f.project_id, f.name, f.description, \
     (SELECT count(*) FROM workers w WHERE w.workforce_id = f.id) AS worker_count, \
     f.create_time, f.update_time";

pub(super) const HISTORY_COLUMNS: &str = "id, dataset_id, sample_id, task_id, worker_id, actor_user_id, actor_email, \
     change_time, state_before, state_after, labels_before, labels_after::jsonb AS labels_after, \
     version_after";

pub(super) fn workforce_from_row(row: &Row) -> Result<WorkforceRecord> {
    Ok(WorkforceRecord {
        id: col(row, "id")?,
        project_id: col(row, "project_id")?,
        name: col(row, "name")?,
        description: col(row, "description")?,
        worker_count: count(col(row, "worker_count")?),
        create_time: col(row, "create_time")?,
        update_time: col(row, "update_time")?,
    })
}

/// A member selected with `WORKER_COLUMNS`.
pub(super) fn worker_from_row(row: &Row) -> Result<WorkerRecord> {
    Ok(WorkerRecord {
        id: col(row, "worker_id")?,
        workforce_id: col(row, "worker_workforce_id")?,
        user_id: col(row, "worker_user_id")?,
        email: col(row, "worker_email")?,
        role: role(col(row, "worker_role")?)?,
        description: col(row, "worker_description")?,
        create_time: col(row, "worker_create_time")?,
        update_time: col(row, "worker_update_time")?,
    })
}

/// A task selected with `TASK_COLUMNS`.
pub(super) fn task_from_row(row: &Row) -> Result<TaskRecord> {
    Ok(TaskRecord {
        id: col(row, "id")?,
        dataset_id: col(row, "dataset_id")?,
        name: col(row, "name")?,
        description: col(row, "description")?,
        status: col(row, "status")?,
        repetition: col(row, "repetition")?,
        workforces_config: col(row, "workforces_config")?,
        sample_conditions: col(row, "sample_conditions")?,
        synchronize_data: col(row, "synchronize_data")?,
        synchronize_auto_labeling_data: col(row, "synchronize_auto_labeling_data")?,
        auto_sync_dataset: col(row, "auto_sync_dataset")?,
        data_sync_type: col(row, "data_sync_type")?,
        create_time: col(row, "create_time")?,
        update_time: col(row, "update_time")?,
    })
}

/// A copy selected with `COPY_COLUMNS`; labels are filled later.
pub(super) fn copy_from_row(row: &Row) -> Result<CopyRecord> {
    let metadata: Option<Value> = col(row, "copy_metadata")?;
    Ok(CopyRecord {
        id: col(row, "copy_id")?,
        worker_id: col(row, "copy_worker_id")?,
        state: col(row, "copy_state")?,
        version: col(row, "copy_version")?,
        labels: Vec::new(),
        metadata: metadata.map(|m| json_object(m, "copy metadata")).transpose()?,
        sample_usage: col(row, "copy_sample_usage")?,
        update_time: col(row, "copy_update_time")?,
    })
}

/// A history row selected with `HISTORY_COLUMNS`.
pub(super) fn history_from_row(row: &Row) -> Result<HistoryRecord> {
    Ok(HistoryRecord {
        id: col(row, "id")?,
        dataset_id: col(row, "dataset_id")?,
        sample_id: col(row, "sample_id")?,
        task_id: col(row, "task_id")?,
        worker_id: col(row, "worker_id")?,
        actor_user_id: col(row, "actor_user_id")?,
        actor_email: col(row, "actor_email")?,
        change_time: col(row, "change_time")?,
        state_before: col(row, "state_before")?,
        state_after: col(row, "state_after")?,
        labels_before: col(row, "labels_before")?,
        labels_after: col(row, "labels_after")?,
        version_after: col(row, "version_after")?,
    })
}

pub(super) fn usage_from_row(row: &Row) -> Result<LabelUsage> {
    Ok(LabelUsage {
        label_id: col(row, "label_id")?,
        count: count(col(row, "n")?),
        sample_count: count(col(row, "samples")?),
    })
}

/// Each id once, in first-seen order.
pub(super) fn distinct(ids: &[String]) -> Vec<&str> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect()
}

/// Loads samples of a dataset by public id (with their `seq`, without labels), in the order of
/// `ids`, each once, skipping ids that do not exist.
pub(super) async fn load_samples_by_id<C: GenericClient>(
    db: &C,
    dataset_id: &str,
    ids: &[String],
) -> Result<Vec<(i64, SampleRecord)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = distinct(ids);
    let rows = db
        .query(
            &format!(
                "SELECT {SAMPLE_COLUMNS}
                 FROM UNNEST($2::text[]) WITH ORDINALITY AS wanted(id, ord)
                 JOIN samples s ON s.id = wanted.id AND s.dataset_id = $1
                 ORDER BY wanted.ord"
            ),
            &[&dataset_id, &ids],
        )
        .await
        .map_err(sql("load samples"))?;
    rows.iter().map(sample_from_row).collect()
}

/// Loads the placed labels of `keys` from a label table (`sample_labels` by `sample_seq`, or
/// `task_copy_labels` by `copy_id`) in one query, each key's labels in their order.
pub(super) async fn load_placed_labels<C: GenericClient>(
    db: &C,
    table: &str,
    key: &str,
    keys: &[i64],
) -> Result<HashMap<i64, Vec<PlacedLabel>>> {
    let mut out: HashMap<i64, Vec<PlacedLabel>> = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let rows = db
        .query(
            &format!(
                "SELECT x.{key} AS owner, x.label_id, l.name, l.type, x.instance_id, x.property, x.score, x.annotated_by
                 FROM {table} x JOIN labels l ON l.id = x.label_id
                 WHERE x.{key} = ANY($1)
                 ORDER BY x.{key}, x.ordinal"
            ),
            &[&keys],
        )
        .await
        .map_err(sql("load labels"))?;
    for row in &rows {
        let label = PlacedLabel {
            label_id: col(row, "label_id")?,
            name: col(row, "name")?,
            label_type: label_type(col(row, "type")?)?,
            instance_id: col(row, "instance_id")?,
            property: json_object(col(row, "property")?, "label property")?,
            score: col(row, "score")?,
            annotated_by: col(row, "annotated_by")?,
        };
        out.entry(col(row, "owner")?).or_default().push(label);
    }
    Ok(out)
}

/// Loads the labels of `copies` in one query and puts them on the copies, in order.
pub(super) async fn attach_copy_labels<C: GenericClient>(db: &C, copies: &mut [&mut CopyRecord]) -> Result<()> {
    let ids: Vec<i64> = copies.iter().map(|c| c.id).collect();
    let mut by_copy = load_placed_labels(db, "task_copy_labels", "copy_id", &ids).await?;
    for copy in copies.iter_mut() {
        copy.labels = by_copy.remove(&copy.id).unwrap_or_default();
    }
    Ok(())
}

/// The columns of a set of placed labels for an `UNNEST` insert into `sample_labels` or
/// `task_copy_labels`: owner key, ordinal, label, instance, property, score, annotator.
/// share it.
pub(super) fn sample_filter(dataset_id: &str, query: &SampleQuery, params: &mut Params) -> String {
    let mut filter = format!("s.dataset_id = {}", params.push(dataset_id.to_string()));
    if let Some(statuses) = &query.statuses {
        let statuses: Vec<&'static str> = statuses.iter().map(|s| s.as_str()).collect();
        filter += &format!(" AND s.status = ANY({})", params.push(statuses));
    }
    if let Some(sample_type) = query.sample_type {
        filter += &format!(" AND s.sample_type = {}", params.push(sample_type.code()));
    }
    if let Some(name) = &query.name {
        filter += &format!(" AND s.name = {}", params.push(name.clone()));
    }
    for group in &query.label_groups {
        filter += &label_group_clause(group, "sample_labels", "sample_seq", "s.seq", params);
    }
    filter
}

/// ` AND EXISTS (...)` matching rows of `table` whose `key` is `outer` and whose label is in the
/// group; an empty group matches nothing.
pub(super) fn label_group_clause(group: &[i64], table: &str, key: &str, outer: &str, params: &mut Params) -> String {
    if group.is_empty() {
        return " AND FALSE".to_string();
    }
    format!(
        " AND EXISTS (SELECT 1 FROM {table} x WHERE x.{key} = {outer} AND x.label_id = ANY({}))",
        params.push(group.to_vec())
    )
}
