//! DOC

use super::*;

#[async_trait]
impl TeamSampleStore for SqliteStore {
    async fn load_team_samples(
        &self,
        task_id: &str,
        dataset_id: &str,
        sample_ids: &[String],
    ) -> Result<Vec<TeamSample>> {
        let (t, d, ids) = (task_id.to_string(), dataset_id.to_string(), sample_ids.to_vec());
        self.read(move |c| {
            // One query for the samples and their copies in this task.
            let mut unique: Vec<&str> = Vec::with_capacity(ids.len());
            let mut seen = HashSet::new();
            for id in &ids {
                if seen.insert(id.as_str()) {
                    unique.push(id);
                }
            }
            if unique.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM samples s
                 LEFT JOIN task_copies c ON c.sample_seq = s.seq AND c.task_id = ?1
                 WHERE +s.dataset_id = ?2 AND s.id IN ({}) ORDER BY s.seq, c.worker_id",
                vec!["?"; unique.len()].join(",")
            );
            let mut args: Vec<&dyn ToSql> = vec![&t, &d];
            args.extend(unique.iter().map(|id| id as &dyn ToSql));
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query(args.as_slice())?;
            let mut by_id: HashMap<String, TeamSample> = HashMap::new();
            while let Some(r) = rows.next()? {
                let copy_id: Option<i64> = r.get(16)?;
                let (_, sample) = sample_from_row(r)?;
                let entry = by_id.entry(sample.id.clone()).or_insert_with(|| TeamSample {
                    sample,
                    copies: Vec::new(),
                });
                if copy_id.is_some() {
                    entry.copies.push(copy_from_row(r, 16)?);
                }
            }
            let mut out: Vec<TeamSample> = unique.iter().filter_map(|id| by_id.remove(*id)).collect();
            let mut all: Vec<&mut CopyRecord> = out.iter_mut().flat_map(|s| s.copies.iter_mut()).collect();
            attach_copy_labels(c, &mut all)?;
            Ok(out)
        })
        .await
    }

    async fn find_idempotency(&self, project_id: &str, user_id: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        let (p, u, k) = (project_id.to_string(), user_id.to_string(), key.to_string());
        let live_after = teamlabel_core::app::now_ms() - IDEMPOTENCY_TTL_MS;
        self.read(move |c| {
            c.query_row(
                "SELECT request_hash, status, response, create_time FROM idempotency_keys
                 WHERE project_id = ?1 AND user_id = ?2 AND idem_key = ?3 AND create_time > ?4",
                params![p, u, k, live_after],
                |r| {
                    let response: String = r.get(2)?;
                    Ok(IdempotencyRecord {
                        project_id: p.clone(),
                        user_id: u.clone(),
                        key: k.clone(),
                        request_hash: r.get(0)?,
                        status: r.get(1)?,
                        response: serde_json::from_str(&response).unwrap_or(Value::Null),
                        create_time: r.get(3)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn write_copies_with(
        &self,
        writes: &[CopyWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        // Everything is serialized here, off the writer thread, which only writes.
        let writes: Vec<(CopyWrite, Option<String>, Vec<LabelRow>)> = writes
            .iter()
            .map(|w| (w.clone(), w.metadata.as_ref().map(map_text), label_rows(&w.labels)))
            .collect();
        let (history, idem) = (history_rows(history), idempotency.cloned());
        self.write(move |tx| {
            let mut bump = tx
                .prepare_cached(
                    "UPDATE task_copies SET state = ?1, version = version + 1, metadata = COALESCE(?2, metadata),
                         sample_usage = COALESCE(?3, sample_usage), update_time = ?4
                     WHERE id = ?5 AND version = ?6",
                )
                .map_err(db_err)?;
            let mut clear = tx.prepare_cached("DELETE FROM task_copy_labels WHERE copy_id = ?1").map_err(db_err)?;
            let mut add = tx
                .prepare_cached(
                    "INSERT INTO task_copy_labels (copy_id, ordinal, label_id, instance_id, property, score, annotated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db_err)?;
            for (w, metadata, labels) in &writes {
                let n = bump
                    .execute(params![w.state, metadata, w.sample_usage, w.update_time, w.copy_id, w.expected_version])
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                }
                clear.execute([w.copy_id]).map_err(db_err)?;
                for (i, l) in labels.iter().enumerate() {
                    add.execute(params![w.copy_id, i as i64, l.label_id, l.instance_id, l.property, l.score, l.annotated_by])
                        .map_err(db_err)?;
                }
            }
            insert_history(tx, &history)?;
            match &idem {
                Some(record) => insert_idempotency(tx, record),
                None => Ok(()),
            }
        })
        .await
    }

    async fn list_team_samples(&self, task_id: &str, query: &TeamSampleQuery) -> Result<(u64, Vec<TeamSampleRow>)> {
        let (t, q) = (task_id.to_string(), query.clone());
        self.read(move |c| {
            let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(t.clone())];
            let mut filter = String::from("c.task_id = ?1");
            if let Some(w) = &q.worker_id {
                args.push(Box::new(w.clone()));
                filter.push_str(&format!(" AND c.worker_id = ?{}", args.len()));
            }
            if let Some(id) = &q.sample_id {
                args.push(Box::new(id.clone()));
                filter.push_str(&format!(" AND s.id = ?{}", args.len()));
            }
            if let Some(states) = &q.states {
                let mut list = Vec::new();
                for st in states {
                    args.push(Box::new(st.clone()));
                    list.push(format!("?{}", args.len()));
                }
                filter.push_str(&format!(" AND c.state IN ({})", if list.is_empty() { "NULL".to_string() } else { list.join(",") }));
            }
            for group in &q.label_groups {
                filter.push_str(&label_group_clause(group, "task_copy_labels", "copy_id", "c.id"));
            }
            let from = "task_copies c JOIN samples s ON s.seq = c.sample_seq";
            // Every copy has its sample (a foreign key), so the count joins samples only when it
            // filters on them: counting a task's copies alone reads one index.
            let count_from = if q.sample_id.is_some() { from } else { "task_copies c" };
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {count_from} WHERE {filter}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let sql = format!(
                "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM {from} WHERE {filter} ORDER BY c.sample_seq, c.worker_id LIMIT {} OFFSET {}",
                q.limit,
                q.offset.saturating_mul(q.limit)
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows: Vec<(i64, SampleRecord, CopyRecord)> = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    let (seq, sample) = sample_from_row(r)?;
                    Ok((seq, sample, copy_from_row(r, 16)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            {
                let mut copies: Vec<&mut CopyRecord> = rows.iter_mut().map(|(_, _, c)| c).collect();
                attach_copy_labels(c, &mut copies)?;
            }
            let mut labelers_of = c.prepare_cached(
                "SELECT w.id, u.email, w.role FROM task_copies tc JOIN workers w ON w.id = tc.worker_id JOIN users u ON u.id = w.user_id
                 WHERE tc.task_id = ?1 AND tc.sample_seq = ?2 ORDER BY w.id",
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for (seq, sample, copy) in rows {
                let labelers = labelers_of
                    .query_map(params![t, seq], |r| {
                        Ok(Labeler { worker_id: r.get(0)?, email: r.get(1)?, role: Role::from_code(r.get(2)?).ok_or_else(|| bad_row("role"))? })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(TeamSampleRow { sample, copy, labelers });
            }
            Ok((total as u64, out))
        })
        .await
    }

    async fn write_samples_with(
        &self,
        writes: &[SampleWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let writes: Vec<(SampleWrite, String, Vec<LabelRow>)> = writes
            .iter()
            .map(|w| (w.clone(), map_text(&w.metadata), label_rows(&w.labels)))
            .collect();
        let (history, idem) = (history_rows(history), idempotency.cloned());
        self.write(move |tx| {
            let mut bump = tx
                .prepare_cached(
                    "UPDATE samples SET status = ?1, version = version + 1, metadata = ?2, sample_usage = COALESCE(?3, sample_usage), update_time = ?4
                     WHERE +dataset_id = ?5 AND id = ?6 AND version = ?7 RETURNING seq",
                )
                .map_err(db_err)?;
            let mut clear = tx.prepare_cached("DELETE FROM sample_labels WHERE sample_seq = ?1").map_err(db_err)?;
            let mut add = tx
                .prepare_cached(
                    "INSERT INTO sample_labels (sample_seq, ordinal, label_id, instance_id, property, score, annotated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db_err)?;
            for (w, metadata, labels) in &writes {
                let seq: Option<i64> = bump
                    .query_row(
                        params![w.status.as_str(), metadata, w.sample_usage, w.update_time, w.dataset_id, w.sample_id, w.expected_version],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db_err)?;
                let Some(seq) = seq else { return Err(Error::from(StoreError::conflict(Constraint::Version))) };
                clear.execute([seq]).map_err(db_err)?;
                for (i, l) in labels.iter().enumerate() {
                    add.execute(params![seq, i as i64, l.label_id, l.instance_id, l.property, l.score, l.annotated_by]).map_err(db_err)?;
                }
            }
            insert_history(tx, &history)?;
            match &idem {
                Some(record) => insert_idempotency(tx, record),
                None => Ok(()),
            }
        })
        .await
    }

    async fn list_history(
        &self,
        dataset_id: &str,
        sample_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<HistoryRecord>)> {
        let (d, s) = (dataset_id.to_string(), sample_id.to_string());
        self.read(move |c| {
            let total: i64 = c.query_row("SELECT COUNT(*) FROM annotation_history WHERE dataset_id = ?1 AND sample_id = ?2", params![d, s], |r| r.get(0))?;
            let mut stmt = c.prepare(&format!(
                "SELECT id, dataset_id, sample_id, task_id, worker_id, actor_user_id, actor_email, change_time, state_before, state_after,
                        labels_before, labels_after, version_after
                 FROM annotation_history WHERE dataset_id = ?1 AND sample_id = ?2 ORDER BY id DESC LIMIT {limit} OFFSET {}",
                offset.saturating_mul(limit)
            ))?;
            let rows = stmt
                .query_map(params![d, s], |r| {
                    let before: String = r.get(10)?;
                    let after: String = r.get(11)?;
                    Ok(HistoryRecord {
                        id: r.get(0)?,
                        dataset_id: r.get(1)?,
                        sample_id: r.get(2)?,
                        task_id: r.get(3)?,
                        worker_id: r.get(4)?,
                        actor_user_id: r.get(5)?,
                        actor_email: r.get(6)?,
                        change_time: r.get(7)?,
                        state_before: r.get(8)?,
                        state_after: r.get(9)?,
                        labels_before: serde_json::from_str(&before).unwrap_or(Value::Array(vec![])),
                        labels_after: serde_json::from_str(&after).unwrap_or(Value::Array(vec![])),
                        version_after: r.get(12)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }
}
