//! [`Application`]: connects the backing services, builds the router and serves.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use machina_kit::{App, Metrics, Mongo, Prepared, Redis, shutdown_signal};
use tokio::net::TcpListener;

use crate::{
    Config, Store, Templates,
    cache::Cache,
    invalidation::{Notifier, Subscriber},
    metrics::RenderMetrics,
    routes,
};

/// How long `build` waits for the invalidation subscription before serving anyway.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(2);

/// A built service bound to its listener, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    app: App,
    templates: Arc<Templates>,
    subscriber: Option<Subscriber>,
}

impl Application {
    /// Binds `LISTEN_ADDR` (port 0 picks a free port), connects MongoDB (and
    /// Redis when configured), creates the indexes and builds the router.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let mongo = Mongo::connect(
            &config.mongodb_uri,
            &config.common.service_name,
            metrics.clone(),
        )
        .await
        .context("Failed to set up the MongoDB client")?;
        let store = Store::new(mongo.clone(), &config.database);
        let indexes = {
            let store = store.clone();
            Prepared::start("mongodb-indexes", move || {
                let store = store.clone();
                async move { store.ensure_indexes().await }
            })
            .await
        };

        let cache = Arc::new(Cache::new(config.active_version_ttl));
        let (redis, subscriber) = match &config.common.redis_url {
            Some(url) => {
                let redis = Redis::connect(url, metrics.clone())
                    .context("Failed to set up the Redis client")?;
                let subscriber = Subscriber::spawn(
                    url,
                    config.changed_channel.clone(),
                    Arc::clone(&cache),
                    metrics.clone(),
                )
                .context("Failed to set up the Redis subscriber")?;
                if !subscriber.wait_subscribed(SUBSCRIBE_WAIT).await {
                    tracing::warn!(
                        "Redis subscription not live yet; caches use the short TTL meanwhile"
                    );
                }
                (Some(redis), Some(subscriber))
            }
            None => (None, None),
        };
        let templates = Arc::new(Templates::new(
            store,
            cache,
            Notifier::new(redis.clone(), config.changed_channel.clone()),
            config.limits,
            RenderMetrics::register(&metrics),
        ));

        let mut app = App::new(&config.common, routes::router(Arc::clone(&templates)))
            .with_metrics(metrics)
            .readiness_check(mongo.readiness_check())
            .readiness_check(indexes);
        if let Some(redis) = &redis {
            app = app.readiness_check(redis.readiness_check());
        }
        let addr = config.common.listen_addr;
        let (listener, bound) = machina_kit::bind(addr).await?;
        let port = bound.port();
        Ok(Self {
            listener,
            port,
            app,
            templates,
            subscriber,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service's operations (tests inspect the store and cache through it).
    pub fn templates(&self) -> Arc<Templates> {
        Arc::clone(&self.templates)
    }

    /// Serves until SIGTERM or ctrl-c.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.serve_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes.
    pub async fn serve_until<F>(self, shutdown: F) -> anyhow::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tracing::info!(port = self.port, "template service listening");
        let _subscriber = self.subscriber;
        self.app
            .serve(self.listener, shutdown)
            .await
            .context("HTTP server failed")
    }
}
