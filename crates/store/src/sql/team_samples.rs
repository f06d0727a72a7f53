//! Label writes and their reads, written once for both dialects where the SQL is the same: a
//! task's copies with their samples, the idempotency record, the label history. The writes
//! themselves (`write_copies_with`, `write_samples_with`: locking order, `UNNEST` against a
//! row at a time) are written by each backend with this module's statements. Must not apply
//! review rules or decide states.

use std::collections::HashMap;
use std::sync::LazyLock;

use teamlabel_core::clock::now_ms;
use teamlabel_core::error::Result;
use teamlabel_core::store::{
    CopyRecord, HistoryRecord, IdempotencyRecord, Labeler, SampleRecord, TeamSample, TeamSampleQuery, TeamSampleRow,
    IDEMPOTENCY_TTL_MS,
};

use super::compact::{self, Unnamed};
use super::samples::{distinct, label_group_clause, SAMPLE_COLUMNS, SAMPLE_COLUMN_COUNT};
use super::{args, Arg};
use super::{decode, Db, Listing, Stmt};

/// A copy over `task_copies c`, its labels as their compact value (`compact`).
pub const COPY_COLUMNS: &str = "c.id, c.worker_id, c.state, c.version, c.metadata, c.sample_usage, c.update_time, \
     c.review_accept, c.review_comment, c.review_score, c.check_accept, c.check_comment, c.check_score, c.round_id, \
     c.labels";

/// The columns a history insert writes, in the order both backends bind them.
pub const HISTORY_FIELDS: &str = "dataset_id, sample_id, task_id, worker_id, actor_user_id, actor_email, \
     change_time, state_before, state_after, labels_before, labels_after, version_after";

/// A history row over `annotation_history h`, its labels before put back when the row leaves
/// them to the previous row (`previous_after`).
pub static HISTORY_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "h.id, h.dataset_id, h.sample_id, h.task_id, h.worker_id, h.actor_user_id, h.actor_email, h.change_time, \
         h.state_before, h.state_after, COALESCE(h.labels_before, {}), h.labels_after, h.version_after, h.event, \
         h.comment, h.from_workers",
        previous_after(
            "h.copy_id",
            ["h.dataset_id", "h.sample_id", "h.task_id", "h.worker_id"],
            Some("h.id")
        )
    )
});

/// The copy a history row is about, by its sample, task and member (`[dataset, sample, task,
/// member]`); NULL for a dataset-level row.
pub fn copy_of([dataset, sample, task, member]: [&str; 4]) -> String {
    format!(
        "(SELECT c.id FROM samples s JOIN task_copies c ON c.sample_seq = s.seq
          WHERE s.dataset_id = {dataset} AND s.id = {sample} AND c.task_id = {task} AND c.worker_id = {member})"
    )
}

/// The labels after of the latest history row of a chain (below the id `below`, if given): the
/// rows of one copy (`copy`, read through `annotation_history_by_copy`), or, for a dataset-level
/// row or one whose copy is gone (`copy` NULL), those of the same sample, task and member
/// without a copy (`annotation_history_by_sample`). Migration `0010_compact_labels` says why.
pub fn previous_after(copy: &str, [dataset, sample, task, member]: [&str; 4], below: Option<&str>) -> String {
    let below = below.map(|b| format!(" AND p.id < {b}")).unwrap_or_default();
    format!(
        "CASE WHEN {copy} IS NOT NULL
              THEN (SELECT p.labels_after FROM annotation_history p
                    WHERE p.copy_id = {copy}{below} ORDER BY p.id DESC LIMIT 1)
              ELSE (SELECT p.labels_after FROM annotation_history p
                    WHERE p.copy_id IS NULL AND p.dataset_id = {dataset} AND p.sample_id = {sample}
                      AND p.task_id IS NOT DISTINCT FROM {task} AND p.worker_id IS NOT DISTINCT FROM {member}{below}
                    ORDER BY p.id DESC LIMIT 1)
         END"
    )
}

/// The labels before of a history row being appended (`before`): NULL when they are the labels
/// after of the previous row of its chain (`previous_after`), which the reader then takes.
pub fn labels_before(before: &str, copy: &str, key: [&str; 4]) -> String {
    format!(
        "CASE WHEN {before} = ({}) THEN NULL ELSE {before} END",
        previous_after(copy, key, None)
    )
}

/// Moves one copy to new labels, state and version, if it is still at the expected version,
/// and out of any acceptance round's scope (`$1` state, `$2` metadata or NULL to keep, `$3`
/// usage or NULL to keep, `$4` time, `$5` copy, `$6` expected version, `$7` the labels'
/// compact value).
pub const BUMP_COPY: &str = "UPDATE task_copies
     SET state = $1, version = version + 1, metadata = COALESCE($2, metadata),
         sample_usage = COALESCE($3, sample_usage), update_time = $4, round_id = NULL, labels = $7
     WHERE id = $5 AND version = $6";

