//! Samples on SQLite: the shared statements (`crate::sql::samples`) and the sample insert,
//! one job of the group-committing writer with a row at a time, which hands the new samples to
//! the started tasks with `synchronize_data` in the same transaction. Must not build URLs or check
//! label rules.

use super::*;
use crate::sql::samples::{PLACED_LABEL_FIELDS, SAMPLE_FIELDS};

crate::sql::samples::sample_store!(SqliteStore {
    async fn insert_samples(&self, samples: &[SampleRecord]) -> Result<()> {
        self.insert_sample_rows(samples, "").await.map(drop)
    }
});

crate::sql::data_io::data_io_store!(SqliteStore {
    async fn insert_new_samples(&self, samples: &[SampleRecord]) -> Result<Vec<String>> {
        self.insert_sample_rows(samples, " ON CONFLICT (dataset_id, name) DO NOTHING").await
    }
});

impl SqliteStore {
    /// Inserts samples and their labels, one job of the group-committing writer
    /// (`on_conflict` after the sample insert), answering the names of the samples inserted.
    async fn insert_sample_rows(&self, samples: &[SampleRecord], on_conflict: &str) -> Result<Vec<String>> {
        let samples = samples.to_vec();
        let on_conflict = on_conflict.to_string();
        self.write(move |tx| {
            let mut ins = tx
                .prepare_cached(
                    &format!("INSERT INTO samples ({SAMPLE_FIELDS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15){on_conflict}"),
                )
                .map_err(db_err)?;
            let mut lab = tx
                .prepare_cached(
                    &format!("INSERT INTO sample_labels (sample_seq, {PLACED_LABEL_FIELDS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                )
                .map_err(db_err)?;
            let mut inserted = Vec::with_capacity(samples.len());
            let mut new_seqs: Vec<(&str, i64)> = Vec::with_capacity(samples.len());
            for s in &samples {
                let changed = ins.execute(params![
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
                    s.update_time,
                    s.inline_text
                ])
                .map_err(db_err)?;
                if changed == 0 {
                    continue;
                }
                inserted.push(s.name.clone());
                let seq = tx.last_insert_rowid();
                new_seqs.push((&s.dataset_id, seq));
                for (i, l) in s.labels.iter().enumerate() {
                    lab.execute(params![seq, i as i64, l.label_id, l.instance_id, map_text(&l.property), l.score, l.annotated_by])
                        .map_err(db_err)?;
                }
            }
            drop((ins, lab));
            let now = samples.iter().map(|s| s.update_time).max().unwrap_or_default();
            let mut datasets: Vec<&str> = new_seqs.iter().map(|(d, _)| *d).collect();
            datasets.sort_unstable();
            datasets.dedup();
            for d in datasets {
                let seqs: Vec<i64> = new_seqs.iter().filter(|(x, _)| *x == d).map(|(_, seq)| *seq).collect();
                super::tasks::feed_new_samples(tx, d, &seqs, now)?;
            }
            Ok(inserted)
        })
        .await
    }
}
