//! Samples on PostgreSQL: the shared statements (`crate::sql::samples`) and the sample
//! insert, one `UNNEST` statement for the samples and one for their labels, which hands the
//! new samples to the started tasks with `synchronize_data` in the same transaction. Must not build URLs
//! or check label rules.

use super::*;
use crate::sql::decode::Cells;
use crate::sql::samples::{PLACED_LABEL_FIELDS, SAMPLE_FIELDS};

crate::sql::samples::sample_store!(PgStore {
    async fn insert_samples(&self, samples: &[SampleRecord]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut seen = HashSet::new();
        // Two samples of one name in the batch clash as a stored one would.
        if samples
            .iter()
            .any(|s| !seen.insert((s.dataset_id.as_str(), s.name.as_str())))
        {
            return Err(StoreError::conflict(Constraint::SampleName).into());
        }
        self.insert_sample_rows(samples, "").await.map(drop)
    }
});

crate::sql::data_io::data_io_store!(PgStore {
    async fn insert_new_samples(&self, samples: &[SampleRecord]) -> Result<Vec<String>> {
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        self.insert_sample_rows(samples, "ON CONFLICT (dataset_id, name) DO NOTHING").await
    }
    async fn refresh_statistics(&self) -> Result<()> {
        let client = self.client().await?;
        client
            .batch_execute("ANALYZE samples, sample_labels")
            .await
            .map_err(|e| exec::store_err("ANALYZE", &e).into())
    }
});

impl PgStore {
    /// Inserts samples and their labels in one transaction (`on_conflict` after the sample
    /// insert), answering the names of the samples inserted.
    async fn insert_sample_rows(&self, samples: &[SampleRecord], on_conflict: &str) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(samples.len());
        let mut dataset_ids = Vec::with_capacity(samples.len());
        let mut names = Vec::with_capacity(samples.len());
        let mut sample_types = Vec::with_capacity(samples.len());
        let mut sources = Vec::with_capacity(samples.len());
        let mut blobs = Vec::with_capacity(samples.len());
        let mut content_types = Vec::with_capacity(samples.len());
        let mut sizes = Vec::with_capacity(samples.len());
        let mut text_lens = Vec::with_capacity(samples.len());
        let mut metadata = Vec::with_capacity(samples.len());
        let mut usages = Vec::with_capacity(samples.len());
        let mut statuses = Vec::with_capacity(samples.len());
        let mut sample_times = Vec::with_capacity(samples.len());
        let mut update_times = Vec::with_capacity(samples.len());
        let mut inline_texts = Vec::with_capacity(samples.len());
        for s in samples {
            ids.push(s.id.as_str());
            dataset_ids.push(s.dataset_id.as_str());
            names.push(s.name.as_str());
            sample_types.push(s.sample_type.code());
            sources.push(s.source.as_deref());
            blobs.push(s.blob_sha256.as_deref());
            content_types.push(s.content_type.as_deref());
            sizes.push(s.size);
            text_lens.push(s.text_len);
            metadata.push(Json(&s.metadata));
            usages.push(s.sample_usage.as_deref());
            statuses.push(s.status.as_str());
            sample_times.push(s.sample_time);
            update_times.push(s.update_time);
            inline_texts.push(s.inline_text.as_deref());
        }

        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        let rows = tx
            .query(
                &format!(
                    "INSERT INTO samples ({SAMPLE_FIELDS})
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[],
                                      $5::text[], $6::text[], $7::text[], $8::int8[],
                                      $9::int8[], $10::jsonb[], $11::text[], $12::text[],
                                      $13::int8[], $14::int8[], $15::text[])
                 {on_conflict} RETURNING seq, id, name"
                ),
                &[
                    &ids,
                    &dataset_ids,
                    &names,
                    &sample_types,
                    &sources,
                    &blobs,
                    &content_types,
                    &sizes,
                    &text_lens,
                    &metadata,
                    &usages,
                    &statuses,
                    &sample_times,
                    &update_times,
                    &inline_texts,
                ],
            )
            .await
            .map_err(sql("insert samples"))?;
        let mut seq_by_id: HashMap<String, i64> = HashMap::with_capacity(rows.len());
        let mut inserted = Vec::with_capacity(rows.len());
        for row in &rows {
            seq_by_id.insert(row.text(1)?, row.int(0)?);
            inserted.push(row.text(2)?);
        }
        let mut new_seqs: Vec<(&str, i64)> = samples
            .iter()
            .filter_map(|s| seq_by_id.get(&s.id).map(|&seq| (s.dataset_id.as_str(), seq)))
            .collect();
        new_seqs.sort_unstable();

        let mut label_seqs = Vec::new();
        let mut ordinals = Vec::new();
        let mut label_ids = Vec::new();
        let mut instance_ids = Vec::new();
        let mut properties = Vec::new();
        let mut scores = Vec::new();
        let mut annotated_by = Vec::new();
        for s in samples {
            // A sample skipped by `on_conflict` returned no row.
            let Some(&seq) = seq_by_id.get(&s.id) else {
                if on_conflict.is_empty() {
                    return Err(Error::internal(format!("no seq returned for sample {}", s.id)));
                }
                continue;
            };
            for (ordinal, label) in s.labels.iter().enumerate() {
                label_seqs.push(seq);
                ordinals
                    .push(i32::try_from(ordinal).map_err(|_| Error::internal("sample label ordinal out of range"))?);
                label_ids.push(label.label_id);
                instance_ids.push(label.instance_id.as_deref());
                properties.push(Json(&label.property));
                scores.push(label.score);
                annotated_by.push(label.annotated_by.as_deref());
            }
        }
        if !label_seqs.is_empty() {
            tx.execute(
                &format!(
                    "INSERT INTO sample_labels (sample_seq, {PLACED_LABEL_FIELDS})
                 SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::int8[], $4::text[],
                                      $5::jsonb[], $6::float8[], $7::text[])"
                ),
                &[
                    &label_seqs,
                    &ordinals,
                    &label_ids,
                    &instance_ids,
                    &properties,
                    &scores,
                    &annotated_by,
                ],
            )
            .await
            .map_err(sql("insert sample labels"))?;
        }
        let now = samples.iter().map(|s| s.update_time).max().unwrap_or_default();
        let mut datasets: Vec<&str> = new_seqs.iter().map(|(d, _)| *d).collect();
        datasets.dedup();
        for d in datasets {
            let seqs: Vec<i64> = new_seqs.iter().filter(|(x, _)| *x == d).map(|(_, seq)| *seq).collect();
            super::tasks::feed_new_samples(&tx, d, &seqs, now).await?;
        }
        commit(tx, "commit insert samples").await?;
        Ok(inserted)
    }
}