/// Moves one sample to a new status and version, if it is still at the expected version,
/// answering its `seq` (`$1` status, `$2` metadata, `$3` usage or NULL to keep, `$4` time,
/// `$5` dataset, `$6` sample, `$7` expected version).
pub const BUMP_SAMPLE: &str = "UPDATE samples
     SET status = $1, version = version + 1, metadata = $2,
         sample_usage = COALESCE($3, sample_usage), update_time = $4
     WHERE /*+*/dataset_id = $5 AND id = $6 AND version = $7
     RETURNING seq";

/// Records an idempotency key, replacing an expired record of the same key; a live one changes
/// no row, and the caller fails the transaction.
pub fn record_idempotency(r: &IdempotencyRecord) -> Stmt {
    Stmt::new(
        "INSERT INTO idempotency_keys (project_id, user_id, idem_key, request_hash, status, response, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (project_id, user_id, idem_key) DO UPDATE SET
             request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response,
             create_time = EXCLUDED.create_time
         WHERE idempotency_keys.create_time <= $8",
        args![
            &r.project_id,
            &r.user_id,
            &r.key,
            &r.request_hash,
            r.status,
            r.response.clone(),
            r.create_time,
            r.create_time - IDEMPOTENCY_TTL_MS
        ],
    )
}

pub async fn load_team_samples<D: Db + ?Sized>(
    db: &D,
    task_id: &str,
    dataset_id: &str,
    sample_ids: &[String],
) -> Result<Vec<TeamSample>> {
    let ids = distinct(sample_ids);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = db.query();
    let sql = format!(
        "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM samples s
         LEFT JOIN task_copies c ON c.sample_seq = s.seq AND c.task_id = {}
         WHERE /*+*/s.dataset_id = {} AND {} ORDER BY s.seq, c.worker_id COLLATE \"C\"",
        q.text(task_id),
        q.text(dataset_id),
        q.in_texts("s.id", &ids)
    );
    let rows = db
        .fetch_all(Stmt::new(sql, q.args), |r| {
            let copy = match r.opt_int(SAMPLE_COLUMN_COUNT)? {
                Some(_) => Some(compact::unnamed(r, SAMPLE_COLUMN_COUNT)?),
                None => None,
            };
            Ok((decode::sample(r)?.1, copy))
        })
        .await?;
    let (samples, unnamed): (Vec<SampleRecord>, Vec<Option<Unnamed>>) = rows.into_iter().unzip();
    let has_copy: Vec<bool> = unnamed.iter().map(Option::is_some).collect();
    let mut copies = compact::with_names(db, unnamed.into_iter().flatten().collect())
        .await?
        .into_iter();
    let mut by_id: HashMap<String, TeamSample> = HashMap::new();
    for (sample, has_copy) in samples.into_iter().zip(has_copy) {
        let entry = by_id.entry(sample.id.clone()).or_insert_with(|| TeamSample {
            sample,
            copies: Vec::new(),
        });
        if has_copy {
            entry.copies.extend(copies.next());
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub async fn find_idempotency<D: Db + ?Sized>(
    db: &D,
    project_id: &str,
    user_id: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>> {
    let stmt = Stmt::new(
        "SELECT request_hash, status, response, create_time FROM idempotency_keys
         WHERE project_id = $1 AND user_id = $2 AND idem_key = $3 AND create_time > $4",
        args![project_id, user_id, key, now_ms() - IDEMPOTENCY_TTL_MS],
    );
    let found = db
        .fetch_one(stmt, |r| Ok((r.text(0)?, r.int4(1)?, r.json(2)?, r.int(3)?)))
        .await?;
    Ok(
        found.map(|(request_hash, status, response, create_time)| IdempotencyRecord {
            project_id: project_id.to_string(),
            user_id: user_id.to_string(),
            key: key.to_string(),
            request_hash,
            status,
            response,
            create_time,
        }),
    )
}

pub async fn list_team_samples<D: Db + ?Sized>(
    db: &D,
    task_id: &str,
    query: &TeamSampleQuery,
) -> Result<(u64, Vec<TeamSampleRow>)> {
    let mut q = db.query();
    let mut filter = format!("c.task_id = {}", q.text(task_id));
    if let Some(worker_id) = &query.worker_id {
        filter += &format!(" AND c.worker_id = {}", q.text(worker_id));
    }
    if let Some(sample_id) = &query.sample_id {
        filter += &format!(" AND s.id = {}", q.text(sample_id));
    }
    if let Some(states) = &query.states {
        filter += &format!(" AND {}", q.in_texts("c.state", states));
    }
    if let Some(accept) = query.review_accept {
        filter += &format!(" AND c.review_accept = {}", q.arg(Arg::OptBool(Some(accept))));
    }
    for group in &query.label_groups {
        filter += &label_group_clause(&mut q, group, "task_copy_label_ids", "copy_id", "c.id");
    }
    let from = "task_copies c JOIN samples s ON s.seq = c.sample_seq";
    // A filter on nothing but the member and the states is one on the columns of
    // `task_copy_counts` (kept in the write transaction, so exact): the total is a sum of a few
    // of its rows. Otherwise every copy has its sample (a foreign key), so the count joins
    // samples only when it filters on them.
    let count = if query.sample_id.is_none() && query.review_accept.is_none() && query.label_groups.is_empty() {
        format!("SELECT CAST(COALESCE(SUM(c.n), 0) AS BIGINT) FROM task_copy_counts c WHERE {filter}")
    } else if query.sample_id.is_some() {
        format!("SELECT COUNT(*) FROM {from} WHERE {filter}")
    } else {
        format!("SELECT COUNT(*) FROM task_copies c WHERE {filter}")
    };
    let order = "ORDER BY c.sample_seq, c.worker_id COLLATE \"C\"";
    let list = Listing::new(q, count, |q| match query.sample_id {
        Some(_) => format!(
            "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM {from} WHERE {filter} {order} {}",
            q.page(query.offset, query.limit)
        ),
        // The page is found among the copies alone (an index of the task's copies, without
        // reading a sample for each row skipped), then read with its samples.
        None => format!(
            "SELECT {SAMPLE_COLUMNS}, {COPY_COLUMNS} FROM {from}
             WHERE c.id IN (SELECT c.id FROM task_copies c WHERE {filter} {order} {}) {order}",
            q.page(query.offset, query.limit)
        ),
    });
    let (total, read) = db
        .fetch_list(list, |r| {
            let (seq, sample) = decode::sample(r)?;
            Ok(((seq, sample), compact::unnamed(r, SAMPLE_COLUMN_COUNT)?))
        })
        .await?;
    let (samples, unnamed): (Vec<(i64, SampleRecord)>, Vec<Unnamed>) = read.into_iter().unzip();
    let page: Vec<(i64, SampleRecord, CopyRecord)> = samples
        .into_iter()
        .zip(compact::with_names(db, unnamed).await?)
        .map(|((seq, sample), copy)| (seq, sample, copy))
        .collect();
    // Every labeler of each sample on the page, in one query.
    let mut seqs: Vec<i64> = page.iter().map(|(seq, _, _)| *seq).collect();
    seqs.dedup();
    let mut labelers_of: HashMap<i64, Vec<Labeler>> = HashMap::new();
    if !seqs.is_empty() {
        let mut q = db.query();
        let sql = format!(
            "SELECT tc.sample_seq, w.id, u.email, w.role FROM task_copies tc
             JOIN workers w ON w.id = tc.worker_id JOIN users u ON u.id = w.user_id
             WHERE tc.task_id = {} AND {} ORDER BY tc.sample_seq, w.id COLLATE \"C\"",
            q.text(task_id),
            q.in_ints("tc.sample_seq", &seqs)
        );
        for (seq, labeler) in db.fetch_all(Stmt::new(sql, q.args), decode::labeler).await? {
            labelers_of.entry(seq).or_default().push(labeler);
        }
    }
    let rows = page
        .into_iter()
        .map(|(seq, sample, copy): (i64, SampleRecord, CopyRecord)| TeamSampleRow {
            sample,
            copy,
            labelers: labelers_of.get(&seq).cloned().unwrap_or_default(),
        })
        .collect();
    Ok((total, rows))
}

pub async fn list_history<D: Db + ?Sized>(
    db: &D,
    dataset_id: &str,
    sample_id: &str,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<HistoryRecord>)> {
    let mut q = db.query();
    // The rows of the sample's copies, and its rows without a copy (dataset-level ones, and
    // those of copies gone with their task).
    let (d, s) = (q.text(dataset_id), q.text(sample_id));
    let ids = format!(
        "SELECT x.id FROM annotation_history x WHERE x.copy_id IN (
             SELECT c.id FROM samples s JOIN task_copies c ON c.sample_seq = s.seq
             WHERE s.dataset_id = {d} AND s.id = {s})
         UNION ALL
         SELECT x.id FROM annotation_history x WHERE x.copy_id IS NULL AND x.dataset_id = {d} AND x.sample_id = {s}"
    );
    let count = format!("SELECT COUNT(*) FROM ({ids}) n");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {} FROM annotation_history h WHERE h.id IN ({ids}) ORDER BY h.id DESC {}",
            *HISTORY_COLUMNS,
            q.page(offset, limit)
        )
    });
    db.fetch_list(list, decode::history).await
}

