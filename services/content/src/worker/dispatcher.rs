//! The webhook dispatcher: POSTs each due delivery, signed (see [`crate::signature`]),
//! records the attempt, and retries non-2xx answers and failures with
//! exponential backoff until `WEBHOOK_MAX_ATTEMPTS`.

use std::time::{Duration, Instant};

use super::{backoff, ms};
use crate::{
    clock::{now_ms, rfc3339},
    metrics::JobMetrics,
    model::{Attempt, DeliveryDoc, DeliveryStatus},
    signature,
    store::Store,
};

/// Deliveries attempted concurrently by one replica.
const BATCH: usize = 8;

/// The dispatcher of one replica.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    store: Store,
    http: reqwest::Client,
    lease: Duration,
    retry_base: Duration,
    max_attempts: u32,
    metrics: JobMetrics,
}

impl Dispatcher {
    /// A dispatcher with these retry rules; `timeout` bounds each attempt.
    pub fn new(
        store: Store,
        lease: Duration,
        retry_base: Duration,
        max_attempts: u32,
        timeout: Duration,
    ) -> reqwest::Result<Self> {
        let http = machina_kit::hosts::apply(reqwest::Client::builder())
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            store,
            http,
            lease,
            retry_base,
            max_attempts,
            metrics: JobMetrics::default(),
        })
    }

    /// Counts attempts on `metrics`.
    pub fn with_metrics(mut self, metrics: JobMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Attempts every due delivery, [`BATCH`] at a time so one slow receiver
    /// does not hold up the others.
    pub async fn tick(&self) {
        loop {
            let mut batch = Vec::with_capacity(BATCH);
            while batch.len() < BATCH {
                match self.store.claim_delivery(now_ms(), self.lease).await {
                    Ok(Some(delivery)) => batch.push(delivery),
                    Ok(None) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot claim webhook deliveries");
                        break;
                    }
                }
            }
            if batch.is_empty() {
                return;
            }
            futures::future::join_all(batch.iter().map(|d| self.attempt(d))).await;
        }
    }

    async fn attempt(&self, delivery: &DeliveryDoc) {
        let hook = match self.store.get_webhook(&delivery.webhook_id).await {
            Ok(Some(hook)) => hook,
            Ok(None) => {
                let attempt = Attempt {
                    at: rfc3339(now_ms()),
                    status: None,
                    error: Some("the subscription was deleted".to_owned()),
                    duration_ms: 0,
                };
                let _ = self
                    .store
                    .record_attempt(&delivery.id, &attempt, DeliveryStatus::Failed, 0)
                    .await;
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read a webhook; the lease runs out and it is retried");
                return;
            }
        };
        let now = now_ms();
        let header = signature::sign(&hook.secret, now / 1000, &delivery.body);
        let started = Instant::now();
        let sent = self
            .http
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(signature::HEADER, header)
            .header("Machina-Event", &delivery.event)
            .header("Machina-Delivery", &delivery.id)
            .body(delivery.body.clone())
            .send()
            .await;
        let duration_ms = ms(started.elapsed());
        let (status, error) = match sent {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(err) => (None, Some(without_url(err))),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let attempts = u32::try_from(delivery.attempts.len()).unwrap_or(u32::MAX) + 1;
        let (next_status, next) = if ok {
            (DeliveryStatus::Delivered, 0)
        } else if attempts >= self.max_attempts {
            (DeliveryStatus::Failed, 0)
        } else {
            (
                DeliveryStatus::Pending,
                now_ms() + ms(backoff(self.retry_base, attempts - 1)),
            )
        };
        self.metrics.count(
            "webhook",
            match next_status {
                DeliveryStatus::Delivered => "ok",
                DeliveryStatus::Pending => "retry",
                DeliveryStatus::Failed => "failed",
            },
        );
        let attempt = Attempt {
            at: rfc3339(now),
            status,
            error,
            duration_ms,
        };
        tracing::debug!(delivery = %delivery.id, ?status, attempts, "webhook attempt");
        if let Err(err) = self
            .store
            .record_attempt(&delivery.id, &attempt, next_status, next)
            .await
        {
            tracing::warn!(error = %err, "cannot record a webhook attempt; it may be repeated");
        }
    }
}

/// The error without the URL (it may carry credentials in its query).
fn without_url(err: reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{kind}: {}", err.without_url())
}
