//! Datasets and labels on PostgreSQL: the shared statements (`crate::sql::datasets`) and the
//! dataset update, which locks the dataset row so concurrent changes queue up. Must not
//! validate names or rules.

use super::*;
use crate::sql::datasets::{self as shared, NEXT_LABEL_POSITION, RESET_UNLABELED, UPDATE_DATASET};
use crate::sql::decode::{self, Cells};
use crate::sql::{Arg, Dialect, Query, Stmt};

crate::sql::datasets::dataset_store!(PgStore {
    async fn update_dataset(&self, dataset_id: &str, change: &DatasetChange) -> Result<Vec<DeletedSample>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        // Locks the dataset row: concurrent changes of one dataset (label positions) queue up.
        tx.query_opt("SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE", &[&dataset_id])
            .await
            .map_err(sql("lock dataset"))?
            .ok_or_else(|| Error::from(StoreError::not_found(Entity::Dataset, dataset_id)))?;
        let one = [Arg::Text(dataset_id.to_string())];
        let mut deleted = Vec::new();
        if !change.delete_labels.is_empty() {
            let mut q = Query::new(Dialect::Postgres);
            q.text(dataset_id);
            let labels = q.in_ints("sl.label_id", &change.delete_labels);
            if change.delete_policy >= 1 {
                let sql_text = shared::samples_of_deleted_labels(&labels, &labels);
                let rows = tx
                    .query(&sql_text, &pg_args(&q.args))
                    .await
                    .map_err(sql("delete samples of deleted labels"))?;
                let mut gone = rows
                    .iter()
                    .map(|r| Ok((r.int(0)?, decode::deleted_at(r, 1)?)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                gone.sort_by_key(|(seq, _)| *seq);
                deleted = gone.into_iter().map(|(_, d)| d).collect();
            }
            // The labels; their sample labels cascade.
            let mut q = Query::new(Dialect::Postgres);
            let sql_text = format!(
                "DELETE FROM labels WHERE dataset_id = {} AND {}",
                q.text(dataset_id),
                q.in_ints("id", &change.delete_labels)
            );
            tx.execute(&sql_text, &pg_args(&q.args))
                .await
                .map_err(sql("delete labels"))?;
            for s in crate::sql::compact::forget_labels(Dialect::Postgres, &change.delete_labels) {
                tx.execute(s.sql.as_ref(), &pg_args(&s.args))
                    .await
                    .map_err(sql("take deleted labels out of copies"))?;
            }
            tx.execute(RESET_UNLABELED, &pg_args(&one))
                .await
                .map_err(sql("reset unlabeled samples"))?;
        }
        let mut writes: Vec<Stmt> = change
            .update_labels
            .iter()
            .map(|l| shared::update_label(dataset_id, l))
            .collect();
        if !change.add_labels.is_empty() {
            let next = tx
                .query_one(NEXT_LABEL_POSITION, &pg_args(&one))
                .await
                .map_err(sql("next label position"))?;
            let next = next.int4(0)?;
            for (i, label) in change.add_labels.iter().enumerate() {
                writes.push(shared::insert_label(dataset_id, label, next + i as i32));
            }
        }
        writes.push(Stmt::new(
            UPDATE_DATASET,
            vec![
                one[0].clone(),
                change.name.clone().into(),
                change.description.clone().into(),
                Arg::Int(change.update_time),
            ],
        ));
        for s in &writes {
            tx.execute(s.sql.as_ref(), &pg_args(&s.args))
                .await
                .map_err(sql("update dataset"))?;
        }
        commit(tx, "commit update dataset").await?;
        Ok(deleted)
    }
});
