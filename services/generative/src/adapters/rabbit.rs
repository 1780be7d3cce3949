//! RabbitMQ: [`AmqpPublisher`], the [`Publisher`] of Publish components, generation events
//! and jobs (persistent messages, publisher confirms), and [`JobQueue`], the topology of
//! the pipeline's job queue.
//!
//! The job queue is a durable quorum queue with `x-delivery-limit` and a dead-letter
//! exchange `<queue>.dlx` (fanout) bound to `<queue>.dlq`: a job redelivered more than the
//! limit (a worker crashing on it every time) or rejected without requeue lands there.

use crate::backends::{BackendError, Message, Publisher};
use async_trait::async_trait;
use lapin::Confirmation;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ExchangeKind};
use machina_kit::Amqp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Publishes with confirms on one channel, reopened when it is lost.
#[derive(Debug)]
pub struct AmqpPublisher {
    amqp: Amqp,
    events_exchange: String,
    provisioned: bool,
    channel: Mutex<Option<Channel>>,
}

fn amqp_error(operation: &str, err: impl ToString) -> BackendError {
    BackendError::new(operation, err)
}

impl AmqpPublisher {
    /// A publisher over `amqp`; messages without an exchange go to `events_exchange`
    /// (a durable topic exchange, declared on first use).
    pub fn new(amqp: Amqp, events_exchange: impl Into<String>) -> Self {
        Self {
            amqp,
            events_exchange: events_exchange.into(),
            provisioned: false,
            channel: Mutex::new(None),
        }
    }

    /// With `provisioned`, the events exchange was declared by whoever owns the topology
    /// (the operator) and is only checked (a passive declare, which needs no configure
    /// permission: a pipeline's RabbitMQ user may only write to it).
    pub fn provisioned(mut self, provisioned: bool) -> Self {
        self.provisioned = provisioned;
        self
    }

    /// The events exchange.
    pub fn events_exchange(&self) -> &str {
        &self.events_exchange
    }

    /// The open confirm channel, opened (and the events exchange declared) when needed.
    async fn channel(&self) -> Result<Channel, BackendError> {
        let mut current = self.channel.lock().await;
        if let Some(channel) = current.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let connection = connected(&self.amqp).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.failed("open a channel", &e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| self.failed("enable publisher confirms", &e))?;
        declare_events_exchange(&channel, &self.events_exchange, self.provisioned)
            .await
            .map_err(|e| self.failed("declare the events exchange", &e))?;
        *current = Some(channel.clone());
        Ok(channel)
    }

    fn failed(&self, operation: &str, err: &lapin::Error) -> BackendError {
        let _ = self.amqp.unavailable(err);
        amqp_error(operation, err)
    }
}

/// How long a publish waits for a lost connection to come back before failing.
const RECONNECT_WAIT: Duration = Duration::from_secs(5);

/// The open connection, waiting up to [`RECONNECT_WAIT`] for the kit's supervisor to
/// reconnect after a loss (the broker closes a connection on some channel errors).
pub async fn connected(amqp: &Amqp) -> Result<Arc<Connection>, BackendError> {
    tokio::time::timeout(RECONNECT_WAIT, amqp.connected())
        .await
        .map_err(|_| amqp_error("connect to rabbitmq", "not connected"))
}

/// Declares the durable topic exchange events go to (idempotent); `passive` only checks
/// that it exists.
pub async fn declare_events_exchange(
    channel: &Channel,
    exchange: &str,
    passive: bool,
) -> lapin::Result<()> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                passive,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}

/// Publishes refused by the broker (a nack) before giving up.
const NACKED_ATTEMPTS: u32 = 3;

/// How one publish ended.
enum Published {
    /// Confirmed.
    Confirmed,
    /// Nacked: the broker did not take the message (a quorum queue without a leader yet,
    /// e.g. just declared on a busy broker), so publishing it again is safe.
    Refused,
}

