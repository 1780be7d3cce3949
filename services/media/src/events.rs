//! The `media.processed` event: an outbox relay from MongoDB to RabbitMQ.
//!
//! The event is written in the asset document itself (`outbox.pending`), so
//! storing the asset and enqueueing its event is one atomic write. The relay
//! publishes pending events to the durable topic exchange with publisher
//! confirms and clears the flag only after the broker's ack: RabbitMQ being
//! down delays events, never loses them. Delivery is at least once (a crash
//! between ack and flag, or two replicas racing, can repeat one); consumers
//! deduplicate on the message id, which is the event id.

use std::{sync::Arc, time::Duration};

use futures::TryStreamExt as _;
use lapin::{
    BasicProperties, Channel, Confirmation, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::FieldTable,
};
use machina_kit::Amqp;
use mongodb::{bson::doc, options::FindOptions};
use serde_json::json;
use tokio::sync::Notify;

use crate::{Store, model::AssetDoc};

/// The routing key (and event type).
pub const ROUTING_KEY: &str = "media.processed";
/// How often the relay looks for pending events when nothing wakes it.
const POLL: Duration = Duration::from_secs(2);
/// Events published per pass.
const BATCH: i64 = 100;

/// Wakes the relay when an asset was stored.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    notify: Arc<Notify>,
}

impl Outbox {
    /// Tells the relay there is something to publish.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// The event body for `asset`.
pub fn event_body(asset: &AssetDoc) -> serde_json::Value {
    json!({
        "id": asset.outbox.event_id,
        "type": ROUTING_KEY,
        "occurred_at": asset.created_at.try_to_rfc3339_string().unwrap_or_default(),
        "asset": {
            "id": asset.id,
            "filename": asset.filename,
            "content_type": asset.content_type,
            "kind": asset.kind,
            "length": asset.length,
            "sha256": asset.sha256,
            "width": asset.width,
            "height": asset.height,
            "owner": asset.owner,
        },
    })
}

/// Starts the relay; it runs until the runtime stops.
pub fn spawn_relay(store: Store, amqp: Amqp, exchange: String, outbox: Outbox) {
    tokio::spawn(async move {
        let mut channel: Option<Channel> = None;
        loop {
            match relay_pass(&store, &amqp, &exchange, &mut channel).await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(err) => {
                    channel = None;
                    tracing::warn!(error = %err, "media.processed relay pass failed; retrying");
                }
            }
            let _ = tokio::time::timeout(POLL, outbox.notify.notified()).await;
        }
    });
}

/// Publishes up to one batch of pending events; returns how many.
async fn relay_pass(
    store: &Store,
    amqp: &Amqp,
    exchange: &str,
    channel: &mut Option<Channel>,
) -> anyhow::Result<usize> {
    let options = FindOptions::builder()
        .sort(doc! { "created_at": 1 })
        .limit(BATCH)
        .build();
    let pending: Vec<AssetDoc> = store
        .assets()
        .find(doc! { "outbox.pending": true })
        .with_options(options)
        .await?
        .try_collect()
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let channel = match channel.as_ref().filter(|c| c.status().connected()) {
        Some(c) => c.clone(),
        None => {
            let opened = open_channel(amqp, exchange).await?;
            *channel = Some(opened.clone());
            opened
        }
    };
    for asset in &pending {
        publish(&channel, exchange, asset).await?;
        store.mark_published(&asset.id).await?;
        tracing::info!(asset = %asset.id, event = %asset.outbox.event_id, "media.processed published");
    }
    Ok(pending.len())
}

/// A confirm channel with the exchange declared (on every new connection).
async fn open_channel(amqp: &Amqp, exchange: &str) -> anyhow::Result<Channel> {
    let connection = amqp
        .connection()
        .map_err(|_| anyhow::anyhow!("rabbitmq is not connected"))?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(channel)
}

async fn publish(channel: &Channel, exchange: &str, asset: &AssetDoc) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&event_body(asset))?;
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(asset.outbox.event_id.as_str().into())
        .with_type(ROUTING_KEY.into())
        .with_app_id("machina-media".into());
    let confirm = channel
        .basic_publish(
            exchange.into(),
            ROUTING_KEY.into(),
            BasicPublishOptions::default(),
            &body,
            properties,
        )
        .await?
        .await?;
    match confirm {
        Confirmation::Ack(_) => Ok(()),
        Confirmation::Nack(_) => anyhow::bail!("the broker nacked event {}", asset.outbox.event_id),
        Confirmation::NotRequested => anyhow::bail!("publisher confirms are not enabled"),
    }
}
