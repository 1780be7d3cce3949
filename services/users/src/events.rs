//! Change events: `user.created`, `user.updated`, `user.deleted`, `user.erased` on a
//! durable topic exchange (`CHANGES_EXCHANGE`), through an outbox in MongoDB.
//!
//! MongoDB writes are atomic per document, and SecantusDB has no multi-document
//! transactions (our code must not need them anyway), so a change's event is staged
//! *inside the profile document*, in `pendingEvents`, by the same write that makes the
//! change. The [`Relay`] task then (1) copies staged events into the `outbox`
//! collection (inserts keyed by event id, so a repeat is harmless) and clears them from
//! the profile if it has not changed since (version check), and (2) publishes unsent
//! outbox entries in order with publisher confirms, marking each sent after the
//! broker's ack. An accepted change's event therefore survives RabbitMQ being down
//! and a crash at any point. Delivery is at-least-once: a crash between the ack and
//! the mark, or two replicas relaying at once, can publish an event twice, so
//! consumers dedupe on the AMQP `message_id` (the event id).

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use futures::TryStreamExt as _;
use lapin::{
    BasicProperties, Channel, Confirmation, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::FieldTable,
};
use machina_kit::Amqp;
use mongodb::bson::{Bson, DateTime, doc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::{
    model::{ProfileDoc, ProfileView, rfc3339},
    store::Store,
};

/// Entries relayed per round.
const BATCH: usize = 100;
/// How long a publish waits for a lost connection before the round is retried.
const CONNECT_WAIT: Duration = Duration::from_secs(2);

/// Routing keys of the events that carry profile data.
pub const PERSONAL: [&str; 2] = ["user.created", "user.updated"];

/// What happened to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Registered.
    Created,
    /// Profile or preferences changed.
    Updated,
    /// Soft-deleted.
    Deleted,
    /// Personal data erased.
    Erased,
}

impl ChangeKind {
    /// True for events carrying profile data (withdrawn by an erasure).
    pub fn is_personal(self) -> bool {
        matches!(self, Self::Created | Self::Updated)
    }

    /// The routing key.
    pub fn routing_key(self) -> &'static str {
        match self {
            Self::Created => "user.created",
            Self::Updated => "user.updated",
            Self::Deleted => "user.deleted",
            Self::Erased => "user.erased",
        }
    }
}

/// An entry of the `outbox` collection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxDoc {
    /// Event id (also the AMQP `message_id`).
    #[serde(rename = "_id")]
    pub id: String,
    /// The user the event is about.
    pub user_id: String,
    /// Routing key.
    pub routing_key: String,
    /// The message body, JSON text.
    pub body: String,
    /// When the change was accepted.
    pub created_at: DateTime,
    /// Tie-breaker within a millisecond (per process).
    pub seq: i64,
    /// When the broker acknowledged it; `null` while pending.
    #[serde(default)]
    pub sent_at: Option<DateTime>,
}

/// The message body of an event for `profile`.
pub fn event_body(id: &str, kind: ChangeKind, profile: &ProfileDoc, at: DateTime) -> Value {
    let mut body = json!({
        "id": id,
        "type": kind.routing_key(),
        "userId": profile.id,
        "occurredAt": rfc3339(at),
    });
    // Deleted and erased events carry no personal data.
    if kind.is_personal() {
        body["profile"] = json!(ProfileView::from(profile));
    }
    body
}

/// Writes events to the outbox and wakes the relay.
#[derive(Debug, Clone)]
pub struct Outbox {
    store: Store,
    wake: Arc<Notify>,
    seq: Arc<AtomicI64>,
}

impl Outbox {
    /// An outbox over `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
            seq: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Stages the event for `kind` in `profile` (written with the change itself).
    pub fn stage(&self, kind: ChangeKind, profile: &mut ProfileDoc) {
        let id = uuid::Uuid::new_v4().to_string();
        let now = DateTime::now();
        let entry = OutboxDoc {
            body: event_body(&id, kind, profile, now).to_string(),
            id,
            user_id: profile.id.clone(),
            routing_key: kind.routing_key().to_owned(),
            created_at: now,
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            sent_at: None,
        };
        profile.pending_events.push(entry);
        profile.has_pending = true;
    }

    /// Tells the relay there is work (after a staged change was written).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Removes the events about `user_id` that carry profile data (erasure), sent or not.
    pub async fn forget(&self, user_id: &str) -> mongodb::error::Result<()> {
        self.store
            .outbox
            .delete_many(doc! {"userId": user_id, "routingKey": {"$in": PERSONAL.as_slice()}})
            .await
            .map(|_| ())
    }

    /// Unsent entries of the `outbox` collection, oldest first.
    pub async fn pending(&self) -> mongodb::error::Result<Vec<OutboxDoc>> {
        self.store
            .outbox
            .find(doc! {"sentAt": Bson::Null})
            .sort(doc! {"createdAt": 1, "seq": 1})
            .limit(BATCH as i64)
            .await?
            .try_collect()
            .await
    }

    /// Profiles with staged events.
    pub async fn staged(&self) -> mongodb::error::Result<Vec<ProfileDoc>> {
        self.store
            .profiles
            .find(doc! {"hasPending": true})
            .limit(BATCH as i64)
            .await?
            .try_collect()
            .await
    }

