//! `media.processed` arrives on a queue bound to the changes exchange.

use std::time::Duration;

use futures::StreamExt as _;
use image::ImageFormat;
use lapin::{
    ExchangeKind,
    options::{BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::FieldTable,
};
use machina_devenv::BackingServices;
use serde_json::Value;

use crate::helpers::{image_bytes, restart, spawn_app, spawn_with};

/// A consumer on a fresh queue bound to `exchange` for `media.*`.
async fn bind(exchange: &str) -> (lapin::Connection, lapin::Consumer) {
    let connection = BackingServices::load_or_panic().amqp().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
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
        .unwrap();
    let exclusive = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..Default::default()
    };
    let queue = channel
        .queue_declare("".into(), exclusive, FieldTable::default())
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.name().clone(),
            exchange.into(),
            "media.*".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let consumer = channel
        .basic_consume(
            queue.name().clone(),
            "test".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    (connection, consumer)
}

#[tokio::test]
async fn media_processed_arrives_on_a_bound_queue() {
    let app = spawn_app().await;
    let (_connection, mut consumer) = bind(&app.exchange).await;
    let id = app
        .upload_ok(image_bytes(32, 16, ImageFormat::Png), "a.png", "image/png")
        .await;
    let delivery = tokio::time::timeout(Duration::from_secs(15), consumer.next())
        .await
        .expect("an event within 15 s")
        .unwrap()
        .unwrap();
    assert_eq!(delivery.routing_key.as_str(), "media.processed");
    let event: Value = serde_json::from_slice(&delivery.data).unwrap();
    assert_eq!(event["type"], "media.processed");
    assert_eq!(event["asset"]["id"], id.as_str());
    assert_eq!(event["asset"]["width"], 32);
    assert_eq!(
        delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str()),
        event["id"].as_str()
    );
    // The outbox entry is cleared once confirmed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asset = app.media.asset(&id).await.unwrap();
    assert!(!asset.outbox.pending);
}

#[tokio::test]
async fn an_event_waits_in_the_outbox_while_rabbitmq_is_unreachable() {
    // Nothing listens on port 1: the relay cannot connect.
    let down = spawn_with(&[("AMQP_URL", "amqp://nobody:nothing@127.0.0.1:1/%2f")]).await;
    let (_connection, mut consumer) = bind(&down.exchange).await;
    let id = down
        .upload_ok(image_bytes(8, 8, ImageFormat::Png), "a.png", "image/png")
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        down.media.asset(&id).await.unwrap().outbox.pending,
        "kept while RabbitMQ is down"
    );

    // Another replica (or this one after a restart) with RabbitMQ back publishes it.
    let _up = restart(&down).await;
    let delivery = tokio::time::timeout(Duration::from_secs(15), consumer.next())
        .await
        .expect("the pending event within 15 s")
        .unwrap()
        .unwrap();
    let event: Value = serde_json::from_slice(&delivery.data).unwrap();
    assert_eq!(event["asset"]["id"], id.as_str());
}
