//! The outbox relay: puts queued events on the changes exchange with publisher
//! confirms, and marks them sent only once the broker confirmed. While RabbitMQ
//! is down events stay in MongoDB and are retried with backoff, so an accepted
//! publication is never lost. Delivery is at least once: a relay that dies
//! between the confirm and the mark re-sends; consumers dedupe on `message_id`.

use std::{sync::Arc, time::Duration};

use lapin::{
    BasicProperties, Channel, Confirmation, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::FieldTable,
};
use machina_kit::Amqp;
use tokio::sync::Mutex;

use super::{backoff, ms};
use crate::{
    clock::now_ms,
    metrics::JobMetrics,
    store::{OutboxDoc, Store},
};

/// First retry delay of an event the broker did not take.
const RETRY_BASE: Duration = Duration::from_millis(500);

/// The relay of one replica.
#[derive(Debug, Clone)]
pub struct Relay {
    store: Store,
    amqp: Amqp,
    exchange: String,
    lease: Duration,
    channel: Arc<Mutex<Option<Channel>>>,
    metrics: JobMetrics,
}

impl Relay {
    /// A relay from `store`'s outbox to `exchange`.
    pub fn new(
        store: Store,
        amqp: Amqp,
        exchange: String,
        lease: Duration,
        metrics: JobMetrics,
    ) -> Self {
        Self {
            store,
            amqp,
            exchange,
            lease,
            channel: Arc::new(Mutex::new(None)),
            metrics,
        }
    }

    /// Sends every due event; stops at the first failure (the broker is likely down).
    pub async fn tick(&self) {
        if !self.amqp.is_connected() {
            return;
        }
        loop {
            let event = match self.store.claim_outbox(now_ms(), self.lease).await {
                Ok(Some(event)) => event,
                Ok(None) => return,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot claim outbox events");
                    return;
                }
            };
            let outcome = match self.publish(&event).await {
                Ok(()) => {
                    self.metrics.count("event", "ok");
                    self.store.outbox_sent(&event.id).await
                }
                Err(reason) => {
                    self.metrics.count("event", "retry");
                    let attempts = u32::try_from(event.attempts).unwrap_or(u32::MAX);
                    let next = now_ms() + ms(backoff(RETRY_BASE, attempts));
                    tracing::warn!(event = %event.id, reason = %reason, attempts, "event not sent; retrying later");
                    let _ = self.store.outbox_retry(&event.id, next).await;
                    return;
                }
            };
            if let Err(err) = outcome {
                tracing::warn!(event = %event.id, error = %err, "event sent but not marked; it may be sent again");
                return;
            }
        }
    }

    /// Publishes one event and waits for the broker's confirm.
    async fn publish(&self, event: &OutboxDoc) -> Result<(), String> {
        let channel = self.channel().await?;
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(event.id.as_str().into())
            .with_type(event.routing_key.as_str().into());
        let confirm = channel
            .basic_publish(
                self.exchange.as_str().into(),
                event.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                event.body.as_bytes(),
                properties,
            )
            .await
            .map_err(|e| self.failed("publish", &e))?
            .await
            .map_err(|e| self.failed("confirm", &e))?;
        match confirm {
            Confirmation::Ack(_) => Ok(()),
            Confirmation::Nack(_) => Err("the broker refused the event".to_owned()),
            Confirmation::NotRequested => Err("publisher confirms are off".to_owned()),
        }
    }

    /// The confirm channel, opened (and the exchange declared) when needed.
    async fn channel(&self) -> Result<Channel, String> {
        let mut current = self.channel.lock().await;
        if let Some(channel) = current.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let connection = self.amqp.connection().map_err(|e| e.to_string())?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.failed("open a channel", &e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| self.failed("enable confirms", &e))?;
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
            .await
            .map_err(|e| self.failed("declare the exchange", &e))?;
        *current = Some(channel.clone());
        Ok(channel)
    }

    fn failed(&self, what: &str, err: &lapin::Error) -> String {
        let _ = self.amqp.unavailable(err);
        format!("{what}: {err}")
    }
}
