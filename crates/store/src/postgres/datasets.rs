//! DOC

use super::*;

#[async_trait]
impl DatasetStore for PgStore {
    async fn insert_dataset(&self, dataset: &DatasetRecord, labels: &[LabelDef]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        tx.execute(
            "INSERT INTO datasets (id, project_id, name, dataset_type, description, data_sources,
                                   work_path, work_path_type, data_format, workspace_id,
                                   import_annotations, label_format, status, create_time,
                                   update_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &dataset.id,
                &dataset.project_id,
                &dataset.name,
                &dataset.dataset_type.code(),
                &dataset.description,
                &dataset.data_sources,
                &dataset.work_path,
                &dataset.work_path_type,
                &dataset.data_format,
                &dataset.workspace_id,
                &dataset.import_annotations,
                &dataset.label_format,
                &dataset.status,
                &dataset.create_time,
                &dataset.update_time,
            ],
        )
        .await
        .map_err(sql("insert dataset"))?;
        insert_labels(&tx, &dataset.id, labels, 0).await?;
        tx.commit().await.map_err(sql("commit insert dataset"))
    }

    async fn get_dataset(&self, project_id: &str, dataset_id: &str) -> Result<DatasetRecord> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE id = $1 AND project_id = $2"),
                &[&dataset_id, &project_id],
            )
            .await
            .map_err(sql("get dataset"))?
            .ok_or_else(|| Error::from(StoreError::not_found(Entity::Dataset, &*dataset_id)))?;
        dataset_from_row(&row)
    }

    async fn list_datasets(&self, project_id: &str, query: &DatasetQuery) -> Result<(u64, Vec<DatasetRecord>)> {
        let mut params = Params::default();
        let mut filter = format!("project_id = {}", params.push(project_id.to_string()));
        if let Some(dataset_type) = query.dataset_type {
            filter += &format!(" AND dataset_type = {}", params.push(dataset_type.code()));
        }
        if let Some(search) = query.search_content.as_deref().filter(|s| !s.is_empty()) {
            filter += &format!(" AND name ILIKE {} ESCAPE '\\'", params.push(contains_pattern(search)));
        }
        let direction = if query.ascending { "ASC" } else { "DESC" };
        // Names sort by code point, as in SQLite, whatever the database's collation.
        let key = if query.sort_by_name {
            "name COLLATE \"C\""
        } else {
            "create_time"
        };
        let count_sql = format!("SELECT count(*) AS total FROM datasets WHERE {filter}");
        let (limit, offset) = page(query.offset, query.limit);
        let total_params = params.0.len();
        let page_sql = format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE {filter}
             ORDER BY {key} {direction}, id COLLATE \"C\" {direction}
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );

        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(sql("begin"))?;
        let refs = params.refs();
        let total_row = tx
            .query_one(&count_sql, &refs[..total_params])
            .await
            .map_err(sql("count datasets"))?;
        let rows = tx.query(&page_sql, &refs).await.map_err(sql("list datasets"))?;
        tx.commit().await.map_err(sql("commit list datasets"))?;
        let total = count(col(&total_row, "total")?);
        let datasets = rows.iter().map(dataset_from_row).collect::<Result<_>>()?;
        Ok((total, datasets))
    }

    async fn sample_counts(&self, dataset_ids: &[String]) -> Result<HashMap<String, SampleCounts>> {
        let mut counts: HashMap<String, SampleCounts> = dataset_ids
            .iter()
            .map(|id| (id.clone(), SampleCounts::default()))
            .collect();
        if dataset_ids.is_empty() {
            return Ok(counts);
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT dataset_id, status, count(*) AS n
                 FROM samples
                 WHERE dataset_id = ANY($1)
                 GROUP BY dataset_id, status",
                &[&dataset_ids],
            )
            .await
            .map_err(sql("count samples"))?;
        for row in &rows {
            let dataset_id: String = col(row, "dataset_id")?;
            let status: String = col(row, "status")?;
            let n = count(col(row, "n")?);
            let entry = counts.entry(dataset_id).or_default();
            entry.total += n;
            match SampleStatus::from_db(&status) {
                Some(SampleStatus::UnAnnotation) => entry.un_annotation += n,
                Some(SampleStatus::ManualAnnotation) => entry.manual_annotation += n,
                Some(SampleStatus::AutoAnnotation) => entry.auto_annotation += n,
                None => return Err(Error::internal(format!("stored sample status {status:?} is unknown"))),
            }
        }
        Ok(counts)
    }

    async fn update_dataset(&self, dataset_id: &str, change: &DatasetChange) -> Result<Vec<DeletedSample>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        // Locks the dataset row: concurrent changes of one dataset (label positions) queue up.
        tx.query_opt("SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE", &[&dataset_id])
            .await
            .map_err(sql("lock dataset"))?
            .ok_or_else(|| Error::from(StoreError::not_found(Entity::Dataset, &*dataset_id)))?;

        let mut deleted = Vec::new();
        if !change.delete_labels.is_empty() {
            // (1) Samples whose every label is being deleted go with them.
            if change.delete_policy >= 1 {
                let rows = tx
                    .query(
                        "WITH gone AS (
                             DELETE FROM samples s
                             WHERE s.dataset_id = $1
                               AND EXISTS (SELECT 1 FROM sample_labels sl
                                           WHERE sl.sample_seq = s.seq
                                             AND sl.label_id = ANY($2))
                               AND NOT EXISTS (SELECT 1 FROM sample_labels sl
                                               WHERE sl.sample_seq = s.seq
                                                 AND sl.label_id <> ALL($2))
                             RETURNING s.seq, s.id, s.blob_sha256
                         )
                         SELECT id, blob_sha256 FROM gone ORDER BY seq",
                        &[&dataset_id, &change.delete_labels],
                    )
                    .await
                    .map_err(sql("delete samples of deleted labels"))?;
                deleted = rows.iter().map(deleted_from_row).collect::<Result<_>>()?;
            }
            // (2) The labels; their sample labels cascade.
            tx.execute(
                "DELETE FROM labels WHERE dataset_id = $1 AND id = ANY($2)",
                &[&dataset_id, &change.delete_labels],
            )
            .await
            .map_err(sql("delete labels"))?;
        }

        // (3) Rewritten labels.
        for label in &change.update_labels {
            tx.execute(
                "UPDATE labels SET name = $3, type = $4, property = $5, attributes = $6
                 WHERE id = $1 AND dataset_id = $2",
                &[
                    &label.id,
                    &dataset_id,
                    &label.name,
                    &label.label_type.code(),
                    &Json(&label.property),
                    &label.attributes.as_ref().map(Json),
                ],
            )
            .await
            .map_err(sql("update label"))?;
        }

        // (4) New labels after the existing ones.
        if !change.add_labels.is_empty() {
            let row = tx
                .query_one(
                    "SELECT COALESCE(MAX(position) + 1, 0) AS next
                     FROM labels WHERE dataset_id = $1",
                    &[&dataset_id],
                )
                .await
                .map_err(sql("next label position"))?;
            let next: i32 = col(&row, "next")?;
            insert_labels(&tx, dataset_id, &change.add_labels, next).await?;
        }

        // (5) Samples left without labels are unannotated again.
        if !change.delete_labels.is_empty() {
            tx.execute(
                "UPDATE samples SET status = 'UN_ANNOTATION'
                 WHERE dataset_id = $1
                   AND status <> 'UN_ANNOTATION'
                   AND NOT EXISTS (SELECT 1 FROM sample_labels WHERE sample_seq = samples.seq)",
                &[&dataset_id],
            )
            .await
            .map_err(sql("reset unlabeled samples"))?;
        }

        // (6) The dataset's own fields.
        tx.execute(
            "UPDATE datasets
             SET name = COALESCE($2, name),
                 description = COALESCE($3, description),
                 update_time = $4
             WHERE id = $1",
            &[&dataset_id, &change.name, &change.description, &change.update_time],
        )
        .await
        .map_err(sql("update dataset"))?;
        tx.commit().await.map_err(sql("commit update dataset"))?;
        Ok(deleted)
    }

    async fn delete_dataset(&self, project_id: &str, dataset_id: &str) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM datasets WHERE id = $1 AND project_id = $2",
                &[&dataset_id, &project_id],
            )
            .await
            .map_err(sql("delete dataset"))?;
        if n == 0 {
            return Err(Error::from(StoreError::not_found(Entity::Dataset, &*dataset_id)));
        }
        Ok(())
    }

    async fn list_labels(&self, dataset_id: &str) -> Result<Vec<LabelDef>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, type, property, attributes
                 FROM labels
                 WHERE dataset_id = $1
                 ORDER BY position, id",
                &[&dataset_id],
            )
            .await
            .map_err(sql("list labels"))?;
        rows.iter().map(label_from_row).collect()
    }

    async fn label_usage(&self, dataset_id: &str) -> Result<Vec<LabelUsage>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT sl.label_id, count(*) AS n, count(DISTINCT sl.sample_seq) AS samples
                 FROM sample_labels sl
                 JOIN labels l ON l.id = sl.label_id
                 WHERE l.dataset_id = $1
                 GROUP BY sl.label_id
                 ORDER BY sl.label_id",
                &[&dataset_id],
            )
            .await
            .map_err(sql("label usage"))?;
        rows.iter()
            .map(|row| {
                Ok(LabelUsage {
                    label_id: col(row, "label_id")?,
                    count: count(col(row, "n")?),
                    sample_count: count(col(row, "samples")?),
                })
            })
            .collect()
    }
}
