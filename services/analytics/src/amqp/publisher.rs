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

/// Channels publishing concurrently (one channel serialises its frames).
const CHANNELS: usize = 4;
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
    /// A publisher to `exchange` over `amqp`.
    pub fn new(amqp: Amqp, exchange: impl Into<String>) -> Self {
        Self {
            amqp,
            exchange: exchange.into(),
            channels: (0..CHANNELS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    async fn channel(&self) -> Result<Channel, PublishError> {
        let slot = &self.channels[self.next.fetch_add(1, Ordering::Relaxed) % CHANNELS];
        let mut current = slot.lock().await;
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
    pub async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        let channel = self.channel().await?;
        let now = Utc::now().timestamp().max(0) as u64;
        let mut confirms = Vec::with_capacity(events.len());
        for event in events {
            let body = serde_json::to_vec(event).unwrap_or_default();
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(event.id.as_str().into())
                .with_type(event.kind.as_str().into())
                .with_timestamp(now)
                .with_app_id("machina-analytics".into());
            let options = BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            };
            let confirm = channel
                .basic_publish(
                    self.exchange.as_str().into(),
                    event.kind.as_str().into(),
                    options,
                    &body,
                    properties,
                )
                .await
                .map_err(|source| self.failed("publish", source))?;
            confirms.push(async move { (event.id.as_str(), confirm.await) });
        }
        let results = futures::future::join_all(confirms).await;
        let checks = results.into_iter().map(|(id, result)| async move {
            match result {
                Ok(Confirmation::Ack(None)) => Ok(()),
                Ok(Confirmation::Ack(Some(_))) => Err(PublishError::Refused {
                    id: id.to_owned(),
                    reason: "no queue is bound for its type",
                }),
                Ok(Confirmation::Nack(_)) => Err(PublishError::Refused {
                    id: id.to_owned(),
                    reason: "nack",
                }),
                Ok(Confirmation::NotRequested) => Err(PublishError::Refused {
                    id: id.to_owned(),
                    reason: "confirms not enabled",
                }),
                Err(source) => Err(PublishError::Amqp {
                    operation: "confirm a publish",
                    source,
                }),
            }
        });
        try_join_all(checks).await.map(|_| ())
    }

    fn failed(&self, operation: &'static str, source: lapin::Error) -> PublishError {
        let _ = self.amqp.unavailable(&source);
        PublishError::Amqp { operation, source }
    }
}
