//! Dataset versions, import and export tasks, and the keyset scan of samples, written once for
//! both dialects. Only the insert of new samples (a multi-row upsert) is written by each
//! backend. Must not decide formats, paths or who may do what.

use teamlabel_core::error::Result;
use teamlabel_core::store::{
    version_status, Constraint, DataTaskRecord, DataTaskUpdate, HistoryRecord, SampleQuery, SampleRecord, StoreError,
    TaskKind, VersionDone, VersionQuery, VersionRecord, VersionSummary,
};

use super::acceptance::{history_args, HISTORY_ALL_FIELDS};
use super::args;
use super::samples::{sample_filter, with_labels, SAMPLE_COLUMNS};
use super::{decode, Db, Guarded, Listing, Stmt};

const VERSION_COLUMNS: &str = "id, dataset_id, num, name, previous_id, status, is_current, format, description, \
     train_ratio, options, manifest_path, data_path, total_sample_count, annotated_sample_count, label_stats, \
     message, create_time, update_time";

const TASK_COLUMNS: &str = "id, dataset_id, kind, subtype, status, request, progress, cursor, error_code, \
     error_msg, create_time, update_time";

/// Statuses of a task that has not ended.
const UNFINISHED: [&str; 3] = ["QUEUING", "INIT", "RUNNING"];

fn version(r: &dyn decode::Cells) -> std::result::Result<VersionRecord, StoreError> {
    Ok(VersionRecord {
        id: r.text(0)?,
        dataset_id: r.text(1)?,
        num: r.int(2)?,
        name: r.text(3)?,
        previous_id: r.opt_text(4)?,
        status: r.int4(5)?,
        is_current: r.flag(6)?,
        format: r.text(7)?,
        description: r.text(8)?,
        train_ratio: r.text(9)?,
        options: r.json(10)?,
        manifest_path: r.text(11)?,
        data_path: r.text(12)?,
        total_sample_count: r.int(13)?,
        annotated_sample_count: r.int(14)?,
        label_stats: r.json(15)?,
        message: r.opt_text(16)?,
        create_time: r.int(17)?,
        update_time: r.int(18)?,
    })
}

fn task(r: &dyn decode::Cells) -> std::result::Result<DataTaskRecord, StoreError> {
    let kind = match r.text(2)?.as_str() {
        "import" => TaskKind::Import,
        "export" => TaskKind::Export,
        "sync" => TaskKind::Sync,
        _ => return Err(r.bad("data task kind")),
    };
    Ok(DataTaskRecord {
        id: r.text(0)?,
        dataset_id: r.text(1)?,
        kind,
        subtype: r.int4(3)?,
        status: r.text(4)?,
        request: r.json(5)?,
        progress: r.json(6)?,
        cursor: r.opt_text(7)?,
        error_code: r.opt_text(8)?,
        error_msg: r.opt_text(9)?,
        create_time: r.int(10)?,
        update_time: r.int(11)?,
    })
}

pub async fn insert_version<D: Db + ?Sized>(db: &D, v: &VersionRecord) -> Result<()> {
    let stmt = Stmt::new(
        format!(
            "INSERT INTO dataset_versions ({VERSION_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ),
        args![
            &v.id,
            &v.dataset_id,
            v.num,
            &v.name,
            &v.previous_id,
            v.status,
            v.is_current,
            &v.format,
            &v.description,
            &v.train_ratio,
            v.options.clone(),
            &v.manifest_path,
            &v.data_path,
            v.total_sample_count,
            v.annotated_sample_count,
            v.label_stats.clone(),
            &v.message,
            v.create_time,
            v.update_time
        ],
    );
    db.execute(vec![stmt]).await.map(drop)
}

pub async fn get_version<D: Db + ?Sized>(db: &D, dataset_id: &str, id: &str) -> Result<Option<VersionRecord>> {
    let stmt = Stmt::new(
        format!("SELECT {VERSION_COLUMNS} FROM dataset_versions WHERE dataset_id = $1 AND id = $2"),
        args![dataset_id, id],
    );
    db.fetch_one(stmt, version).await
}

pub async fn list_versions<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    query: &VersionQuery,
) -> Result<(u64, Vec<VersionRecord>)> {
    let mut q = db.query();
    let mut filter = format!(
        "dataset_id = {} AND status <> {}",
        q.text(dataset_id),
        q.int4(version_status::DELETED)
    );
    if let Some(status) = query.status {
        filter += &format!(" AND status = {}", q.int4(status));
    }
    if let Some(format) = &query.format {
        filter += &format!(" AND format = {}", q.text(format.clone()));
    }
    let count = format!("SELECT COUNT(*) FROM dataset_versions WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions WHERE {filter} ORDER BY num DESC {}",
            q.page(query.offset, query.limit)
        )
    });
    db.fetch_list(list, version).await
}