/// Removes the oldest history rows written before `before_ms` (see `TeamSampleStore`): the
/// first `limit` rows by id up to the first younger one. In one transaction, the kept rows
/// that follow a removed row in their chain (`previous_after`) and have no labels before get
/// them, then the rows go. On PostgreSQL the table is locked against inserts meanwhile: a label
/// write comparing its labels before with a row being removed would otherwise leave them to it.
pub async fn prune_history<D: Db + ?Sized>(db: &D, before_ms: i64, limit: u64) -> Result<u64> {
    let mut q = db.query();
    let dialect = q.dialect;
    let sql = format!(
        "SELECT id, change_time FROM annotation_history ORDER BY id LIMIT {}",
        q.int(i64::try_from(limit).unwrap_or(i64::MAX))
    );
    let oldest = db
        .fetch_all(Stmt::new(sql, q.args), |r| Ok((r.int(0)?, r.int(1)?)))
        .await?;
    // Rows from `cut` on stay.
    let cut = match oldest.iter().find(|(_, time)| *time >= before_ms) {
        Some((id, _)) => *id,
        None => match oldest.last() {
            Some((id, _)) => id + 1,
            None => return Ok(0),
        },
    };
    if oldest.first().is_none_or(|(id, _)| *id >= cut) {
        return Ok(0);
    }
    let row = |c: &str| format!("annotation_history.{c}");
    let key = [row("dataset_id"), row("sample_id"), row("task_id"), row("worker_id")];
    let key = [key[0].as_str(), key[1].as_str(), key[2].as_str(), key[3].as_str()];
    let next = "CASE WHEN d.copy_id IS NOT NULL
              THEN (SELECT n.id FROM annotation_history n WHERE n.copy_id = d.copy_id AND n.id > d.id ORDER BY n.id LIMIT 1)
              ELSE (SELECT n.id FROM annotation_history n
                    WHERE n.copy_id IS NULL AND n.dataset_id = d.dataset_id AND n.sample_id = d.sample_id
                      AND n.task_id IS NOT DISTINCT FROM d.task_id AND n.worker_id IS NOT DISTINCT FROM d.worker_id
                      AND n.id > d.id ORDER BY n.id LIMIT 1)
         END";
    let mut stmts = Vec::new();
    if dialect == super::Dialect::Postgres {
        stmts.push(Stmt::new(
            "LOCK TABLE annotation_history IN SHARE ROW EXCLUSIVE MODE",
            vec![],
        ));
    }
    stmts.push(Stmt::new(
        format!(
            "UPDATE annotation_history SET labels_before = {}
             WHERE labels_before IS NULL AND id >= $1
               AND id IN (SELECT {next} FROM annotation_history d WHERE d.id < $1)",
            previous_after(&row("copy_id"), key, Some(&row("id")))
        ),
        args![cut],
    ));
    stmts.push(Stmt::new("DELETE FROM annotation_history WHERE id < $1", args![cut]));
    let changed = db.execute(stmts).await?;
    Ok(changed.last().copied().unwrap_or(0))
}

