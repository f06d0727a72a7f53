//! DOC

use super::*;

#[async_trait]
impl SampleStore for SqliteStore {
    async fn find_sample_names(&self, dataset_id: &str, names: &[String]) -> Result<HashSet<String>> {
        let (id, names) = (dataset_id.to_string(), names.to_vec());
        self.read(move |c| {
            let mut found = HashSet::new();
            let mut stmt = c.prepare_cached("SELECT 1 FROM samples WHERE dataset_id = ?1 AND name = ?2")?;
            for n in names {
                if stmt.exists(params![id, n])? {
                    found.insert(n);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn insert_samples(&self, samples: &[SampleRecord]) -> Result<()> {
        let samples = samples.to_vec();
        self.write(move |tx| {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO samples (id, dataset_id, name, sample_type, source, blob_sha256, content_type, size, text_len, metadata, sample_usage, status, sample_time, update_time)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(db_err)?;
            let mut lab = tx
                .prepare_cached(
                    "INSERT INTO sample_labels (sample_seq, ordinal, label_id, instance_id, property, score, annotated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db_err)?;
            for s in &samples {
                ins.execute(params![
                    s.id,
                    s.dataset_id,
                    s.name,
                    s.sample_type.code(),
                    s.source,
                    s.blob_sha256,
                    s.content_type,
                    s.size,
                    s.text_len,
                    map_text(&s.metadata),
                    s.sample_usage,
                    s.status.as_str(),
                    s.sample_time,
                    s.update_time
                ])
                .map_err(db_err)?;
                let seq = tx.last_insert_rowid();
                for (i, l) in s.labels.iter().enumerate() {
                    lab.execute(params![seq, i as i64, l.label_id, l.instance_id, map_text(&l.property), l.score, l.annotated_by])
                        .map_err(db_err)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn list_samples(&self, dataset_id: &str, query: &SampleQuery) -> Result<(u64, Vec<SampleRecord>)> {
        let (id, q) = (dataset_id.to_string(), query.clone());
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(id)];
            let filter = sample_filter(&q, &mut args);
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM samples s WHERE {filter}"),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            let dir = if q.ascending { "ASC" } else { "DESC" };
            let sql = format!(
                "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE {filter} ORDER BY s.seq {dir} LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt
                .query_map(params_from_iter(args.iter()), sample_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            attach_labels(c, &mut rows)?;
            Ok((total as u64, rows.into_iter().map(|(_, s)| s).collect()))
        })
        .await
    }

    async fn get_sample(&self, dataset_id: &str, sample_id: &str) -> Result<SampleRecord> {
        let (d, id) = (dataset_id.to_string(), sample_id.to_string());
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    let row = c
                        .query_row(
                            &format!("SELECT {SAMPLE_COLUMNS} FROM samples s WHERE +s.dataset_id = ?1 AND s.id = ?2"),
                            params![d, id],
                            sample_from_row,
                        )
                        .optional()?;
                    match row {
                        None => Ok(None),
                        Some(r) => {
                            let mut rows = vec![r];
                            attach_labels(c, &mut rows)?;
                            Ok(rows.pop().map(|(_, s)| s))
                        }
                    }
                }
            })
            .await?;
        found.ok_or_else(|| Error::from(StoreError::not_found(Entity::Sample, &*id)))
    }

    async fn delete_samples(&self, dataset_id: &str, ids: &[String]) -> Result<Vec<DeletedSample>> {
        let (d, ids) = (dataset_id.to_string(), ids.to_vec());
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached("DELETE FROM samples WHERE +dataset_id = ?1 AND id = ?2 RETURNING id, blob_sha256")
                .map_err(db_err)?;
            let mut deleted = Vec::new();
            for id in ids {
                if let Some(row) = stmt
                    .query_row(params![d, id], |r| {
                        Ok(DeletedSample {
                            id: r.get(0)?,
                            blob_sha256: r.get(1)?,
                        })
                    })
                    .optional()
                    .map_err(db_err)?
                {
                    deleted.push(row);
                }
            }
            Ok(deleted)
        })
        .await
    }

    async fn blob_in_use(&self, sha256: &str) -> Result<bool> {
        let sha = sha256.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM samples WHERE blob_sha256 = ?1)",
                [sha],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn load_samples(&self, dataset_id: &str, sample_ids: &[String]) -> Result<Vec<SampleRecord>> {
        let (d, ids) = (dataset_id.to_string(), sample_ids.to_vec());
        self.read(move |c| {
            let mut rows = load_samples_by_id(c, &d, &ids)?;
            attach_labels(c, &mut rows)?;
            Ok(rows.into_iter().map(|(_, s)| s).collect())
        })
        .await
    }
}