impl AmqpPublisher {
    async fn publish_once(&self, message: &Message) -> Result<Published, BackendError> {
        let channel = self.channel().await?;
        let exchange = message
            .exchange
            .clone()
            .unwrap_or_else(|| self.events_exchange.clone());
        // Straight to a queue (the default exchange): an unroutable job must fail.
        let mandatory = exchange.is_empty();
        let payload = serde_json::to_vec(&message.payload)
            .map_err(|e| amqp_error("encode the message", e))?;
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message.message_id.clone().into());
        let confirm = channel
            .basic_publish(
                exchange.as_str().into(),
                message.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory,
                    ..BasicPublishOptions::default()
                },
                &payload,
                properties,
            )
            .await
            .map_err(|e| self.failed("publish", &e))?
            .await
            .map_err(|e| self.failed("confirm a publish", &e))?;
        match confirm {
            Confirmation::Ack(None) => Ok(Published::Confirmed),
            Confirmation::Ack(Some(_)) => Err(amqp_error(
                "publish",
                format!(
                    "no queue is bound to {exchange:?} with routing key {}",
                    message.routing_key
                ),
            )),
            Confirmation::Nack(_) => Ok(Published::Refused),
            Confirmation::NotRequested => Err(amqp_error("publish", "confirms are not enabled")),
        }
    }
}

#[async_trait]
impl Publisher for AmqpPublisher {
    async fn publish(&self, message: &Message) -> Result<(), BackendError> {
        for attempt in 1..=NACKED_ATTEMPTS {
            if let Published::Confirmed = self.publish_once(message).await? {
                return Ok(());
            }
            tracing::warn!(
                routing_key = %message.routing_key,
                attempt,
                "the broker refused a message; publishing it again"
            );
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
        Err(amqp_error("publish", "the broker refused the message"))
    }
}

/// The pipeline's job queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobQueue {
    /// Queue name.
    pub name: String,
    /// Deliveries of a job before it is dead-lettered (`x-delivery-limit`).
    pub max_deliveries: u32,
    /// Provisioned by the operator, with its own arguments and no configure permission for
    /// the worker: only checked (passive declare), never declared.
    pub provisioned: bool,
}

impl JobQueue {
    /// The dead-letter exchange.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.name)
    }

    /// The dead-letter queue.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dlq", self.name)
    }

    /// Declares the queue, the dead-letter exchange and queue, and their binding.
    /// Idempotent: every declaration uses the same arguments each time.
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        if self.provisioned {
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(self.name.as_str().into(), passive, FieldTable::default())
                .await?;
            return Ok(());
        }
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let dlx = self.dead_letter_exchange();
        let dlq = self.dead_letter_queue();
        channel
            .exchange_declare(
                dlx.as_str().into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(dlq.as_str().into(), durable, quorum())
            .await?;
        channel
            .queue_bind(
                dlq.as_str().into(),
                dlx.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut arguments = quorum();
        arguments.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(self.max_deliveries)),
        );
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(LongString::from(dlx.as_str())),
        );
        channel
            .queue_declare(self.name.as_str().into(), durable, arguments)
            .await?;
        Ok(())
    }
}

fn quorum() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    arguments
}

/// How many times the broker delivered this message before (`x-delivery-count`, set by
/// quorum queues on redelivery); 0 on the first delivery.
pub fn delivery_count(properties: &BasicProperties) -> u32 {
    let Some(headers) = properties.headers() else {
        return 0;
    };
    let value = headers
        .inner()
        .iter()
        .find(|(k, _)| k.as_str() == "x-delivery-count")
        .map(|(_, v)| v);
    let count = match value {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        Some(AMQPValue::LongUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortUInt(n)) => i64::from(*n),
        _ => 0,
    };
    u32::try_from(count).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk_properties(count: Option<AMQPValue>) -> BasicProperties {
        let mut headers = FieldTable::default();
        headers.insert("other".into(), AMQPValue::LongInt(7));
        if let Some(count) = count {
            headers.insert("x-delivery-count".into(), count);
        }
        BasicProperties::default().with_headers(headers)
    }

    #[test]
    fn reads_the_delivery_count_in_any_integer_width() {
        assert_eq!(delivery_count(&BasicProperties::default()), 0);
        assert_eq!(delivery_count(&mk_properties(None)), 0);
        let long = mk_properties(Some(AMQPValue::LongLongInt(3)));
        assert_eq!(delivery_count(&long), 3);
        let short = mk_properties(Some(AMQPValue::ShortInt(2)));
        assert_eq!(delivery_count(&short), 2);
        let negative = mk_properties(Some(AMQPValue::LongInt(-1)));
        assert_eq!(delivery_count(&negative), 0);
    }

    #[test]
    fn names_the_dead_letter_topology_after_the_queue() {
        let queue = JobQueue {
            name: "machina.generative.copy".into(),
            max_deliveries: 5,
            provisioned: false,
        };
        assert_eq!(queue.dead_letter_exchange(), "machina.generative.copy.dlx");
        assert_eq!(queue.dead_letter_queue(), "machina.generative.copy.dlq");
    }
}
