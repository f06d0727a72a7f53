//! DOC

use super::*;

#[async_trait]
impl DatasetStore for SqliteStore {
    async fn insert_dataset(&self, dataset: &DatasetRecord, labels: &[LabelDef]) -> Result<()> {
        let (d, labels) = (dataset.clone(), labels.to_vec());
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO datasets ({DATASET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
                params![
                    d.id,
                    d.project_id,
                    d.name,
                    d.dataset_type.code(),
                    d.description,
                    json_text(&d.data_sources),
                    d.work_path,
                    d.work_path_type,
                    d.data_format,
                    d.workspace_id,
                    d.import_annotations,
                    d.label_format.as_ref().map(json_text),
                    d.status,
                    d.create_time,
                    d.update_time
                ],
            )
            .map_err(db_err)?;
            insert_labels(tx, &d.id, &labels, 0)
        })
        .await
    }

    async fn get_dataset(&self, project_id: &str, dataset_id: &str) -> Result<DatasetRecord> {
        let (p, id) = (project_id.to_string(), dataset_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row(
                        &format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE project_id = ?1 AND id = ?2"),
                        params![p, id],
                        dataset_from_row,
                    )
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| Error::from(StoreError::not_found(Entity::Dataset, &*id)))
    }

    async fn list_datasets(&self, project_id: &str, query: &DatasetQuery) -> Result<(u64, Vec<DatasetRecord>)> {
        let (p, q) = (project_id.to_string(), query.clone());
        self.read(move |c| {
            let mut filter = String::from("project_id = ?1");
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(p)];
            if let Some(t) = q.dataset_type {
                args.push(Box::new(t.code()));
                filter.push_str(&format!(" AND dataset_type = ?{}", args.len()));
            }
            if let Some(s) = &q.search_content {
                let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                args.push(Box::new(format!("%{escaped}%")));
                filter.push_str(&format!(" AND name LIKE ?{} ESCAPE '\\'", args.len()));
            }
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM datasets WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let key = if q.sort_by_name { "name" } else { "create_time" };
            let sql = format!(
                "SELECT {DATASET_COLUMNS} FROM datasets WHERE {filter} ORDER BY {key} {dir}, id {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), dataset_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn sample_counts(&self, dataset_ids: &[String]) -> Result<HashMap<String, SampleCounts>> {
        let ids = dataset_ids.to_vec();
        self.read(move |c| {
            let mut out: HashMap<String, SampleCounts> = ids.iter().map(|i| (i.clone(), SampleCounts::default())).collect();
            if ids.is_empty() {
                return Ok(out);
            }
            let marks = vec!["?"; ids.len()].join(",");
            let mut stmt = c.prepare(&format!(
                "SELECT dataset_id, status, COUNT(*) FROM samples WHERE dataset_id IN ({marks}) GROUP BY dataset_id, status"
            ))?;
            let mut q = stmt.query(params_from_iter(ids.iter()))?;
            while let Some(r) = q.next()? {
                let (id, status, n): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                let counts = out.entry(id).or_default();
                counts.total += n as u64;
                match SampleStatus::from_db(&status) {
                    Some(SampleStatus::UnAnnotation) => counts.un_annotation += n as u64,
                    Some(SampleStatus::ManualAnnotation) => counts.manual_annotation += n as u64,
                    Some(SampleStatus::AutoAnnotation) => counts.auto_annotation += n as u64,
                    None => return Err(bad_row("status")),
                }
            }
            Ok(out)
        })
        .await
    }

    async fn update_dataset(&self, dataset_id: &str, change: &DatasetChange) -> Result<Vec<DeletedSample>> {
        let (id, ch) = (dataset_id.to_string(), change.clone());
        self.write(move |tx| {
            let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM datasets WHERE id = ?1)", [&id], |r| r.get(0)).map_err(db_err)?;
            if !exists {
                return Err(Error::from(StoreError::not_found(Entity::Dataset, &*id)));
            }
            let mut deleted = Vec::new();
            if !ch.delete_labels.is_empty() {
                let ids = ch.delete_labels.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
                if ch.delete_policy >= 1 {
                    let mut stmt = tx
                        .prepare(&format!(
                            "DELETE FROM samples WHERE dataset_id = ?1
                               AND EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq AND sl.label_id IN ({ids}))
                               AND NOT EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq AND sl.label_id NOT IN ({ids}))
                             RETURNING id, blob_sha256"
                        ))
                        .map_err(db_err)?;
                    deleted = stmt
                        .query_map([&id], |r| Ok(DeletedSample { id: r.get(0)?, blob_sha256: r.get(1)? }))
                        .map_err(db_err)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map_err(db_err)?;
                }
                tx.execute(&format!("DELETE FROM labels WHERE dataset_id = ?1 AND id IN ({ids})"), [&id]).map_err(db_err)?;
                tx.execute(
                    "UPDATE samples SET status = 'UN_ANNOTATION' WHERE dataset_id = ?1 AND status <> 'UN_ANNOTATION'
                       AND NOT EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_seq = samples.seq)",
                    [&id],
                )
                .map_err(db_err)?;
            }
            for l in &ch.update_labels {
                let attributes = l.attributes.as_ref().map(|a| serde_json::to_string(a).unwrap_or_else(|_| "[]".into()));
                tx.execute(
                    "UPDATE labels SET name = ?1, type = ?2, property = ?3, attributes = ?4 WHERE id = ?5 AND dataset_id = ?6",
                    params![l.name, l.label_type.code(), map_text(&l.property), attributes, l.id, id],
                )
                .map_err(db_err)?;
            }
            if !ch.add_labels.is_empty() {
                let next: i64 = tx
                    .query_row("SELECT COALESCE(MAX(position) + 1, 0) FROM labels WHERE dataset_id = ?1", [&id], |r| r.get(0))
                    .map_err(db_err)?;
                insert_labels(tx, &id, &ch.add_labels, next)?;
            }
            tx.execute(
                "UPDATE datasets SET name = COALESCE(?1, name), description = COALESCE(?2, description), update_time = ?3 WHERE id = ?4",
                params![ch.name, ch.description, ch.update_time, id],
            )
            .map_err(db_err)?;
            Ok(deleted)
        })
        .await
    }

    async fn delete_dataset(&self, project_id: &str, dataset_id: &str) -> Result<()> {
        let (p, id) = (project_id.to_string(), dataset_id.to_string());
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM datasets WHERE project_id = ?1 AND id = ?2", params![p, id])
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::from(StoreError::not_found(Entity::Dataset, &*id)));
            }
            Ok(())
        })
        .await
    }

    async fn list_labels(&self, dataset_id: &str) -> Result<Vec<LabelDef>> {
        let id = dataset_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, type, property, attributes FROM labels WHERE dataset_id = ?1 ORDER BY position, id",
            )?;
            let rows = stmt
                .query_map([id], label_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn label_usage(&self, dataset_id: &str) -> Result<Vec<LabelUsage>> {
        let id = dataset_id.to_string();
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT l.id, COUNT(sl.label_id), COUNT(DISTINCT sl.sample_seq)
                 FROM labels l JOIN sample_labels sl ON sl.label_id = l.id
                 WHERE l.dataset_id = ?1 GROUP BY l.id",
            )?;
            let rows = stmt
                .query_map([id], |r| {
                    Ok(LabelUsage {
                        label_id: r.get(0)?,
                        count: r.get::<_, i64>(1)? as u64,
                        sample_count: r.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}
