//! The store consumer: moves events from the store queue into `events`, in batches,
//! acknowledging only after the write (a crash redelivers; the `_id` makes it a no-op).

use super::EventStore;
use crate::amqp::topology::declare_store_queue;
use crate::event::decode_message;
use chrono::Utc;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::FieldTable;
use machina_kit::Amqp;
use std::time::Duration;
use tokio::sync::watch;

/// Where and how the consumer runs.
#[derive(Debug, Clone)]
pub struct StoreConsumer {
    /// RabbitMQ.
    pub amqp: Amqp,
    /// The events exchange.
    pub exchange: String,
    /// The store queue.
    pub queue: String,
    /// Events per write (and prefetch).
    pub batch: u16,
    /// The collection.
    pub store: EventStore,
}

/// Longest a partial batch waits for more events before it is written.
const FLUSH_AFTER: Duration = Duration::from_millis(200);

impl StoreConsumer {
    /// Consumes until `shutdown` turns true, reconnecting after failures.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.consume(&mut shutdown).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, queue = %self.queue, "store consumer failed; restarting");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.wait_for(|s| *s) => return,
                    }
                }
            }
        }
    }

    async fn consume(&self, shutdown: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        let connection = self.amqp.connected().await;
        let channel = connection.create_channel().await?;
        declare_store_queue(&channel, &self.exchange, &self.queue).await?;
        channel
            .basic_qos(self.batch, BasicQosOptions::default())
            .await?;
        let tag = format!("store-{}", uuid::Uuid::new_v4());
        let mut consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue = %self.queue, "storing events");
        loop {
            let mut batch: Vec<Delivery> = Vec::new();
            let deadline = tokio::time::sleep(FLUSH_AFTER);
            tokio::pin!(deadline);
            let mut stopping = false;
            while batch.len() < usize::from(self.batch) {
                tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => { stopping = true; break; }
                    () = &mut deadline, if !batch.is_empty() => break,
                    next = consumer.next() => match next {
                        Some(delivery) => batch.push(delivery?),
                        None => anyhow::bail!("the consumer was cancelled"),
                    },
                }
            }
            self.write(batch).await?;
            if stopping {
                let _ = channel.close(200, "shutdown".into()).await;
                return Ok(());
            }
        }
    }

    /// Writes the events of `batch`, then acknowledges it; messages that are not events
    /// are rejected (dead-lettered where the queue has a dead-letter exchange).
    async fn write(&self, batch: Vec<Delivery>) -> anyhow::Result<()> {
        let now = Utc::now();
        let mut events = Vec::with_capacity(batch.len());
        let mut good = Vec::with_capacity(batch.len());
        for delivery in batch {
            let p = &delivery.properties;
            let id = p.message_id().as_ref().map(|s| s.as_str().to_owned());
            match decode_message(&delivery.data, id.as_deref(), *p.timestamp(), now) {
                Ok(decoded) => {
                    events.extend(decoded);
                    good.push(delivery);
                }
                Err(e) => {
                    tracing::warn!(error = %e, routing_key = %delivery.routing_key, "not an event; rejected");
                    delivery
                        .acker
                        .reject(BasicRejectOptions { requeue: false })
                        .await?;
                }
            }
        }
        let new = self.store.insert(&events, now).await?;
        tracing::debug!(received = events.len(), new, "stored events");
        for delivery in good {
            delivery.acker.ack(BasicAckOptions::default()).await?;
        }
        Ok(())
    }
}
