//! [`Publisher`]: publishes events to the events exchange on a few confirm channels and
//! returns only when the broker has confirmed every one (so a 202 means "durable").

use crate::event::Event;
use chrono::Utc;
use futures::future::try_join_all;
use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel};
use machina_kit::Amqp;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

/// Channels publishing concurrently by default (`PUBLISH_CHANNELS`).
pub const DEFAULT_CHANNELS: usize = 4;
/// How long a publish waits for a lost connection to come back.
const RECONNECT_WAIT: Duration = Duration::from_secs(5);

/// Why events could not be made durable; the client should retry (ids make it safe).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// No connection to RabbitMQ.
    #[error("rabbitmq is not connected")]
    NotConnected,
    /// A channel or publish call failed.
    #[error("{operation}: {source}")]
    Amqp {
        /// What was being done.
        operation: &'static str,
        /// The error.
        #[source]
        source: lapin::Error,
    },
    /// The broker refused (nack) or could not route (returned) a message.
    #[error("the broker did not accept message {id}: {reason}")]
    Refused {
        /// The message id (an event id, or `pack:<first id>:<count>`).
        id: String,
        /// Nack or unroutable.
        reason: &'static str,
    },
}

/// Publishes events with confirms.
#[derive(Debug)]
pub struct Publisher {
    amqp: Amqp,
    exchange: String,
    channels: Vec<Mutex<Option<Channel>>>,
    next: AtomicUsize,
    pack: bool,
}

impl Publisher {
    /// A publisher to `exchange` over `amqp` on `channels` channels (at least one),
    /// packing each request's events of one type into one message when `pack` is set.
    pub fn new(amqp: Amqp, exchange: impl Into<String>, channels: usize, pack: bool) -> Self {
        Self {
            amqp,
            exchange: exchange.into(),
            channels: (0..channels.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            pack,
        }
    }

    /// The channel in `current`, opened (with confirms) when there is none or it was lost. The
    /// caller holds the slot's lock, so only one request enqueues on a channel at a time.
    async fn open(&self, current: &mut Option<Channel>) -> Result<Channel, PublishError> {
        if let Some(channel) = current.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let connection = tokio::time::timeout(RECONNECT_WAIT, self.amqp.connected())
            .await
            .map_err(|_| PublishError::NotConnected)?;
        let fail = |operation| move |source| PublishError::Amqp { operation, source };
        let channel = connection
            .create_channel()
            .await
            .map_err(fail("open a channel"))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(fail("enable publisher confirms"))?;
        *current = Some(channel.clone());
        Ok(channel)
    }

    /// Publishes `events` (routing key = type, persistent, mandatory) and waits for
    /// every confirm: one message per event (message id = event id), or with packing one
    /// message per event type holding a JSON array of the events.
    ///
    /// Pipelined: every message of the request is handed to the connection at once and
    /// the confirms are awaited together, instead of one write round trip per message.
    /// The channel's lock is held only while the messages are enqueued: lapin numbers a
    /// publish (its delivery tag) and queues its frames in two steps, so two requests
    /// enqueueing on one channel at once could swap tags and be told each other's
    /// confirms. Other requests use the channel again while this one awaits its confirms.
    pub async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = Utc::now().timestamp().max(0) as u64;
        let messages = if self.pack {
            pack(events)
        } else {
            events.iter().map(Message::single).collect()
        };
        let slot = &self.channels[self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len()];
        let confirms = {
            let mut current = slot.lock().await;
            let channel = self.open(&mut current).await?;
            let publishes = messages.iter().map(|message| {
                channel.basic_publish(
                    self.exchange.as_str().into(),
                    message.kind.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &message.body,
                    properties(message, now),
                )
            });
            futures::future::join_all(publishes).await
        };
        let mut pending = Vec::with_capacity(confirms.len());
        for (message, confirm) in messages.iter().zip(confirms) {
            let confirm = confirm.map_err(|source| self.failed("publish", source))?;
            pending.push(async move { check(&message.id, confirm.await) });
        }
        try_join_all(pending).await.map(|_| ())
    }

    fn failed(&self, operation: &'static str, source: lapin::Error) -> PublishError {
        let _ = self.amqp.unavailable(&source);
        PublishError::Amqp { operation, source }
    }
}

/// One message to publish.
#[derive(Debug)]
struct Message<'a> {
    /// Routing key and AMQP `type`: the event type.
    kind: &'a str,
    /// Message id: the event's id, or for a pack its first event's id and size.
    id: String,
    /// JSON of the event, or of the array of packed events.
    body: Vec<u8>,
}

impl<'a> Message<'a> {
    fn single(event: &'a Event) -> Self {
        Self {
            kind: &event.kind,
            id: event.id.clone(),
            body: serde_json::to_vec(event).unwrap_or_default(),
        }
    }
}

/// The events grouped by type (in order of first appearance), one message per type:
/// a pack keeps the routing by type that job queues bind on.
fn pack(events: &[Event]) -> Vec<Message<'_>> {
    let mut groups: Vec<(&str, Vec<&Event>)> = Vec::new();
    for event in events {
        match groups.iter_mut().find(|(kind, _)| *kind == event.kind) {
            Some((_, group)) => group.push(event),
            None => groups.push((&event.kind, vec![event])),
        }
    }
    groups
        .into_iter()
        .map(|(kind, group)| Message {
            kind,
            id: format!("pack:{}:{}", group[0].id, group.len()),
            body: serde_json::to_vec(&group).unwrap_or_default(),
        })
        .collect()
}

/// The AMQP properties of `message`.
fn properties(message: &Message<'_>, now: u64) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(message.id.as_str().into())
        .with_type(message.kind.into())
        .with_timestamp(now)
        .with_app_id("machina-analytics".into())
}

/// The broker's answer for message `id` as a result.
fn check(id: &str, result: lapin::Result<Confirmation>) -> Result<(), PublishError> {
    let refused = |reason| PublishError::Refused {
        id: id.to_owned(),
        reason,
    };
    match result {
        Ok(Confirmation::Ack(None)) => Ok(()),
        Ok(Confirmation::Ack(Some(_))) => Err(refused("no queue is bound for its type")),
        Ok(Confirmation::Nack(_)) => Err(refused("nack")),
        Ok(Confirmation::NotRequested) => Err(refused("confirms not enabled")),
        Err(source) => Err(PublishError::Amqp {
            operation: "confirm a publish",
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(id: &str, kind: &str) -> Event {
        serde_json::from_value(serde_json::json!({"id": id, "type": kind,
            "timestamp": "2026-01-01T00:00:00Z", "anonymousId": "a", "properties": {}}))
        .expect("event")
    }

    #[test]
    fn packs_group_by_type_and_decode_back() {
        let events = [mk("1", "a.x"), mk("2", "b.y"), mk("3", "a.x")];
        let messages = pack(&events);
        let kinds: Vec<_> = messages.iter().map(|m| (m.kind, m.id.as_str())).collect();
        assert_eq!(kinds, [("a.x", "pack:1:2"), ("b.y", "pack:2:1")]);
        let decoded = crate::event::decode_message(&messages[0].body, None, None, Utc::now())
            .expect("decode");
        assert_eq!(decoded, [events[0].clone(), events[2].clone()]);
        let single = Message::single(&events[1]);
        let decoded =
            crate::event::decode_message(&single.body, None, None, Utc::now()).expect("decode");
        assert_eq!(decoded, [events[1].clone()]);
    }
}
