//! Assembly of the `serve` and `store` roles: topology and indexes, the HTTP app, the
//! store consumer.

use crate::amqp::Publisher;
use crate::amqp::topology::declare_store_queue;
use crate::config::Config;
use crate::http::{AppState, router};
use crate::store::EventStore;
use crate::store::consumer::StoreConsumer;
use machina_kit::{Amqp, App, CommonConfig, Metrics, Mongo};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long startup waits for RabbitMQ before declaring the topology in the background.
const STARTUP_WAIT: Duration = Duration::from_secs(10);

/// The service's connections.
#[derive(Debug, Clone)]
pub struct Connections {
    /// MongoDB.
    pub mongo: Mongo,
    /// RabbitMQ.
    pub amqp: Amqp,
    /// The metrics registry shared with the connections.
    pub metrics: Metrics,
}

/// The `events` collection of `config`'s database.
pub fn event_store(connections: &Connections, config: &Config) -> EventStore {
    EventStore::new(&connections.mongo.client().database(&config.database))
}

/// Declares the exchange and store queue and creates the indexes; retried in the
/// background until both succeed (the API answers 503 meanwhile).
pub async fn prepare(connections: &Connections, config: &Config) -> anyhow::Result<()> {
    let store = event_store(connections, config);
    store.ensure_indexes(config.retention_days).await?;
    let connection = tokio::time::timeout(STARTUP_WAIT, connections.amqp.connected())
        .await
        .map_err(|_| anyhow::anyhow!("rabbitmq did not connect within {STARTUP_WAIT:?}"))?;
    let channel = connection.create_channel().await?;
    declare_store_queue(&channel, &config.events_exchange, &config.store_queue).await?;
    let _ = channel.close(200, "declared".into()).await;
    Ok(())
}

/// Runs [`prepare`] until it succeeds.
pub async fn prepare_until_done(connections: Connections, config: Arc<Config>) {
    let mut delay = Duration::from_millis(500);
    while let Err(e) = prepare(&connections, &config).await {
        tracing::warn!(error = %e, retry_in_ms = delay.as_millis(), "cannot prepare the topology and indexes yet");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// The HTTP app of `serve`.
pub fn app(
    common: &CommonConfig,
    config: Arc<Config>,
    connections: &Connections,
    verifier: Option<machina_kit::auth::JwtVerifier>,
) -> App {
    let state = AppState {
        publisher: Arc::new(Publisher::new(
            connections.amqp.clone(),
            config.events_exchange.clone(),
            config.publish_channels,
            config.publish_pack,
        )),
        store: event_store(connections, &config),
        config,
    };
    App::new(common, router(state, verifier))
        .with_metrics(connections.metrics.clone())
        .readiness_check(connections.mongo.readiness_check())
        .readiness_check(connections.amqp.readiness_check())
}

/// The store consumer of `config`, stopping with `shutdown`.
pub fn spawn_store_consumer(
    connections: &Connections,
    config: &Config,
    shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let consumer = StoreConsumer {
        amqp: connections.amqp.clone(),
        exchange: config.events_exchange.clone(),
        queue: config.store_queue.clone(),
        batch: config.store_batch,
        store: event_store(connections, config),
    };
    tokio::spawn(consumer.run(shutdown))
}
