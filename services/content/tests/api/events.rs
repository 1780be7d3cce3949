//! `content.published` on RabbitMQ, through the outbox, also across an outage.

use std::time::Duration;

use machina_devenv::{BackingServices, Partition, Vhost};
use machina_testkit::Tap;
use mongodb::bson::doc;
use serde_json::{Value, json};

use crate::helpers::{TestApp, eventually, spawn_with};

const EXCHANGE: &str = "test.changes";

async fn app_on(vhost_url: &str, name: &str) -> TestApp {
    let database = machina_devenv::unique_database_name(name);
    spawn_with(
        &database,
        &[("AMQP_URL", vhost_url), ("CHANGES_EXCHANGE", EXCHANGE)],
    )
    .await
}

async fn vhost(name: &str) -> Vhost {
    let services = BackingServices::load_or_panic();
    services
        .isolated_vhost(name)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn publishing_puts_content_published_on_the_exchange() {
    let vhost = vhost("content_events").await;
    let connection = vhost.connect().await.unwrap();
    let mut tap = Tap::bind(&connection, EXCHANGE, "content.published").await;
    let app = app_on(vhost.amqp_url.expose(), "events_publish").await;
    app.create_article_type().await;
    let id = app
        .create_entry("article", "ev", json!({"title": "Ev"}))
        .await;
    app.move_to(&id, "en", "published").await;

    let message = tap.next(Duration::from_secs(10)).await;
    assert_eq!(message.routing_key.as_str(), "content.published");
    assert_eq!(message.properties.delivery_mode(), &Some(2));
    let body: Value = serde_json::from_slice(&message.data).unwrap();
    assert_eq!(body["event"], "content.published");
    assert_eq!(body["entryId"], id.as_str());
    assert_eq!(body["type"], "article");
    assert_eq!(body["slug"], "ev");
    assert_eq!(body["locale"], "en");
    assert_eq!(body["version"], 1);
    assert_eq!(
        message.properties.message_id().as_ref().map(|m| m.as_str()),
        body["id"].as_str()
    );
    let sent = eventually(Duration::from_secs(5), || async {
        let docs = app.documents("outbox", doc! {"sent": true}).await;
        (docs.len() == 1).then_some(())
    })
    .await;
    assert!(sent.is_some(), "the outbox marks the event sent");
    drop(connection);
    vhost.delete().await.unwrap();
}

#[tokio::test]
async fn an_accepted_publish_survives_a_rabbitmq_outage() {
    let vhost = vhost("content_outage").await;
    let connection = vhost.connect().await.unwrap();
    let mut tap = Tap::bind(&connection, EXCHANGE, "content.published").await;
    let (partition, url) = Partition::in_front_of(vhost.amqp_url.expose())
        .await
        .unwrap();
    let app = app_on(&url, "events_outage").await;
    app.create_article_type().await;
    let id = app
        .create_entry("article", "down", json!({"title": "Down"}))
        .await;

    partition.cut();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.move_to(&id, "en", "published").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let pending = app.documents("outbox", doc! {"sent": false}).await;
    assert_eq!(pending.len(), 1, "the event waits in the outbox");

    partition.restore();
    let message = tap.next(Duration::from_secs(30)).await;
    let body: Value = serde_json::from_slice(&message.data).unwrap();
    assert_eq!(body["entryId"], id.as_str());
    drop(connection);
    vhost.delete().await.unwrap();
}
