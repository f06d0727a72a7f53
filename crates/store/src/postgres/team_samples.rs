//! DOC

use super::*;

#[async_trait]
impl TeamSampleStore for PgStore {
    async fn load_team_samples(
        &self,
        task_id: &str,
        dataset_id: &str,
        sample_ids: &[String],
    ) -> Result<Vec<TeamSample>> {
        if sample_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let tx = read_snapshot(&mut client).await?;
        let samples = load_samples_by_id(&tx, dataset_id, sample_ids).await?;
        let seqs: Vec<i64> = samples.iter().map(|(seq, _)| *seq).collect();
        let rows = tx
            .query(
                &format!(
                    "SELECT c.sample_seq, {COPY_COLUMNS}
                     FROM task_copies c
                     WHERE c.task_id = $1 AND c.sample_seq = ANY($2)
                     ORDER BY c.sample_seq, c.worker_id COLLATE \"C\""
                ),
                &[&task_id, &seqs],
            )
            .await
            .map_err(sql("load copies"))?;
        let mut copies_of: HashMap<i64, Vec<CopyRecord>> = HashMap::new();
        for row in &rows {
            copies_of
                .entry(col(row, "sample_seq")?)
                .or_default()
                .push(copy_from_row(row)?);
        }
        let mut out: Vec<TeamSample> = samples
            .into_iter()
            .map(|(seq, sample)| TeamSample {
                sample,
                copies: copies_of.remove(&seq).unwrap_or_default(),
            })
            .collect();
        {
            let mut all: Vec<&mut CopyRecord> = out.iter_mut().flat_map(|s| s.copies.iter_mut()).collect();
            attach_copy_labels(&tx, &mut all).await?;
        }
        tx.commit().await.map_err(sql("commit load team samples"))?;
        Ok(out)
    }

