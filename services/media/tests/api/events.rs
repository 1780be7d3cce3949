//! `media.processed` arrives on a queue bound to the changes exchange.

use std::time::Duration;

use image::ImageFormat;
use machina_devenv::BackingServices;
use machina_testkit::Tap;
use serde_json::Value;

use crate::helpers::{image_bytes, restart, spawn_app, spawn_with};

/// A tap on `exchange` for `media.*`, with the connection it lives on.
async fn bind(exchange: &str) -> (lapin::Connection, Tap) {
    let connection = BackingServices::load_or_panic().amqp().await.unwrap();
    let tap = Tap::bind(&connection, exchange, "media.*").await;
    (connection, tap)
}

#[tokio::test]
async fn media_processed_arrives_on_a_bound_queue() {
    let app = spawn_app().await;
    let (_connection, mut tap) = bind(&app.exchange).await;
    let id = app
        .upload_ok(image_bytes(32, 16, ImageFormat::Png), "a.png", "image/png")
        .await;
    let delivery = tap.next(Duration::from_secs(15)).await;
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
    let (_connection, mut tap) = bind(&down.exchange).await;
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
    let delivery = tap.next(Duration::from_secs(15)).await;
    let event: Value = serde_json::from_slice(&delivery.data).unwrap();
    assert_eq!(event["asset"]["id"], id.as_str());
}
