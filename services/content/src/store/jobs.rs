//! Work claimed by background loops: outbox events, scheduled publications and
//! webhook deliveries.
//!
//! A claim is one `findOneAndUpdate` that matches only due, unleased documents
//! and sets `leaseUntil`: of several replicas polling at once exactly one gets
//! each document. A replica that dies mid-job lets its lease run out, and the
//! job is claimed again.

use std::time::Duration;

use mongodb::{
    Collection,
    bson::{Document, doc, to_bson},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{Store, is_duplicate_key};
use crate::{
    error::Result,
    model::{Attempt, DeliveryDoc, DeliveryStatus},
};

/// An event waiting to be put on RabbitMQ (`outbox`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxDoc {
    /// Event id (also the AMQP `message_id`).
    #[serde(rename = "_id")]
    pub id: String,
    /// Routing key, e.g. `content.published`.
    pub routing_key: String,
    /// The JSON body, exactly as published.
    pub body: String,
    /// Whether the broker confirmed it.
    pub sent: bool,
    /// Failed attempts so far.
    pub attempts: i64,
    /// Earliest next attempt, ms since the epoch.
    pub next_attempt_at: i64,
    /// A relay owns it until then, ms since the epoch.
    pub lease_until: i64,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
}

/// A pending scheduled publication of one locale of an entry (`schedules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleDoc {
    /// `<entryId>:<locale>`.
    #[serde(rename = "_id")]
    pub key: String,
    /// The entry.
    pub entry_id: String,
    /// The locale to publish.
    pub locale: String,
    /// When, ms since the epoch.
    pub publish_at: i64,
    /// A scheduler owns it until then, ms since the epoch.
    pub lease_until: i64,
    /// Who scheduled it.
    pub scheduled_by: String,
}

impl Store {
    /// Atomically claims one due, unleased document of `collection` matching `filter`.
    async fn claim<T>(
        &self,
        collection: &Collection<T>,
        mut filter: Document,
        due_field: &str,
        now: i64,
        lease: Duration,
    ) -> Result<Option<T>>
    where
        T: DeserializeOwned + Send + Sync,
    {
        filter.insert(due_field, doc! { "$lte": now });
        filter.insert("leaseUntil", doc! { "$lte": now });
        let lease_until = now + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        collection
            .find_one_and_update(filter, doc! { "$set": { "leaseUntil": lease_until } })
            .sort(doc! { due_field: 1 })
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| self.unavailable(&e))
    }

    /// Queues an event; already queued (same id) is fine.
    pub async fn insert_outbox(&self, event: &OutboxDoc) -> Result<()> {
        match self.outbox.insert_one(event).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    /// Claims the oldest due unsent event.
    pub async fn claim_outbox(&self, now: i64, lease: Duration) -> Result<Option<OutboxDoc>> {
        self.claim(
            &self.outbox,
            doc! { "sent": false },
            "nextAttemptAt",
            now,
            lease,
        )
        .await
    }

    /// Marks an event confirmed by the broker.
    pub async fn outbox_sent(&self, id: &str) -> Result<()> {
        self.outbox
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "sent": true, "leaseUntil": 0_i64 } },
            )
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// Puts an event back for a retry at `next` (ms).
    pub async fn outbox_retry(&self, id: &str, next: i64) -> Result<()> {
        self.outbox
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "nextAttemptAt": next, "leaseUntil": 0_i64 }, "$inc": { "attempts": 1 } },
            )
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// Events queued, in creation order (tests and diagnostics).
    pub async fn list_outbox(&self) -> Result<Vec<OutboxDoc>> {
        use futures::TryStreamExt;
        let cursor = self
            .outbox
            .find(doc! {})
            .sort(doc! { "createdAt": 1 })
            .await
            .map_err(|e| self.unavailable(&e))?;
        cursor.try_collect().await.map_err(|e| self.unavailable(&e))
    }

    /// Creates or moves the scheduled publication of (entry, locale).
    pub async fn put_schedule(&self, schedule: &ScheduleDoc) -> Result<()> {
        self.schedules
            .replace_one(doc! { "_id": &schedule.key }, schedule)
            .upsert(true)
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// Cancels the scheduled publication of (entry, locale); false when there was none.
    pub async fn delete_schedule(&self, entry_id: &str, locale: &str) -> Result<bool> {
        let outcome = self
            .schedules
            .delete_one(doc! { "_id": format!("{entry_id}:{locale}") })
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(outcome.deleted_count == 1)
    }

    /// Claims one due scheduled publication.
    pub async fn claim_schedule(&self, now: i64, lease: Duration) -> Result<Option<ScheduleDoc>> {
        self.claim(&self.schedules, doc! {}, "publishAt", now, lease)
            .await
    }

    /// Removes a schedule once done, unless it was moved to another time meanwhile.
    pub async fn finish_schedule(&self, done: &ScheduleDoc) -> Result<()> {
        self.schedules
            .delete_one(doc! { "_id": &done.key, "publishAt": done.publish_at })
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// Claims one due pending webhook delivery.
    pub async fn claim_delivery(&self, now: i64, lease: Duration) -> Result<Option<DeliveryDoc>> {
        self.claim(
            &self.deliveries,
            doc! { "status": "pending" },
            "nextAttemptAt",
            now,
            lease,
        )
        .await
    }

    /// Records an attempt and what comes next.
    pub async fn record_attempt(
        &self,
        id: &str,
        attempt: &Attempt,
        status: DeliveryStatus,
        next: i64,
    ) -> Result<()> {
        let attempt = to_bson(attempt).map_err(crate::Error::internal)?;
        let status = to_bson(&status).map_err(crate::Error::internal)?;
        self.deliveries
            .update_one(
                doc! { "_id": id },
                doc! {
                    "$push": { "attempts": attempt },
                    "$set": { "status": status, "nextAttemptAt": next, "leaseUntil": 0_i64 },
                },
            )
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }
}