pub async fn version_summary<D: Db + ?Sized>(db: &D, dataset_id: &str) -> Result<VersionSummary> {
    let stmt = Stmt::new(
        "SELECT (SELECT id FROM dataset_versions WHERE dataset_id = $1 AND is_current = $2),
                (SELECT name FROM dataset_versions WHERE dataset_id = $1 AND is_current = $2),
                (SELECT COUNT(*) FROM dataset_versions WHERE dataset_id = $1 AND status <> $3),
                (SELECT COALESCE(MAX(num), 0) + 1 FROM dataset_versions WHERE dataset_id = $1)",
        args![dataset_id, true, version_status::DELETED],
    );
    let found = db
        .fetch_one(stmt, |r| {
            Ok(VersionSummary {
                current_id: r.opt_text(0)?,
                current_name: r.opt_text(1)?,
                count: r.count(2)?,
                next_num: r.int(3)?,
            })
        })
        .await?;
    Ok(found.unwrap_or_default())
}

pub async fn touch_version<D: Db + ?Sized>(db: &D, dataset_id: &str, version_id: &str, now: i64) -> Result<bool> {
    let stmt = Stmt::new(
        "UPDATE dataset_versions SET update_time = $1 WHERE dataset_id = $2 AND id = $3 AND status = $4",
        args![now, dataset_id, version_id, version_status::CREATING],
    );
    Ok(db.execute(vec![stmt]).await?.first().copied().unwrap_or(0) > 0)
}

pub async fn finish_version<D: Db + ?Sized>(db: &D, done: &VersionDone) -> Result<()> {
    let mut stmts = Vec::new();
    if done.status == version_status::NORMAL {
        stmts.push(Guarded::any(Stmt::new(
            "UPDATE dataset_versions SET is_current = $1 WHERE dataset_id = $2 AND is_current = $3",
            args![false, &done.dataset_id, true],
        )));
    }
    stmts.push(Guarded::must(
        Stmt::new(
            "UPDATE dataset_versions SET status = $1, is_current = $2, total_sample_count = $3,
                 annotated_sample_count = $4, label_stats = $5, message = $6, update_time = $7
             WHERE dataset_id = $8 AND id = $9 AND status = $10",
            args![
                done.status,
                done.status == version_status::NORMAL,
                done.total_sample_count,
                done.annotated_sample_count,
                done.label_stats.clone(),
                &done.message,
                done.update_time,
                &done.dataset_id,
                &done.id,
                version_status::CREATING
            ],
        ),
        Constraint::Version,
    ));
    db.execute_guarded(stmts).await
}

pub async fn delete_version<D: Db + ?Sized>(db: &D, dataset_id: &str, id: &str, now: i64) -> Result<bool> {
    let stmt = Stmt::new(
        "UPDATE dataset_versions SET status = $1, is_current = $2, update_time = $3
         WHERE dataset_id = $4 AND id = $5 AND status <> $1",
        args![version_status::DELETED, false, now, dataset_id, id],
    );
    Ok(db.execute(vec![stmt]).await?.first().copied().unwrap_or(0) > 0)
}

pub async fn unfinished_versions<D: Db + ?Sized>(db: &D) -> Result<Vec<VersionRecord>> {
    let stmt = Stmt::new(
        format!("SELECT {VERSION_COLUMNS} FROM dataset_versions WHERE status = $1 ORDER BY create_time"),
        args![version_status::CREATING],
    );
    db.fetch_all(stmt, version).await
}

pub async fn insert_data_task<D: Db + ?Sized>(db: &D, t: &DataTaskRecord) -> Result<()> {
    let stmt = Stmt::new(
        format!("INSERT INTO data_tasks ({TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
        args![
            &t.id,
            &t.dataset_id,
            t.kind.as_str(),
            t.subtype,
            &t.status,
            t.request.clone(),
            t.progress.clone(),
            &t.cursor,
            &t.error_code,
            &t.error_msg,
            t.create_time,
            t.update_time
        ],
    );
    db.execute(vec![stmt]).await.map(drop)
}

pub async fn get_data_task<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    kind: TaskKind,
    id: &str,
) -> Result<Option<DataTaskRecord>> {
    let stmt = Stmt::new(
        format!("SELECT {TASK_COLUMNS} FROM data_tasks WHERE dataset_id = $1 AND kind = $2 AND id = $3"),
        args![dataset_id, kind.as_str(), id],
    );
    db.fetch_one(stmt, task).await
}

