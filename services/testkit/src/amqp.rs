//! [`Tap`]: a test's view of a topic exchange, on its own exclusive queue.

use std::time::Duration;

use futures::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{
    BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Consumer, ExchangeKind};

/// A consumer on a fresh exclusive queue bound to a durable topic exchange (declared if
/// missing, as the service declares it), auto-acknowledging.
pub struct Tap {
    _channel: Channel,
    consumer: Consumer,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").finish_non_exhaustive()
    }
}

impl Tap {
    /// Binds a new queue to `exchange` for `pattern` on `connection` (kept open by the caller).
    pub async fn bind(connection: &Connection, exchange: &str, pattern: &str) -> Self {
        let channel = connection.create_channel().await.expect("channel");
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                exchange.into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .expect("exchange declared");
        let exclusive = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..Default::default()
        };
        let queue = channel
            .queue_declare("".into(), exclusive, FieldTable::default())
            .await
            .expect("queue declared");
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("queue bound");
        let no_ack = BasicConsumeOptions {
            no_ack: true,
            ..Default::default()
        };
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "test".into(),
                no_ack,
                FieldTable::default(),
            )
            .await
            .expect("consumer");
        Self {
            _channel: channel,
            consumer,
        }
    }

    /// The next delivery, failing the test when none arrives `within`.
    pub async fn next(&mut self, within: Duration) -> Delivery {
        tokio::time::timeout(within, self.consumer.next())
            .await
            .expect("a message arrives in time")
            .expect("the consumer is open")
            .expect("a delivery")
    }
}
