//! Webhook subscription CRUD and the delivery log.

use super::Content;
use crate::{
    Error,
    clock::{now_ms, rfc3339},
    error::Result,
    model::{CreateWebhook, DeliveryDoc, EVENTS, WebhookDoc, WebhookView},
    signature::hex,
    validate::FieldError,
};

impl Content {
    /// Creates a subscription; the view carries the secret, this once.
    pub async fn create_webhook(&self, body: CreateWebhook) -> Result<WebhookView> {
        let mut errors = Vec::new();
        match reqwest::Url::parse(&body.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => errors.push(FieldError::new(
                "url",
                "must be an absolute http:// or https:// URL",
            )),
        }
        for (i, event) in body.events.iter().enumerate() {
            if !EVENTS.contains(&event.as_str()) {
                errors.push(FieldError::new(
                    format!("events[{i}]"),
                    format!("{event:?} is not one of: {}", EVENTS.join(", ")),
                ));
            }
        }
        if body.secret.as_deref().is_some_and(|s| s.len() < 16) {
            errors.push(FieldError::new("secret", "must be at least 16 characters"));
        }
        Error::check(errors)?;
        let events = if body.events.is_empty() {
            EVENTS.iter().map(|e| (*e).to_owned()).collect()
        } else {
            body.events
        };
        let secret = match body.secret {
            Some(secret) => secret,
            None => random_secret().map_err(Error::internal)?,
        };
        let doc = WebhookDoc {
            id: uuid::Uuid::new_v4().to_string(),
            url: body.url,
            events,
            secret,
            created_at: rfc3339(now_ms()),
        };
        self.store.insert_webhook(&doc).await?;
        Ok(WebhookView::of(doc, true))
    }

    /// Every subscription (without secrets).
    pub async fn list_webhooks(&self) -> Result<Vec<WebhookView>> {
        Ok(self
            .store
            .list_webhooks(None)
            .await?
            .into_iter()
            .map(|w| WebhookView::of(w, false))
            .collect())
    }

    /// One subscription (without its secret).
    pub async fn get_webhook(&self, id: &str) -> Result<WebhookView> {
        self.store
            .get_webhook(id)
            .await?
            .map(|w| WebhookView::of(w, false))
            .ok_or_else(|| Error::not_found(format!("webhook {id}")))
    }

    /// Deletes a subscription and its pending deliveries.
    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        if self.store.delete_webhook(id).await? {
            Ok(())
        } else {
            Err(Error::not_found(format!("webhook {id}")))
        }
    }

    /// The delivery log of a subscription, newest first.
    pub async fn deliveries(&self, id: &str) -> Result<Vec<DeliveryDoc>> {
        self.get_webhook(id).await?;
        self.store.list_deliveries(id).await
    }
}

/// 32 random bytes as hex, from the OS generator.
fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    Ok(format!("whsec_{}", hex(&bytes)))
}
