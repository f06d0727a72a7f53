//! Samples on SQLite: the shared statements (`crate::sql::samples`) and the sample insert,
//! one job of the group-committing writer with a row at a time. Must not build URLs or check
//! label rules.

use super::*;
use crate::sql::samples::{PLACED_LABEL_FIELDS, SAMPLE_FIELDS};

crate::sql::samples::sample_store!(SqliteStore {
    async fn insert_samples(&self, samples: &[SampleRecord]) -> Result<()> {
        let samples = samples.to_vec();
        self.write(move |tx| {
            let mut ins = tx
                .prepare_cached(
                    &format!("INSERT INTO samples ({SAMPLE_FIELDS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
                )
                .map_err(db_err)?;
            let mut lab = tx
                .prepare_cached(
                    &format!("INSERT INTO sample_labels (sample_seq, {PLACED_LABEL_FIELDS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
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
                    s.update_time,
                    s.inline_text
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
});