pub async fn list_data_tasks<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    kind: TaskKind,
    subtype: Option<i32>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<DataTaskRecord>)> {
    let mut q = db.query();
    let mut filter = format!(
        "dataset_id = {} AND kind = {}",
        q.text(dataset_id),
        q.text(kind.as_str())
    );
    if let Some(subtype) = subtype {
        filter += &format!(" AND subtype = {}", q.int4(subtype));
    }
    let count = format!("SELECT COUNT(*) FROM data_tasks WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        let rows = q.int(i64::try_from(limit).unwrap_or(i64::MAX));
        let skip = q.int(i64::try_from(offset).unwrap_or(i64::MAX));
        format!(
            "SELECT {TASK_COLUMNS} FROM data_tasks WHERE {filter}
             ORDER BY create_time DESC, id COLLATE \"C\" DESC LIMIT {rows} OFFSET {skip}"
        )
    });
    db.fetch_list(list, task).await
}

pub async fn update_data_task<D: Db + ?Sized>(db: &D, u: &DataTaskUpdate) -> Result<()> {
    let mut q = db.query();
    let sql = format!(
        "UPDATE data_tasks SET status = {}, progress = {}, cursor = {}, error_code = {}, error_msg = {},
             update_time = {} WHERE id = {} AND {}",
        q.text(u.status.clone()),
        q.arg(u.progress.clone().into()),
        q.arg(u.cursor.clone().into()),
        q.arg(u.error_code.clone().into()),
        q.arg(u.error_msg.clone().into()),
        q.int(u.update_time),
        q.text(u.id.clone()),
        q.in_texts("status", &u.from)
    );
    let mut stmts = vec![Guarded::must(Stmt::new(sql, q.args), Constraint::Version)];
    stmts.extend(u.event.iter().map(|e| Guarded::any(super::webhooks::outbox(e))));
    db.execute_guarded(stmts).await
}

pub async fn unfinished_data_tasks<D: Db + ?Sized>(db: &D) -> Result<Vec<DataTaskRecord>> {
    let mut q = db.query();
    let unfinished: Vec<String> = UNFINISHED.iter().map(|s| s.to_string()).collect();
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM data_tasks WHERE {} ORDER BY create_time, id COLLATE \"C\"",
        q.in_texts("status", &unfinished)
    );
    db.fetch_all(Stmt::new(sql, q.args), task).await
}

pub async fn scan_samples<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    query: &SampleQuery,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<(i64, SampleRecord)>> {
    let mut q = db.query();
    let filter = sample_filter(&mut q, dataset_id, query);
    let sql = format!(
        "SELECT {SAMPLE_COLUMNS} FROM samples s WHERE {filter} AND s.seq > {} ORDER BY s.seq LIMIT {}",
        q.int(after_seq),
        q.int(i64::try_from(limit).unwrap_or(i64::MAX))
    );
    let rows = db.fetch_all(Stmt::new(sql, q.args), decode::sample).await?;
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    let samples = with_labels(db, rows).await?;
    Ok(seqs.into_iter().zip(samples).collect())
}