    /// Copies the staged events of every profile into the outbox collection and
    /// clears them; returns how many profiles were handled.
    pub async fn move_staged(&self) -> mongodb::error::Result<usize> {
        let profiles = self.staged().await?;
        for profile in &profiles {
            for event in &profile.pending_events {
                match self.store.outbox.insert_one(event).await {
                    Ok(_) => {}
                    Err(e) if crate::store::duplicate_of(&e).is_some() => {}
                    Err(e) => return Err(e),
                }
            }
            let cleared = self
                .store
                .profiles
                .update_one(
                    doc! {"_id": &profile.id, "version": profile.version},
                    doc! {"$set": {"pendingEvents": [], "hasPending": false}},
                )
                .await?;
            if cleared.matched_count == 0 {
                // Changed meanwhile: the next round copies the newer staged events. If
                // the change was an erasure, take back what was just copied.
                if self
                    .store
                    .any(&profile.id)
                    .await?
                    .is_some_and(|p| p.erased_at.is_some())
                {
                    self.forget(&profile.id).await?;
                }
            }
        }
        Ok(profiles.len())
    }
}

/// Publishes outbox entries with confirms and marks them sent.
#[derive(Debug)]
pub struct Relay {
    outbox: Outbox,
    amqp: Amqp,
    exchange: String,
    poll: Duration,
    channel: Option<Channel>,
}

impl Relay {
    /// A relay of `outbox` to `exchange`.
    pub fn new(outbox: Outbox, amqp: Amqp, exchange: String, poll: Duration) -> Self {
        Self {
            outbox,
            amqp,
            exchange,
            poll,
            channel: None,
        }
    }

    /// Runs until the task is aborted: a round on every wake-up or poll tick.
    pub async fn run(mut self) {
        let wake = Arc::clone(&self.outbox.wake);
        // Warn once per outage rather than on every poll while RabbitMQ is down.
        let mut failing = false;
        loop {
            match self.round().await {
                Ok(n) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("outbox relay recovered");
                    }
                    if n >= BATCH {
                        continue;
                    }
                }
                Err(err) if failing => tracing::debug!(error = %err, "outbox relay still failing"),
                Err(err) => {
                    failing = true;
                    tracing::warn!(error = %err, "outbox relay round failed; events wait in the outbox");
                }
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Publishes pending entries in order; stops at the first failure so order holds.
    async fn round(&mut self) -> anyhow::Result<usize> {
        let moved = self.outbox.move_staged().await?;
        let pending = self.outbox.pending().await?;
        if pending.is_empty() {
            return Ok(moved);
        }
        let mut sent = 0;
        for entry in &pending {
            if let Err(err) = self.publish(entry).await {
                self.channel = None;
                return Err(err);
            }
            self.outbox
                .store
                .outbox
                .update_one(
                    doc! {"_id": &entry.id},
                    doc! {"$set": {"sentAt": DateTime::now()}},
                )
                .await?;
            sent += 1;
        }
        Ok(sent.max(moved))
    }

    /// A confirm channel with the exchange declared (again after a reconnect).
    async fn channel(&mut self) -> anyhow::Result<Channel> {
        if let Some(channel) = self.channel.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let connection = tokio::time::timeout(CONNECT_WAIT, self.amqp.connected())
            .await
            .map_err(|_| anyhow::anyhow!("rabbitmq is not connected"))?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        self.channel = Some(channel.clone());
        Ok(channel)
    }

    async fn publish(&mut self, entry: &OutboxDoc) -> anyhow::Result<()> {
        let channel = self.channel().await?;
        let timestamp = u64::try_from(entry.created_at.timestamp_millis() / 1000).unwrap_or(0);
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(entry.id.as_str().into())
            .with_type(entry.routing_key.as_str().into())
            .with_timestamp(timestamp)
            .with_app_id("machina-users".into());
        let confirm = channel
            .basic_publish(
                self.exchange.as_str().into(),
                entry.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                entry.body.as_bytes(),
                properties,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", self.amqp.unavailable(&e)))?;
        match confirm.await? {
            Confirmation::Ack(_) => Ok(()),
            Confirmation::Nack(_) => Err(anyhow::anyhow!("the broker nacked event {}", entry.id)),
            Confirmation::NotRequested => Err(anyhow::anyhow!("publisher confirms are off")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> ProfileDoc {
        ProfileDoc {
            id: "u1".into(),
            email: "a@b.io".into(),
            email_key: "a@b.io".into(),
            username: "ada".into(),
            username_key: "ada".into(),
            display_name: None,
            display_name_key: None,
            traits: "{}".into(),
            preferences: "{}".into(),
            created_at: DateTime::from_millis(0),
            updated_at: DateTime::from_millis(0),
            deleted_at: None,
            erased_at: None,
            version: 1,
            pending_events: Vec::new(),
            has_pending: false,
        }
    }

    #[test]
    fn created_events_carry_the_profile_erased_ones_do_not() {
        let at = DateTime::from_millis(0);
        let created = event_body("e1", ChangeKind::Created, &profile(), at);
        assert_eq!(created["type"], "user.created");
        assert_eq!(created["profile"]["email"], "a@b.io");
        let erased = event_body("e2", ChangeKind::Erased, &profile(), at);
        assert_eq!(erased["userId"], "u1");
        assert!(erased.get("profile").is_none());
        assert!(!erased.to_string().contains("a@b.io"));
    }
}