    async fn find_idempotency(&self, project_id: &str, user_id: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT request_hash, status, response, create_time FROM idempotency_keys
                 WHERE project_id = $1 AND user_id = $2 AND idem_key = $3 AND create_time > $4",
                &[&project_id, &user_id, &key, &(now_ms() - IDEMPOTENCY_TTL_MS)],
            )
            .await
            .map_err(sql("find idempotency key"))?;
        Ok(match row {
            None => None,
            Some(r) => Some(IdempotencyRecord {
                project_id: project_id.to_string(),
                user_id: user_id.to_string(),
                key: key.to_string(),
                request_hash: r.try_get(0).map_err(sql("idempotency row"))?,
                status: r.try_get(1).map_err(sql("idempotency row"))?,
                response: r.try_get::<_, Json<Value>>(2).map_err(sql("idempotency row"))?.0,
                create_time: r.try_get(3).map_err(sql("idempotency row"))?,
            }),
        })
    }

    async fn write_copies_with(
        &self,
        writes: &[CopyWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        if writes.is_empty() && history.is_empty() && idempotency.is_none() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let distinct = writes.iter().map(|w| w.copy_id).collect::<HashSet<_>>().len() == writes.len();
        if !writes.is_empty() && distinct {
            // Every copy once: lock them in id order (concurrent batches over the same copies
            // then wait for each other instead of deadlocking), and update them in one statement.
            let ids: Vec<i64> = writes.iter().map(|w| w.copy_id).collect();
            tx.query(
                "SELECT id FROM task_copies WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &[&ids],
            )
            .await
            .map_err(sql("lock copies"))?;
            let expected: Vec<i64> = writes.iter().map(|w| w.expected_version).collect();
            let states: Vec<&str> = writes.iter().map(|w| w.state.as_str()).collect();
            let metadata: Vec<Option<Json<&Map<String, Value>>>> =
                writes.iter().map(|w| w.metadata.as_ref().map(Json)).collect();
            let usages: Vec<Option<&str>> = writes.iter().map(|w| w.sample_usage.as_deref()).collect();
            let times: Vec<i64> = writes.iter().map(|w| w.update_time).collect();
            let n = tx
                .execute(
                    "UPDATE task_copies t
                     SET state = u.state, version = t.version + 1, metadata = COALESCE(u.metadata, t.metadata),
                         sample_usage = COALESCE(u.usage, t.sample_usage), update_time = u.update_time
                     FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[], $6::bigint[])
                          AS u(id, expected, state, metadata, usage, update_time)
                     WHERE t.id = u.id AND t.version = u.expected",
                    &[&ids, &expected, &states, &metadata, &usages, &times],
                )
                .await
                .map_err(sql("write copies"))?;
            if n != writes.len() as u64 {
                // Dropping the transaction rolls back everything written so far.
                return Err(Error::from(StoreError::conflict(Constraint::Version)));
            }
        } else if !writes.is_empty() {
            let bump = tx
                .prepare_cached(
                    "UPDATE task_copies
                     SET state = $1, version = version + 1, metadata = COALESCE($2, metadata),
                         sample_usage = COALESCE($3, sample_usage), update_time = $4
                     WHERE id = $5 AND version = $6",
                )
                .await
                .map_err(sql("prepare copy write"))?;
            // Rows are locked in id order (stable, so writes of one copy keep their order):
            // concurrent batches over the same copies wait for each other instead of deadlocking.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by_key(|&i| writes[i].copy_id);
            for w in order.iter().map(|&i| &writes[i]) {
                let n = tx
                    .execute(
                        &bump,
                        &[
                            &w.state,
                            &w.metadata.as_ref().map(Json),
                            &w.sample_usage,
                            &w.update_time,
                            &w.copy_id,
                            &w.expected_version,
                        ],
                    )
                    .await
                    .map_err(sql("write copy"))?;
                if n == 0 {
                    // Dropping the transaction rolls back the writes made so far.
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                }
            }
        }
        if !writes.is_empty() {
            let copy_ids: Vec<i64> = writes.iter().map(|w| w.copy_id).collect();
            tx.execute("DELETE FROM task_copy_labels WHERE copy_id = ANY($1)", &[&copy_ids])
                .await
                .map_err(sql("clear copy labels"))?;
            let mut labels = LabelRows::default();
            for i in last_writes(writes.iter().map(|w| w.copy_id)) {
                labels.push(writes[i].copy_id, &writes[i].labels)?;
            }
            labels.insert(&tx, "task_copy_labels", "copy_id").await?;
        }
        insert_history(&tx, history).await?;
        if let Some(record) = idempotency {
            insert_idempotency(&tx, record).await?;
        }
        tx.commit().await.map_err(sql("commit write copies"))
    }

    async fn list_team_samples(&self, task_id: &str, query: &TeamSampleQuery) -> Result<(u64, Vec<TeamSampleRow>)> {
        let mut params = Params::default();
        let mut filter = format!("c.task_id = {}", params.push(task_id.to_string()));
        if let Some(worker_id) = &query.worker_id {
            filter += &format!(" AND c.worker_id = {}", params.push(worker_id.clone()));
        }
        if let Some(sample_id) = &query.sample_id {
            filter += &format!(" AND s.id = {}", params.push(sample_id.clone()));
        }
        if let Some(states) = &query.states {
            // An empty list matches nothing.
            filter += &format!(" AND c.state = ANY({})", params.push(states.clone()));
        }
        for group in &query.label_groups {
            filter += &label_group_clause(group, "task_copy_labels", "copy_id", "c.id", &mut params);
        }
        let from = "task_copies c JOIN samples s ON s.seq = c.sample_seq";
        // Every copy has its sample (a foreign key), so the count joins samples only when it
        // filters on them: counting a task's copies alone reads one index.
        let count_from = if query.sample_id.is_some() {
            from
        } else {
            "task_copies c"
        };
        let count_sql = format!("SELECT count(*) AS total FROM {count_from} WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(query.offset, query.limit);
        let page_sql = format!(
            "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM {from} WHERE {filter}
             ORDER BY c.sample_seq, c.worker_id COLLATE \"C\"
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );

        let mut client = self.client().await?;
        let tx = read_snapshot(&mut client).await?;
        let refs = params.refs();
        let total_row = tx
            .query_one(&count_sql, &refs[..count_params])
            .await
            .map_err(sql("count team samples"))?;
        let rows = tx.query(&page_sql, &refs).await.map_err(sql("list team samples"))?;
        let mut page = rows
            .iter()
            .map(|row| {
                let (seq, sample) = sample_from_row(row)?;
                Ok((seq, sample, copy_from_row(row)?))
            })
            .collect::<Result<Vec<_>>>()?;
        {
            let mut copies: Vec<&mut CopyRecord> = page.iter_mut().map(|(_, _, copy)| copy).collect();
            attach_copy_labels(&tx, &mut copies).await?;
        }
        // Every labeler of each sample on the page, in one query.
        let mut seqs: Vec<i64> = page.iter().map(|(seq, _, _)| *seq).collect();
        seqs.dedup();
        let mut labelers_of: HashMap<i64, Vec<Labeler>> = HashMap::new();
        if !seqs.is_empty() {
            let rows = tx
                .query(
                    "SELECT tc.sample_seq, w.id AS worker_id, u.email, w.role
                     FROM task_copies tc
                     JOIN workers w ON w.id = tc.worker_id
                     JOIN users u ON u.id = w.user_id
                     WHERE tc.task_id = $1 AND tc.sample_seq = ANY($2)
                     ORDER BY tc.sample_seq, w.id COLLATE \"C\"",
                    &[&task_id, &seqs],
                )
                .await
                .map_err(sql("labelers of samples"))?;
            for row in &rows {
                labelers_of.entry(col(row, "sample_seq")?).or_default().push(Labeler {
                    worker_id: col(row, "worker_id")?,
                    email: col(row, "email")?,
                    role: role(col(row, "role")?)?,
                });
            }
        }
        tx.commit().await.map_err(sql("commit list team samples"))?;
        let out = page
            .into_iter()
            .map(|(seq, sample, copy)| TeamSampleRow {
                sample,
                copy,
                labelers: labelers_of.get(&seq).cloned().unwrap_or_default(),
            })
            .collect();
        Ok((count(col(&total_row, "total")?), out))
    }

    async fn write_samples_with(
        &self,
        writes: &[SampleWrite],
        history: &[HistoryRecord],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        if writes.is_empty() && history.is_empty() && idempotency.is_none() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        if !writes.is_empty() {
            let bump = tx
                .prepare_cached(
                    "UPDATE samples
                     SET status = $1, version = version + 1, metadata = $2,
                         sample_usage = COALESCE($3, sample_usage), update_time = $4
                     WHERE dataset_id = $5 AND id = $6 AND version = $7
                     RETURNING seq",
                )
                .await
                .map_err(sql("prepare sample write"))?;
            // Rows are locked in key order (stable, so writes of one sample keep their order):
            // concurrent batches over the same samples wait for each other instead of deadlocking.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by(|&i, &j| {
                (&writes[i].dataset_id, &writes[i].sample_id).cmp(&(&writes[j].dataset_id, &writes[j].sample_id))
            });
            let mut seqs = vec![0_i64; writes.len()];
            for &i in &order {
                let w = &writes[i];
                let row = tx
                    .query_opt(
                        &bump,
                        &[
                            &w.status.as_str(),
                            &Json(&w.metadata),
                            &w.sample_usage,
                            &w.update_time,
                            &w.dataset_id,
                            &w.sample_id,
                            &w.expected_version,
                        ],
                    )
                    .await
                    .map_err(sql("write sample"))?;
                let Some(row) = row else {
                    // Dropping the transaction rolls back the writes made so far.
                    return Err(Error::from(StoreError::conflict(Constraint::Version)));
                };
                seqs[i] = col::<i64>(&row, "seq")?;
            }
            tx.execute("DELETE FROM sample_labels WHERE sample_seq = ANY($1)", &[&seqs])
                .await
                .map_err(sql("clear sample labels"))?;
            let mut labels = LabelRows::default();
            for i in last_writes(seqs.iter().copied()) {
                labels.push(seqs[i], &writes[i].labels)?;
            }
            labels.insert(&tx, "sample_labels", "sample_seq").await?;
        }
        insert_history(&tx, history).await?;
        if let Some(record) = idempotency {
            insert_idempotency(&tx, record).await?;
        }
        tx.commit().await.map_err(sql("commit write samples"))
    }

    async fn list_history(
        &self,
        dataset_id: &str,
        sample_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<HistoryRecord>)> {
        let mut params = Params::default();
        let filter = format!(
            "dataset_id = {} AND sample_id = {}",
            params.push(dataset_id.to_string()),
            params.push(sample_id.to_string())
        );
        let count_sql = format!("SELECT count(*) AS total FROM annotation_history WHERE {filter}");
        let count_params = params.0.len();
        let (limit, offset) = page(offset, limit);
        let page_sql = format!(
            "SELECT {HISTORY_COLUMNS} FROM annotation_history WHERE {filter}
             ORDER BY id DESC
             LIMIT {} OFFSET {}",
            params.push(limit),
            params.push(offset)
        );
        let (total, rows) = self
            .count_and_page(&count_sql, &page_sql, &params, count_params, "list history")
            .await?;
        Ok((total, rows.iter().map(history_from_row).collect::<Result<_>>()?))
    }
}
