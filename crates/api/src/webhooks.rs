//! Webhooks: endpoints the project's owner registers to be told of events (a copy labeled or
//! reviewed, an acceptance round closed, an import, export or sync finished), and the log of
//! their deliveries. An addition of teamlabel: the provider's API has no webhooks. Each delivery
//! is a `POST` of the event's JSON body with the headers named here; its signature is
//! HMAC-SHA256 over the exact body with the endpoint's secret, in lower-case hex.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Header holding the event's name.
pub const EVENT_HEADER: &str = "X-Teamlabel-Event";
/// Header holding the delivery's id: the same on every retry of a delivery, for de-duplication.
pub const DELIVERY_HEADER: &str = "X-Teamlabel-Delivery";
/// Header holding `sha256=` and the HMAC-SHA256 of the body with the endpoint's secret, in hex.
pub const SIGNATURE_HEADER: &str = "X-Teamlabel-Signature";

/// The events an endpoint may subscribe to.
pub const EVENTS: &[&str] = &[
    "copy.labeled",
    "copy.reviewed",
    "acceptance.closed",
    "import.finished",
    "export.finished",
    "sync.finished",
];

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where deliveries are sent: an `http` or `https` URL of at most 2,048 characters.
    /// Addresses on loopback, private, link-local or shared networks (cloud metadata services
    /// among them) are refused unless the server's `webhooks.allow` list names them.
    pub url: String,
    /// One or more of `copy.labeled`, `copy.reviewed`, `acceptance.closed`,
    /// `import.finished`, `export.finished`, `sync.finished`.
    pub events: Vec<String>,
    /// 0 to 256 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether events are delivered (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A change of an endpoint; a field left out keeps its value.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
    /// A disabled endpoint gets no new deliveries; those already due are still sent.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema, PartialEq)]
pub struct Webhook {
    pub webhook_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// The signing secret (64 hex characters): answered once, when the endpoint is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Milliseconds since the epoch.
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ListWebhooksResponse {
    pub total_count: u64,
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWebhooksQuery {
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 100).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDeliveriesQuery {
    /// Only deliveries in this status: `PENDING`, `DELIVERED` or `FAILED`.
    pub status: Option<String>,
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 100).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}

/// One event sent, or to be sent, to one endpoint.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema, PartialEq)]
pub struct WebhookDelivery {
    /// The value of the `X-Teamlabel-Delivery` header.
    pub delivery_id: String,
    pub webhook_id: String,
    pub event: String,
    /// `PENDING` (due at `next_attempt_time`), `DELIVERED` (an attempt was answered 2xx) or
    /// `FAILED` (every attempt failed; `redeliver` sends it again).
    pub status: String,
    pub attempts: i64,
    /// The HTTP status of the last attempt, if one was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub create_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_time: Option<i64>,
    /// The body sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ListDeliveriesResponse {
    pub total_count: u64,
    pub deliveries: Vec<WebhookDelivery>,
}
