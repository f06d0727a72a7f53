//! Webhooks, written once for both dialects: the endpoints, the statement that hands an event
//! to the outbox (`outbox`, run inside the transaction of the change that makes the event), the
//! delivery log, and the dispatcher's claims and attempts. Only the claim differs: PostgreSQL
//! skips rows another server's claim holds (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
//! The whole `WebhookStore` is implemented here over `Db` (`webhook_store!`). Must not decide
//! where a delivery may go or sign it.

use teamlabel_core::error::Result;
use teamlabel_core::store::{
    delivery_status, DeliveryAttempt, DeliveryJob, DeliveryRecord, OutboxEvent, StoreError, WebhookRecord,
};

use super::args;
use super::decode::Cells;
use super::{Db, Dialect, Listing, Stmt};

/// An endpoint over `webhooks w`.
pub const WEBHOOK_COLUMNS: &str =
    "w.id, w.project_id, w.url, w.events, w.description, w.enabled, w.sealed_secret, w.create_time, w.update_time";

/// A delivery, unqualified (for `RETURNING`).
const DELIVERY_FIELDS: &str = "id, webhook_id, event, payload, status, attempts, last_status_code, last_error, \
     create_time, next_attempt_at, delivered_time";

/// A delivery over `webhook_deliveries d`.
const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.event, d.payload, d.status, d.attempts, d.last_status_code, \
     d.last_error, d.create_time, d.next_attempt_at, d.delivered_time";

/// The event names as stored: between commas, so one `LIKE '%,name,%'` finds a subscriber.
fn events_text(events: &[String]) -> String {
    format!(",{},", events.join(","))
}

/// `WEBHOOK_COLUMNS`.
fn webhook(r: &dyn Cells) -> std::result::Result<WebhookRecord, StoreError> {
    Ok(WebhookRecord {
        id: r.text(0)?,
        project_id: r.text(1)?,
        url: r.text(2)?,
        events: r
            .text(3)?
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
        description: r.text(4)?,
        enabled: r.flag(5)?,
        sealed_secret: r.bytes(6)?,
        create_time: r.int(7)?,
        update_time: r.int(8)?,
    })
}

/// `DELIVERY_COLUMNS` or `DELIVERY_FIELDS`.
fn delivery(r: &dyn Cells) -> std::result::Result<DeliveryRecord, StoreError> {
    Ok(DeliveryRecord {
        id: r.text(0)?,
        webhook_id: r.text(1)?,
        event: r.text(2)?,
        payload: r.text(3)?,
        status: r.text(4)?,
        attempts: r.int(5)?,
        last_status_code: r.opt_int(6)?,
        last_error: r.opt_text(7)?,
        create_time: r.int(8)?,
        next_attempt_at: r.int(9)?,
        delivered_time: r.opt_int(10)?,
    })
}

/// Hands an event to the outbox: a pending delivery for every enabled endpoint of the
/// dataset's project subscribed to it (none when there is none), due at once. Run it in the
/// transaction of the change the event tells of.
pub fn outbox(e: &OutboxEvent) -> Stmt {
    Stmt::new(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, status, attempts, create_time, next_attempt_at)
         SELECT CAST($1 AS TEXT) || '.' || w.id, w.id, CAST($2 AS TEXT), CAST($3 AS TEXT), 'PENDING', 0,
                CAST($4 AS BIGINT), CAST($4 AS BIGINT)
         FROM webhooks w JOIN datasets d ON d.project_id = w.project_id
         WHERE d.id = $5 AND w.enabled AND w.events LIKE $6",
        args![
            &e.id,
            &e.event,
            &e.payload,
            e.create_time,
            &e.dataset_id,
            format!("%,{},%", e.event)
        ],
    )
}

pub async fn insert_webhook<D: Db + ?Sized>(db: &D, w: &WebhookRecord) -> Result<()> {
    let stmt = Stmt::new(
        "INSERT INTO webhooks (id, project_id, url, events, description, enabled, sealed_secret, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            &w.id,
            &w.project_id,
            &w.url,
            events_text(&w.events),
            &w.description,
            w.enabled,
            w.sealed_secret.clone(),
            w.create_time,
            w.update_time
        ],
    );
    db.execute(vec![stmt]).await?;
    Ok(())
}

