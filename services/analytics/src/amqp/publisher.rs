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
    /// The broker refused (nack) or could not route (returned) an event.
    #[error("the broker did not accept event {id}: {reason}")]
    Refused {
        /// The event.
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
}

impl Publisher {
    /// A publisher to `exchange` over `amqp` on `channels` channels (at least one).
    pub fn new(amqp: Amqp, exchange: impl Into<String>, channels: usize) -> Self {
        Self {
            amqp,
            exchange: exchange.into(),
            channels: (0..channels.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The channel of `slot`, opened (with confirms) when it has none or lost it. The
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

    /// Publishes `events` (routing key = type, message id = event id, persistent,
    /// mandatory) and waits for every confirm.
    ///
    /// Pipelined: every message of the request is handed to the connection at once and
    /// the confirms are awaited together, instead of one write round trip per event.
    /// The channel's lock is held only while the messages are enqueued: lapin numbers a
    /// publish (its delivery tag) and queues its frames in two steps, so two requests
    /// enqueueing on one channel at once could swap tags and be told each other's
    /// confirms. Other requests use the channel again while this one awaits its confirms.
    pub async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = Utc::now().timestamp().max(0) as u64;
        let bodies: Vec<Vec<u8>> = events
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap_or_default())
            .collect();
        let slot = &self.channels[self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len()];
        let confirms = {
            let mut current = slot.lock().await;
            let channel = self.open(&mut current).await?;
            let publishes = events.iter().zip(&bodies).map(|(event, body)| {
                channel.basic_publish(
                    self.exchange.as_str().into(),
                    event.kind.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    body,
                    properties(event, now),
                )
            });
            futures::future::join_all(publishes).await
        };
        let mut pending = Vec::with_capacity(confirms.len());
        for (event, confirm) in events.iter().zip(confirms) {
            let confirm = confirm.map_err(|source| self.failed("publish", source))?;
            pending.push(async move { check(&event.id, confirm.await) });
        }
        try_join_all(pending).await.map(|_| ())
    }

    fn failed(&self, operation: &'static str, source: lapin::Error) -> PublishError {
        let _ = self.amqp.unavailable(&source);
        PublishError::Amqp { operation, source }
    }
}

/// The AMQP properties of `event`'s message.
fn properties(event: &Event, now: u64) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(event.id.as_str().into())
        .with_type(event.kind.as_str().into())
        .with_timestamp(now)
        .with_app_id("machina-analytics".into())
}

/// The broker's answer for event `id` as a result.
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
