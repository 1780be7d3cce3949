//! [`Application`]: connects the backing services, builds the router and serves.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use machina_kit::{Amqp, App, Metrics, Mongo, Prepared, auth::JwtVerifier, shutdown_signal};
use tokio::net::TcpListener;

use crate::{
    Config, Media, Store,
    access::Access,
    events::{self, Outbox},
    limiter::Limiter,
    metrics::MediaMetrics,
    routes::{self, AppState},
    service::Limits,
};

/// How long a request may wait in the processing queue before a 503.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// A built service bound to its listener, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    app: App,
    media: Arc<Media>,
}

impl Application {
    /// Binds `LISTEN_ADDR` (port 0 picks a free port), connects MongoDB and
    /// RabbitMQ (when configured), starts the event relay and builds the router.
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
        let verifier = JwtVerifier::from_vars(&config.jwt, metrics.clone())
            .context("Failed to read the JWT settings")?;
        let outbox = Outbox::default();
        let amqp = match &config.common.amqp_url {
            Some(url) => {
                let amqp = Amqp::connect(url, &config.common.service_name, metrics.clone())
                    .context("Failed to set up the RabbitMQ client")?;
                events::spawn_relay(
                    store.clone(),
                    amqp.clone(),
                    config.changes_exchange.clone(),
                    outbox.clone(),
                );
                Some(amqp)
            }
            None => {
                tracing::warn!("AMQP_URL is unset: media.processed events stay in the outbox");
                None
            }
        };
        let media = Arc::new(Media::new(
            store,
            Limiter::new(
                config.processing_concurrency,
                config.processing_queue,
                QUEUE_WAIT,
            ),
            outbox,
            Limits {
                max_upload_bytes: config.max_upload_bytes,
                max_chunk_bytes: config.upload_chunk_bytes,
                max_pixels: config.max_image_pixels,
            },
            config.ffmpeg.clone(),
            config.ffmpeg_timeout,
            MediaMetrics::register(&metrics),
        ));
        let state = AppState {
            media: Arc::clone(&media),
            access: Access::new(verifier, config.signing_keys.clone()),
        };
        let mut app = App::new(&config.common, routes::router(state))
            .with_metrics(metrics)
            .body_limit(config.body_limit())
            .readiness_check(mongo.readiness_check())
            .readiness_check(indexes);
        if let Some(amqp) = &amqp {
            app = app.readiness_check(amqp.readiness_check());
        }
        let (listener, bound) = machina_kit::bind(config.common.listen_addr).await?;
        Ok(Self {
            listener,
            port: bound.port(),
            app,
            media,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service's operations (tests inspect the store through it).
    pub fn media(&self) -> Arc<Media> {
        Arc::clone(&self.media)
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
        tracing::info!(port = self.port, "media service listening");
        self.app
            .serve(self.listener, shutdown)
            .await
            .context("HTTP server failed")
    }
}