pub async fn get_webhook<D: Db + ?Sized>(db: &D, project_id: &str, id: &str) -> Result<Option<WebhookRecord>> {
    let stmt = Stmt::new(
        format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.project_id = $1 AND w.id = $2"),
        args![project_id, id],
    );
    db.fetch_one(stmt, webhook).await
}

pub async fn list_webhooks<D: Db + ?Sized>(
    db: &D,
    project_id: &str,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<WebhookRecord>)> {
    let mut q = db.query();
    let filter = format!("w.project_id = {}", q.text(project_id));
    let count = format!("SELECT COUNT(*) FROM webhooks w WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE {filter}
             ORDER BY w.create_time, w.id COLLATE \"C\" {}",
            q.page(offset, limit)
        )
    });
    db.fetch_list(list, webhook).await
}

pub async fn update_webhook<D: Db + ?Sized>(db: &D, w: &WebhookRecord) -> Result<bool> {
    let stmt = Stmt::new(
        "UPDATE webhooks SET url = $3, events = $4, description = $5, enabled = $6, update_time = $7
         WHERE project_id = $1 AND id = $2",
        args![
            &w.project_id,
            &w.id,
            &w.url,
            events_text(&w.events),
            &w.description,
            w.enabled,
            w.update_time
        ],
    );
    Ok(db.execute(vec![stmt]).await?[0] > 0)
}

pub async fn delete_webhook<D: Db + ?Sized>(db: &D, project_id: &str, id: &str) -> Result<bool> {
    let deliveries = Stmt::new(
        "DELETE FROM webhook_deliveries
         WHERE webhook_id IN (SELECT id FROM webhooks WHERE project_id = $1 AND id = $2)",
        args![project_id, id],
    );
    let hook = Stmt::new(
        "DELETE FROM webhooks WHERE project_id = $1 AND id = $2",
        args![project_id, id],
    );
    Ok(db.execute(vec![deliveries, hook]).await?[1] > 0)
}

pub async fn list_deliveries<D: Db + ?Sized>(
    db: &D,
    webhook_id: &str,
    status: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<DeliveryRecord>)> {
    let mut q = db.query();
    let filter = format!(
        "d.webhook_id = {} AND (CAST({status} AS TEXT) IS NULL OR d.status = {status})",
        q.text(webhook_id),
        status = q.arg(status.into()),
    );
    let count = format!("SELECT COUNT(*) FROM webhook_deliveries d WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE {filter}
             ORDER BY d.create_time DESC, d.id COLLATE \"C\" DESC {}",
            q.page(offset, limit)
        )
    });
    db.fetch_list(list, delivery).await
}

pub async fn get_delivery<D: Db + ?Sized>(db: &D, webhook_id: &str, id: &str) -> Result<Option<DeliveryRecord>> {
    let stmt = Stmt::new(
        format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = $1 AND d.id = $2"),
        args![webhook_id, id],
    );
    db.fetch_one(stmt, delivery).await
}

pub async fn redeliver<D: Db + ?Sized>(db: &D, webhook_id: &str, id: &str, now: i64) -> Result<bool> {
    let stmt = Stmt::new(
        "UPDATE webhook_deliveries SET status = $3, attempts = 0, next_attempt_at = $4, delivered_time = NULL
         WHERE webhook_id = $1 AND id = $2",
        args![webhook_id, id, delivery_status::PENDING, now],
    );
    Ok(db.execute(vec![stmt]).await?[0] > 0)
}

