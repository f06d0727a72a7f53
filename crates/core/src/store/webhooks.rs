//! Webhooks in the store: the endpoints a project registered, the outbox of deliveries (one
//! row per event and subscribed endpoint, written by the change's own transaction), and the
//! claims and attempts of the dispatcher. Owns the records and the port; it must not decide
//! where a delivery may go, sign it or send it (that is `webhooks`), and knows no SQL.

use async_trait::async_trait;

use crate::error::Result;

/// Delivery status as stored and answered.
pub mod delivery_status {
    pub const PENDING: &str = "PENDING";
    pub const DELIVERED: &str = "DELIVERED";
    pub const FAILED: &str = "FAILED";
}

/// An endpoint of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: String,
    pub project_id: String,
    pub url: String,
    /// The subscribed event names, in the order given.
    pub events: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// The signing secret, sealed with the server's key (`iam::sealer`, the id as associated
    /// data).
    pub sealed_secret: Vec<u8>,
    pub create_time: i64,
    pub update_time: i64,
}

/// An event to hand to every enabled endpoint of the dataset's project subscribed to it, in
/// the transaction of the change it tells of.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// Unique: a delivery's id is this id, a dot, and the endpoint's id.
    pub id: String,
    pub dataset_id: String,
    pub event: String,
    /// The body every delivery of it sends, byte for byte.
    pub payload: String,
    pub create_time: i64,
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    pub payload: String,
    /// One of `delivery_status`.
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub create_time: i64,
    /// When a pending delivery is due (or its claim runs out).
    pub next_attempt_at: i64,
    pub delivered_time: Option<i64>,
}

/// A claimed delivery with where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryJob {
    pub delivery: DeliveryRecord,
    pub url: String,
    pub sealed_secret: Vec<u8>,
}

/// The outcome of an attempt: the delivery's new status, attempt count and due time.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub id: String,
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub delivered_time: Option<i64>,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<()>;
    async fn get_webhook(&self, project_id: &str, webhook_id: &str) -> Result<Option<WebhookRecord>>;
    /// The project's endpoints, oldest first.
    async fn list_webhooks(&self, project_id: &str, offset: u64, limit: u64) -> Result<(u64, Vec<WebhookRecord>)>;
    /// Writes url, events, description, enabled and update_time; false when it is gone.
    async fn update_webhook(&self, webhook: &WebhookRecord) -> Result<bool>;
    /// Deletes an endpoint with its deliveries; false when there was none.
    async fn delete_webhook(&self, project_id: &str, webhook_id: &str) -> Result<bool>;
    /// An endpoint's deliveries, newest first, of one status or all.
    async fn list_deliveries(
        &self,
        webhook_id: &str,
        status: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<DeliveryRecord>)>;
    async fn get_delivery(&self, webhook_id: &str, delivery_id: &str) -> Result<Option<DeliveryRecord>>;
    /// Makes a delivery pending and due at `now` with its attempts counted from zero again.
    async fn redeliver(&self, webhook_id: &str, delivery_id: &str, now: i64) -> Result<bool>;
    /// Claims up to `limit` pending deliveries due at `now`, earliest first: each is due again
    /// at `lease_until`, so a dispatcher that stops mid-attempt leaves it to be sent again, and
    /// another dispatcher does not take it meanwhile.
    async fn claim_deliveries(&self, now: i64, lease_until: i64, limit: u64) -> Result<Vec<DeliveryJob>>;
    /// Records an attempt.
    async fn record_attempt(&self, attempt: &DeliveryAttempt) -> Result<()>;
    /// Deletes delivered and failed deliveries created before `before`; answers how many.
    async fn purge_deliveries(&self, before: i64) -> Result<u64>;
}
