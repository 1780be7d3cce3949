//! Webhook subscriptions and the delivery log.

use futures::TryStreamExt;
use mongodb::bson::doc;

use super::{Store, is_duplicate_key};
use crate::{
    error::Result,
    model::{DeliveryDoc, WebhookDoc},
};

/// Most deliveries the log returns.
const LOG_LIMIT: i64 = 200;

impl Store {
    /// Stores a subscription.
    pub async fn insert_webhook(&self, webhook: &WebhookDoc) -> Result<()> {
        self.webhooks
            .insert_one(webhook)
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// The subscription `id`.
    pub async fn get_webhook(&self, id: &str) -> Result<Option<WebhookDoc>> {
        self.webhooks
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| self.unavailable(&e))
    }

    /// Every subscription, or those to `event`.
    pub async fn list_webhooks(&self, event: Option<&str>) -> Result<Vec<WebhookDoc>> {
        let filter = match event {
            Some(event) => doc! { "events": event },
            None => doc! {},
        };
        let cursor = self
            .webhooks
            .find(filter)
            .sort(doc! { "createdAt": 1 })
            .await
            .map_err(|e| self.unavailable(&e))?;
        cursor.try_collect().await.map_err(|e| self.unavailable(&e))
    }

    /// Deletes a subscription and its pending deliveries; false when it does not exist.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool> {
        let outcome = self
            .webhooks
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| self.unavailable(&e))?;
        self.deliveries
            .delete_many(doc! { "webhookId": id, "status": "pending" })
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(outcome.deleted_count == 1)
    }

    /// Queues a delivery; already queued (same id) is fine.
    pub async fn insert_delivery(&self, delivery: &DeliveryDoc) -> Result<()> {
        match self.deliveries.insert_one(delivery).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    /// The latest deliveries of a subscription, newest first.
    pub async fn list_deliveries(&self, webhook_id: &str) -> Result<Vec<DeliveryDoc>> {
        let cursor = self
            .deliveries
            .find(doc! { "webhookId": webhook_id })
            .sort(doc! { "createdAt": -1, "_id": 1 })
            .limit(LOG_LIMIT)
            .await
            .map_err(|e| self.unavailable(&e))?;
        cursor.try_collect().await.map_err(|e| self.unavailable(&e))
    }
}
