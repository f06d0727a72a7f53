//! Datasets and labels on SQLite: the shared statements (`crate::sql::datasets`) and the
//! dataset update, one job of the group-committing writer. Must not validate names or rules.

use super::*;
use crate::sql::datasets::{self as shared, NEXT_LABEL_POSITION, RESET_UNLABELED, UPDATE_DATASET};
use crate::sql::decode;
use crate::sql::{render, Arg, Dialect, Query};

crate::sql::datasets::dataset_store!(SqliteStore {
    async fn update_dataset(&self, dataset_id: &str, change: &DatasetChange) -> Result<Vec<DeletedSample>> {
        let (id, ch) = (dataset_id.to_string(), change.clone());
        self.write(move |tx| {
            let at = |sql: &str| render(sql, Dialect::Sqlite).into_owned();
            let one = [Arg::Text(id.clone())];
            if rows(tx, &at("SELECT 1 FROM datasets WHERE id = $1"), &one, |r| r.int(0))?.is_empty() {
                return Err(StoreError::not_found(Entity::Dataset, &*id).into());
            }
            let mut deleted = Vec::new();
            if !ch.delete_labels.is_empty() {
                let mut q = Query::new(Dialect::Sqlite);
                q.text(&id);
                let labels = q.in_ints("sl.label_id", &ch.delete_labels);
                if ch.delete_policy >= 1 {
                    let sql = at(&shared::samples_of_deleted_labels(&labels, &labels));
                    let mut gone = rows(tx, &sql, &q.args, |r| Ok((r.int(0)?, decode::deleted_at(r, 1)?)))?;
                    gone.sort_by_key(|(seq, _)| *seq);
                    deleted = gone.into_iter().map(|(_, d)| d).collect();
                }
                let mut q = Query::new(Dialect::Sqlite);
                let sql = format!(
                    "DELETE FROM labels WHERE dataset_id = {} AND {}",
                    q.text(&id),
                    q.in_ints("id", &ch.delete_labels)
                );
                run(tx, &at(&sql), &q.args)?;
                for s in crate::sql::compact::forget_labels(Dialect::Sqlite, &ch.delete_labels) {
                    run(tx, &text(&s), &s.args)?;
                }
                run(tx, &at(RESET_UNLABELED), &one)?;
            }
            for label in &ch.update_labels {
                let s = shared::update_label(&id, label);
                run(tx, &text(&s), &s.args)?;
            }
            let next = rows(tx, &at(NEXT_LABEL_POSITION), &one, |r| r.int4(0))?;
            let next = next.first().copied().unwrap_or(0);
            for (i, label) in ch.add_labels.iter().enumerate() {
                let s = shared::insert_label(&id, label, next + i as i32);
                run(tx, &text(&s), &s.args)?;
            }
            let args = [
                Arg::Text(id.clone()),
                ch.name.clone().into(),
                ch.description.clone().into(),
                Arg::Int(ch.update_time),
            ];
            run(tx, &at(UPDATE_DATASET), &args)?;
            Ok(deleted)
        })
        .await
    }
});
