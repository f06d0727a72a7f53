//! The dispatcher: claims due deliveries from the outbox, signs each body with its endpoint's
//! secret (HMAC-SHA256, `X-Teamlabel-Signature: sha256=<hex>`), posts it through a `Transport`,
//! and records the attempt: 2xx is `DELIVERED`; anything else is tried again after
//! `backoff_base × 2^(attempts − 1)`, at most `backoff_cap`, until `max_attempts`, then
//! `FAILED`. A claim makes the delivery due again after a lease, so a delivery whose attempt a
//! crash cut short is sent again: at least once. One dispatcher runs per server; on PostgreSQL
//! the claim skips rows another server holds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use teamlabel_api::webhooks::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};

use crate::app::App;
use crate::clock::now_ms;
use crate::error::Result;
use crate::store::{delivery_status, DeliveryAttempt, DeliveryJob};
use crate::telemetry::webhook_attempt;
use crate::webhooks::guard::parse_url;
use crate::webhooks::WebhookSettings;

/// Deliveries claimed at once (and sent side by side).
const CLAIM_BATCH: u64 = 32;
/// How often delivered and failed deliveries past their retention are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How long past an attempt's timeout its claim holds.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);
/// Longest `last_error` kept.
const MAX_ERROR_LEN: usize = 500;

/// Sends one delivery: a `POST` of `body` with `headers` to `url`, following redirects only to
/// addresses the settings permit, and refusing names that resolve to others.
#[async_trait]
pub trait Transport: Send + Sync {
    /// The HTTP status the endpoint answered, or why there was no answer.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> std::result::Result<u16, String>;
}

/// `sha256=` and the HMAC-SHA256 of `body` keyed with `secret`, in lower-case hex.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait after the `attempts`-th failed attempt.
pub fn backoff(settings: &WebhookSettings, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(31));
    settings
        .backoff_base
        .checked_mul(factor)
        .unwrap_or(settings.backoff_cap)
        .min(settings.backoff_cap)
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

impl App {
    /// Runs until `stop` resolves: delivers what is due, then waits for a write that handed
    /// events to the outbox, or `poll`, whichever comes first.
    pub async fn run_webhook_dispatcher(&self, transport: Arc<dyn Transport>, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut purged = Instant::now() - PURGE_EVERY;
        loop {
            if purged.elapsed() >= PURGE_EVERY {
                purged = Instant::now();
                let before = now_ms() - self.webhooks.settings.retention.as_millis() as i64;
                match self.store.purge_deliveries(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deliveries = n, "old webhook deliveries removed from the log"),
                    Err(e) => tracing::warn!(error = %e, "old webhook deliveries were not removed"),
                }
            }
            let claimed = match self.deliver_due(&transport).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliveries could not be claimed");
                    0
                }
            };
            if claimed as u64 == CLAIM_BATCH {
                continue;
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = self.webhooks.woken() => {}
                _ = tokio::time::sleep(self.webhooks.settings.poll) => {}
            }
        }
    }

    /// Claims the deliveries due now, sends them side by side and records each attempt;
    /// answers how many were claimed.
    pub async fn deliver_due(&self, transport: &Arc<dyn Transport>) -> Result<usize> {
        let settings = &self.webhooks.settings;
        let now = now_ms();
        // An attempt ends within `timeout` (redirects included); the margin covers recording it.
        let lease = (settings.timeout + CLAIM_MARGIN).as_millis() as i64;
        let jobs = self.store.claim_deliveries(now, now + lease, CLAIM_BATCH).await?;
        let claimed = jobs.len();
        let mut running = tokio::task::JoinSet::new();
        for job in jobs {
            let (app, transport) = (self.clone(), transport.clone());
            running.spawn(async move {
                let attempt = app.attempt(&job, transport.as_ref()).await;
                if let Err(e) = app.store.record_attempt(&attempt).await {
                    tracing::warn!(delivery = %attempt.id, error = %e, "a webhook attempt was not recorded");
                }
            });
        }
        while running.join_next().await.is_some() {}
        Ok(claimed)
    }

    async fn attempt(&self, job: &DeliveryJob, transport: &dyn Transport) -> DeliveryAttempt {
        let d = &job.delivery;
        let settings = &self.webhooks.settings;
        let attempts = d.attempts + 1;
        let start = Instant::now();
        let answer = match self.sealer.open(&d.webhook_id, &job.sealed_secret) {
            None => Err("the endpoint's secret cannot be opened with this server's key".to_string()),
            Some(secret) => {
                let headers = [
                    ("Content-Type", "application/json".to_string()),
                    (
                        "User-Agent",
                        concat!("teamlabel-webhooks/", env!("CARGO_PKG_VERSION")).to_string(),
                    ),
                    (EVENT_HEADER, d.event.clone()),
                    (DELIVERY_HEADER, d.id.clone()),
                    (SIGNATURE_HEADER, sign(&secret, d.payload.as_bytes())),
                ];
                match parse_url(&job.url) {
                    Err(e) => Err(e),
                    Ok(t) => match t.ip.and_then(|ip| settings.policy.refusal(&t.host, ip)) {
                        Some(refused) => Err(refused),
                        None => transport.post(&job.url, &headers, d.payload.clone().into_bytes()).await,
                    },
                }
            }
        };
        let now = now_ms();
        let (status, code, error) = match answer {
            Ok(code) if (200..300).contains(&code) => (delivery_status::DELIVERED, Some(code), None),
            Ok(code) => (
                delivery_status::PENDING,
                Some(code),
                Some(format!("the endpoint answered HTTP {code}")),
            ),
            Err(e) => (delivery_status::PENDING, None, Some(truncate(e))),
        };
        let failed = status == delivery_status::PENDING && attempts >= i64::from(settings.max_attempts);
        let outcome = if status == delivery_status::DELIVERED {
            "delivered"
        } else if failed {
            "failed"
        } else {
            "retry"
        };
        webhook_attempt(outcome, start.elapsed().as_secs_f64());
        if outcome != "delivered" {
            tracing::warn!(delivery = %d.id, attempts, error = error.as_deref().unwrap_or(""), outcome, "a webhook delivery attempt failed");
        }
        let wait = backoff(settings, attempts as u32).as_millis() as i64;
        DeliveryAttempt {
            id: d.id.clone(),
            status: if failed { delivery_status::FAILED } else { status }.to_string(),
            attempts,
            last_status_code: code.map(i64::from),
            last_error: error,
            next_attempt_at: if status == delivery_status::PENDING {
                now + wait
            } else {
                now
            },
            delivered_time: (status == delivery_status::DELIVERED).then_some(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_the_body_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_backoff_doubles_from_its_base_up_to_its_cap() {
        let s = WebhookSettings {
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(5),
            ..WebhookSettings::default()
        };
        let waits: Vec<u128> = (1..=7).map(|a| backoff(&s, a).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(backoff(&s, 200), Duration::from_secs(5));
    }
}