pub async fn claim_deliveries<D: Db + ?Sized>(
    db: &D,
    now: i64,
    lease_until: i64,
    limit: u64,
) -> Result<Vec<DeliveryJob>> {
    let skip_locked = match db.dialect() {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let claim = Stmt::new(
        format!(
            "UPDATE webhook_deliveries SET next_attempt_at = $1
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= $2
                          ORDER BY next_attempt_at LIMIT $3{skip_locked})
             RETURNING {DELIVERY_FIELDS}"
        ),
        args![lease_until, now, limit as i64],
    );
    let claimed = db.write_rows(vec![claim], delivery).await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = db.query();
    let mut ids: Vec<String> = claimed.iter().map(|d| d.webhook_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let sql = format!(
        "SELECT w.id, w.url, w.sealed_secret FROM webhooks w WHERE {}",
        q.in_texts("w.id", &ids)
    );
    let hooks = db
        .fetch_all(Stmt::new(sql, q.args), |r| Ok((r.text(0)?, r.text(1)?, r.bytes(2)?)))
        .await?;
    let mut jobs: Vec<DeliveryJob> = claimed
        .into_iter()
        .filter_map(|d| {
            let (_, url, secret) = hooks.iter().find(|(id, _, _)| *id == d.webhook_id)?;
            Some(DeliveryJob {
                url: url.clone(),
                sealed_secret: secret.clone(),
                delivery: d,
            })
        })
        .collect();
    jobs.sort_by_key(|j| j.delivery.create_time);
    Ok(jobs)
}

pub async fn record_attempt<D: Db + ?Sized>(db: &D, a: &DeliveryAttempt) -> Result<()> {
    let stmt = Stmt::new(
        "UPDATE webhook_deliveries SET status = $2, attempts = $3, last_status_code = $4, last_error = $5,
             next_attempt_at = $6, delivered_time = $7
         WHERE id = $1",
        args![
            &a.id,
            &a.status,
            a.attempts,
            a.last_status_code,
            &a.last_error,
            a.next_attempt_at,
            a.delivered_time
        ],
    );
    db.execute(vec![stmt]).await?;
    Ok(())
}

pub async fn purge_deliveries<D: Db + ?Sized>(db: &D, before: i64) -> Result<u64> {
    let stmt = Stmt::new(
        "DELETE FROM webhook_deliveries WHERE status <> 'PENDING' AND create_time < $1",
        args![before],
    );
    Ok(db.execute(vec![stmt]).await?[0])
}

/// Implements `WebhookStore` for a backend with this module's functions.
macro_rules! webhook_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::WebhookStore for $store {
            async fn insert_webhook(&self, w: &teamlabel_core::store::WebhookRecord) -> Result<()> {
                $crate::sql::webhooks::insert_webhook(self, w).await
            }
            async fn get_webhook(
                &self,
                project_id: &str,
                id: &str,
            ) -> Result<Option<teamlabel_core::store::WebhookRecord>> {
                $crate::sql::webhooks::get_webhook(self, project_id, id).await
            }
            async fn list_webhooks(
                &self,
                project_id: &str,
                offset: u64,
                limit: u64,
            ) -> Result<(u64, Vec<teamlabel_core::store::WebhookRecord>)> {
                $crate::sql::webhooks::list_webhooks(self, project_id, offset, limit).await
            }
            async fn update_webhook(&self, w: &teamlabel_core::store::WebhookRecord) -> Result<bool> {
                $crate::sql::webhooks::update_webhook(self, w).await
            }
            async fn delete_webhook(&self, project_id: &str, id: &str) -> Result<bool> {
                $crate::sql::webhooks::delete_webhook(self, project_id, id).await
            }
            async fn list_deliveries(
                &self,
                webhook_id: &str,
                status: Option<&str>,
                offset: u64,
                limit: u64,
            ) -> Result<(u64, Vec<teamlabel_core::store::DeliveryRecord>)> {
                $crate::sql::webhooks::list_deliveries(self, webhook_id, status, offset, limit).await
            }
            async fn get_delivery(
                &self,
                webhook_id: &str,
                id: &str,
            ) -> Result<Option<teamlabel_core::store::DeliveryRecord>> {
                $crate::sql::webhooks::get_delivery(self, webhook_id, id).await
            }
            async fn redeliver(&self, webhook_id: &str, id: &str, now: i64) -> Result<bool> {
                $crate::sql::webhooks::redeliver(self, webhook_id, id, now).await
            }
            async fn claim_deliveries(
                &self,
                now: i64,
                lease_until: i64,
                limit: u64,
            ) -> Result<Vec<teamlabel_core::store::DeliveryJob>> {
                $crate::sql::webhooks::claim_deliveries(self, now, lease_until, limit).await
            }
            async fn record_attempt(&self, a: &teamlabel_core::store::DeliveryAttempt) -> Result<()> {
                $crate::sql::webhooks::record_attempt(self, a).await
            }
            async fn purge_deliveries(&self, before: i64) -> Result<u64> {
                $crate::sql::webhooks::purge_deliveries(self, before).await
            }
        }
    };
}
pub(crate) use webhook_store;