/// Implements `TeamSampleStore` for a backend: the methods written once in this module, then those the
/// backend writes itself (`{ ... }`).
#[macro_export]
macro_rules! team_sample_store {
    ($store:ty { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::TeamSampleStore for $store {
            async fn load_team_samples(&self, task_id: &str, dataset_id: &str, sample_ids: &[String],) -> Result<Vec<TeamSample>> {
                $crate::sql::team_samples::load_team_samples(&$crate::sql::Db::reader(self).await?, task_id, dataset_id, sample_ids).await
            }
            async fn find_idempotency(&self, project_id: &str, user_id: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
                $crate::sql::team_samples::find_idempotency(self, project_id, user_id, key).await
            }
            async fn list_team_samples(&self, task_id: &str, query: &TeamSampleQuery) -> Result<(u64, Vec<TeamSampleRow>)> {
                $crate::sql::team_samples::list_team_samples(&$crate::sql::Db::reader(self).await?, task_id, query).await
            }
            async fn prune_history(&self, before_ms: i64, limit: u64) -> Result<u64> {
                $crate::sql::team_samples::prune_history(self, before_ms, limit).await
            }
            async fn list_history(&self, dataset_id: &str, sample_id: &str, offset: u64, limit: u64,) -> Result<(u64, Vec<HistoryRecord>)> {
                $crate::sql::team_samples::list_history(self, dataset_id, sample_id, offset, limit).await
            }
            $($own)*
        }
    };
}
pub(crate) use team_sample_store;
