//! The events exchange (durable topic) and the store consumer's durable quorum queue,
//! bound with `#` so every accepted event is routable and kept until stored.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

/// Declares the durable topic exchange (idempotent).
pub async fn declare_exchange(channel: &Channel, exchange: &str) -> lapin::Result<()> {
    let options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            options,
            FieldTable::default(),
        )
        .await
}

/// Declares the store queue (durable, quorum) and binds it to `exchange` with `#`.
pub async fn declare_store_queue(
    channel: &Channel,
    exchange: &str,
    queue: &str,
) -> lapin::Result<()> {
    declare_exchange(channel, exchange).await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), options, arguments)
        .await?;
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}
