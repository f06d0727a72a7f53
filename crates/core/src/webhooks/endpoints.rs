//! The owner's endpoints: registering (the signing secret is made here and answered once),
//! reading, changing and deleting them, and their delivery log with a way to send a delivery
//! again. A project holds at most `MAX_WEBHOOKS`. A URL whose host is written as an address is
//! checked against the address rules when it is registered; a name is checked at each delivery,
//! after it is resolved (`guard`, `dispatch`).

use std::collections::HashSet;

use rand::RngCore;
use teamlabel_api::webhooks::{
    CreateWebhookRequest, ListDeliveriesQuery, ListDeliveriesResponse, ListWebhooksQuery, ListWebhooksResponse,
    UpdateWebhookRequest, Webhook, WebhookDelivery, EVENTS,
};

use crate::app::App;
use crate::clock::now_ms;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::{is_hex32, new_hex32};
use crate::query::parse_page;
use crate::store::{delivery_status, DeliveryRecord, WebhookRecord};
use crate::text::check_description;
use crate::webhooks::guard::parse_url;

/// Most endpoints one project may register.
pub const MAX_WEBHOOKS: u64 = 20;

fn not_found(id: &str) -> Error {
    Error::not_found(codes::WEBHOOK_NOT_FOUND, format!("Webhook does not exist: {id}"))
}

fn to_api(w: &WebhookRecord, secret: Option<String>) -> Webhook {
    Webhook {
        webhook_id: w.id.clone(),
        url: w.url.clone(),
        events: w.events.clone(),
        description: w.description.clone(),
        enabled: w.enabled,
        secret,
        create_time: w.create_time,
        update_time: w.update_time,
    }
}

fn delivery_to_api(d: &DeliveryRecord) -> WebhookDelivery {
    WebhookDelivery {
        delivery_id: d.id.clone(),
        webhook_id: d.webhook_id.clone(),
        event: d.event.clone(),
        status: d.status.clone(),
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error.clone(),
        create_time: d.create_time,
        next_attempt_time: (d.status == delivery_status::PENDING).then_some(d.next_attempt_at),
        delivered_time: d.delivered_time,
        payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
    }
}

/// The event names, each known and given once.
fn check_events(events: &[String]) -> Result<Vec<String>> {
    if events.is_empty() {
        return Err(Error::invalid(format!(
            "events must name at least one of {}",
            EVENTS.join(", ")
        )));
    }
    let mut seen = HashSet::new();
    for e in events {
        if !EVENTS.contains(&e.as_str()) {
            return Err(Error::invalid(format!(
                "events: {e:?} is not an event; the events are {}",
                EVENTS.join(", ")
            )));
        }
        if !seen.insert(e.as_str()) {
            return Err(Error::invalid(format!("events names {e:?} twice")));
        }
    }
    Ok(events.to_vec())
}

impl App {
    /// The URL's shape, and its address when it is written as one.
    fn check_webhook_url(&self, url: &str) -> Result<()> {
        let target = parse_url(url).map_err(Error::invalid)?;
        if let Some(ip) = target.ip {
            if let Some(why) = self.webhooks.settings.policy.refusal(&target.host, ip) {
                return Err(Error::invalid(format!("url is {why}")));
            }
        }
        Ok(())
    }

    async fn webhook_of(&self, p: &Principal, webhook_id: &str) -> Result<WebhookRecord> {
        if !is_hex32(webhook_id) {
            return Err(not_found(webhook_id));
        }
        self.store
            .get_webhook(&p.project_id, webhook_id)
            .await?
            .ok_or_else(|| not_found(webhook_id))
    }

    /// POST /v2/{project_id}/webhooks.
    pub async fn create_webhook(&self, p: &Principal, req: CreateWebhookRequest) -> Result<Webhook> {
        policy::authorize(p, Op::CreateWebhook, &Standing::project(p))?;
        self.check_webhook_url(&req.url)?;
        let events = check_events(&req.events)?;
        let description = req.description.unwrap_or_default();
        check_description("description", &description)?;
        let (held, _) = self.store.list_webhooks(&p.project_id, 0, 1).await?;
        if held >= MAX_WEBHOOKS {
            return Err(Error::bad_request(
                codes::WEBHOOK_LIMIT,
                format!("The project already has {MAX_WEBHOOKS} webhooks: delete one before creating another"),
            ));
        }
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let secret = hex::encode(key);
        let id = new_hex32();
        let now = now_ms();
        let record = WebhookRecord {
            sealed_secret: self.sealer.seal(&id, secret.as_bytes()),
            id,
            project_id: p.project_id.clone(),
            url: req.url,
            events,
            description,
            enabled: req.enabled.unwrap_or(true),
            create_time: now,
            update_time: now,
        };
        self.store.insert_webhook(&record).await?;
        tracing::info!(webhook = %record.id, events = ?record.events, "webhook registered");
        Ok(to_api(&record, Some(secret)))
    }