pub async fn source_samples<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    source_prefix: &str,
    after_name: &str,
    limit: u64,
) -> Result<Vec<(String, String)>> {
    let stmt = Stmt::new(
        "SELECT id, name FROM samples
         WHERE dataset_id = $1 AND name > $2 AND source = $3 || name
         ORDER BY name LIMIT $4",
        args![
            dataset_id,
            after_name,
            source_prefix,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
    );
    db.fetch_all(stmt, |r| Ok((r.text(0)?, r.text(1)?))).await
}

pub async fn remove_samples<D: Db + ?Sized>(db: &D, dataset_id: &str, removals: &[HistoryRecord]) -> Result<u64> {
    let mut stmts = Vec::with_capacity(removals.len() * 2);
    for h in removals {
        let h = HistoryRecord {
            dataset_id: dataset_id.to_string(),
            ..h.clone()
        };
        // Written only for a sample still there: one gone meanwhile was removed by another.
        stmts.push(Stmt::new(
            format!(
                "INSERT INTO annotation_history ({HISTORY_ALL_FIELDS}, copy_id)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, {}
                 WHERE EXISTS (SELECT 1 FROM samples WHERE dataset_id = $1 AND id = $2)",
                super::team_samples::copy_of(["$1", "$2", "$3", "$4"])
            ),
            history_args(&h),
        ));
        stmts.push(Stmt::new(
            "DELETE FROM samples WHERE dataset_id = $1 AND id = $2",
            args![dataset_id, &h.sample_id],
        ));
    }
    if stmts.is_empty() {
        return Ok(0);
    }
    let changed = db.execute(stmts).await?;
    Ok(changed.iter().skip(1).step_by(2).sum())
}

/// Implements `DataIoStore` for a backend with this module's statements; the backend writes
/// `insert_new_samples` itself.
#[macro_export]
macro_rules! data_io_store {
    ($store:ty { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::DataIoStore for $store {
            async fn insert_version(&self, v: &teamlabel_core::store::VersionRecord) -> Result<()> {
                $crate::sql::data_io::insert_version(self, v).await
            }
            async fn get_version(
                &self,
                dataset_id: &str,
                id: &str,
            ) -> Result<Option<teamlabel_core::store::VersionRecord>> {
                $crate::sql::data_io::get_version(self, dataset_id, id).await
            }
            async fn list_versions(
                &self,
                dataset_id: &str,
                query: &teamlabel_core::store::VersionQuery,
            ) -> Result<(u64, Vec<teamlabel_core::store::VersionRecord>)> {
                $crate::sql::data_io::list_versions(self, dataset_id, query).await
            }
            async fn version_summary(&self, dataset_id: &str) -> Result<teamlabel_core::store::VersionSummary> {
                $crate::sql::data_io::version_summary(self, dataset_id).await
            }
            async fn finish_version(&self, done: &teamlabel_core::store::VersionDone) -> Result<()> {
                $crate::sql::data_io::finish_version(self, done).await
            }
            async fn touch_version(&self, dataset_id: &str, id: &str, now: i64) -> Result<bool> {
                $crate::sql::data_io::touch_version(self, dataset_id, id, now).await
            }
            async fn delete_version(&self, dataset_id: &str, id: &str, now: i64) -> Result<bool> {
                $crate::sql::data_io::delete_version(self, dataset_id, id, now).await
            }
            async fn unfinished_versions(&self) -> Result<Vec<teamlabel_core::store::VersionRecord>> {
                $crate::sql::data_io::unfinished_versions(self).await
            }
            async fn insert_data_task(&self, t: &teamlabel_core::store::DataTaskRecord) -> Result<()> {
                $crate::sql::data_io::insert_data_task(self, t).await
            }
            async fn get_data_task(
                &self,
                dataset_id: &str,
                kind: teamlabel_core::store::TaskKind,
                id: &str,
            ) -> Result<Option<teamlabel_core::store::DataTaskRecord>> {
                $crate::sql::data_io::get_data_task(self, dataset_id, kind, id).await
            }
            async fn list_data_tasks(
                &self,
                dataset_id: &str,
                kind: teamlabel_core::store::TaskKind,
                subtype: Option<i32>,
                offset: u64,
                limit: u64,
            ) -> Result<(u64, Vec<teamlabel_core::store::DataTaskRecord>)> {
                $crate::sql::data_io::list_data_tasks(self, dataset_id, kind, subtype, offset, limit).await
            }
            async fn update_data_task(&self, u: &teamlabel_core::store::DataTaskUpdate) -> Result<()> {
                $crate::sql::data_io::update_data_task(self, u).await
            }
            async fn unfinished_data_tasks(&self) -> Result<Vec<teamlabel_core::store::DataTaskRecord>> {
                $crate::sql::data_io::unfinished_data_tasks(self).await
            }
            async fn scan_samples(
                &self,
                dataset_id: &str,
                query: &SampleQuery,
                after_seq: i64,
                limit: u64,
            ) -> Result<Vec<(i64, SampleRecord)>> {
                $crate::sql::data_io::scan_samples(self, dataset_id, query, after_seq, limit).await
            }
            async fn source_samples(
                &self,
                dataset_id: &str,
                source_prefix: &str,
                after_name: &str,
                limit: u64,
            ) -> Result<Vec<(String, String)>> {
                $crate::sql::data_io::source_samples(self, dataset_id, source_prefix, after_name, limit).await
            }
            async fn remove_samples(
                &self,
                dataset_id: &str,
                removals: &[teamlabel_core::store::HistoryRecord],
            ) -> Result<u64> {
                $crate::sql::data_io::remove_samples(self, dataset_id, removals).await
            }
            $($own)*
        }
    };
}
pub(crate) use data_io_store;