    /// GET /v2/{project_id}/webhooks: oldest first, without secrets.
    pub async fn list_webhooks(&self, p: &Principal, q: &ListWebhooksQuery) -> Result<ListWebhooksResponse> {
        policy::authorize(p, Op::ListWebhooks, &Standing::project(p))?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 100, 100)?;
        let (total, hooks) = self.store.list_webhooks(&p.project_id, page.offset, page.limit).await?;
        Ok(ListWebhooksResponse {
            total_count: total,
            webhooks: hooks.iter().map(|w| to_api(w, None)).collect(),
        })
    }

    /// GET /v2/{project_id}/webhooks/{webhook_id}.
    pub async fn get_webhook(&self, p: &Principal, webhook_id: &str) -> Result<Webhook> {
        policy::authorize(p, Op::GetWebhook, &Standing::project(p))?;
        Ok(to_api(&self.webhook_of(p, webhook_id).await?, None))
    }

    /// PUT /v2/{project_id}/webhooks/{webhook_id}: the fields given change; the secret stays.
    pub async fn update_webhook(&self, p: &Principal, webhook_id: &str, req: UpdateWebhookRequest) -> Result<Webhook> {
        policy::authorize(p, Op::UpdateWebhook, &Standing::project(p))?;
        let mut w = self.webhook_of(p, webhook_id).await?;
        if let Some(url) = req.url {
            self.check_webhook_url(&url)?;
            w.url = url;
        }
        if let Some(events) = req.events {
            w.events = check_events(&events)?;
        }
        if let Some(d) = req.description {
            check_description("description", &d)?;
            w.description = d;
        }
        if let Some(enabled) = req.enabled {
            w.enabled = enabled;
        }
        w.update_time = now_ms();
        if !self.store.update_webhook(&w).await? {
            return Err(not_found(webhook_id));
        }
        Ok(to_api(&w, None))
    }

    /// DELETE /v2/{project_id}/webhooks/{webhook_id}: with its deliveries, sent or not.
    pub async fn delete_webhook(&self, p: &Principal, webhook_id: &str) -> Result<()> {
        policy::authorize(p, Op::DeleteWebhook, &Standing::project(p))?;
        self.webhook_of(p, webhook_id).await?;
        if !self.store.delete_webhook(&p.project_id, webhook_id).await? {
            return Err(not_found(webhook_id));
        }
        Ok(())
    }

    /// GET /v2/{project_id}/webhooks/{webhook_id}/deliveries: newest first.
    pub async fn list_webhook_deliveries(
        &self,
        p: &Principal,
        webhook_id: &str,
        q: &ListDeliveriesQuery,
    ) -> Result<ListDeliveriesResponse> {
        policy::authorize(p, Op::ListWebhookDeliveries, &Standing::project(p))?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 100, 100)?;
        let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s @ (delivery_status::PENDING | delivery_status::DELIVERED | delivery_status::FAILED)) => Some(s),
            Some(s) => {
                return Err(Error::invalid(format!(
                    "status must be PENDING, DELIVERED or FAILED, got {s:?}"
                )))
            }
        };
        let w = self.webhook_of(p, webhook_id).await?;
        let (total, deliveries) = self
            .store
            .list_deliveries(&w.id, status, page.offset, page.limit)
            .await?;
        Ok(ListDeliveriesResponse {
            total_count: total,
            deliveries: deliveries.iter().map(delivery_to_api).collect(),
        })
    }

    /// POST /v2/{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver: the
    /// delivery is due now, with a fresh count of attempts, under the same id.
    pub async fn redeliver_webhook(
        &self,
        p: &Principal,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<WebhookDelivery> {
        policy::authorize(p, Op::RedeliverWebhook, &Standing::project(p))?;
        let w = self.webhook_of(p, webhook_id).await?;
        let missing = || {
            Error::not_found(
                codes::DELIVERY_NOT_FOUND,
                format!("Delivery does not exist: {delivery_id}"),
            )
        };
        if delivery_id.len() > 100 || !self.store.redeliver(&w.id, delivery_id, now_ms()).await? {
            return Err(missing());
        }
        self.webhooks.wake();
        let d = self.store.get_delivery(&w.id, delivery_id).await?.ok_or_else(missing)?;
        Ok(delivery_to_api(&d))
    }
}
