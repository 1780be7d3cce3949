//! [`Application`]: connects the backing services, builds the router, starts the
//! background loops and serves.

use std::{future::Future, sync::Arc};

use anyhow::Context as _;
use machina_kit::{Amqp, App, Metrics, Mongo, Prepared, auth::JwtVerifier, shutdown_signal};
use tokio::net::TcpListener;

use crate::{
    Config, Content, Store,
    metrics::JobMetrics,
    routes,
    worker::{Dispatcher, Relay, Scheduler, Workers},
};

/// A built service bound to its listener, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    app: App,
    content: Arc<Content>,
    workers: Workers,
}

impl Application {
    /// Binds `LISTEN_ADDR` (port 0 picks a free port), connects MongoDB and
    /// RabbitMQ (without waiting for them), creates the indexes, builds the
    /// router and starts the scheduler, outbox relay and webhook dispatcher.
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
        let verifier = JwtVerifier::from_vars(&config.jwt_vars, metrics.clone())
            .context("Failed to set up JWT verification")?;
        if verifier.is_none() {
            tracing::warn!(
                "no JWT_JWKS_URL or JWT_PUBLIC_KEY: every caller is treated as content:admin"
            );
        }
        let content = Arc::new(Content::new(
            store.clone(),
            config.workflow.clone(),
            config.default_locale.clone(),
            config.max_depth,
            config.type_cache_ttl,
        ));

        let jobs = JobMetrics::register(&metrics);
        let mut workers = Workers::default();
        let scheduler = Scheduler::new((*content).clone(), config.claim_lease, jobs.clone());
        workers.every(config.scheduler_interval, move || {
            let scheduler = scheduler.clone();
            async move { scheduler.tick().await }
        });
        let dispatcher = Dispatcher::new(
            store.clone(),
            config.claim_lease,
            config.webhook_retry_base,
            config.webhook_max_attempts,
            config.webhook_timeout,
        )
        .context("Failed to set up the webhook HTTP client")?
        .with_metrics(jobs.clone());
        workers.every(config.outbox_interval, move || {
            let dispatcher = dispatcher.clone();
            async move { dispatcher.tick().await }
        });

        let mut app = App::new(
            &config.common,
            routes::router(Arc::clone(&content), verifier),
        )
        .readiness_check(mongo.readiness_check())
        .readiness_check(indexes);
        match &config.common.amqp_url {
            Some(url) => {
                let amqp = Amqp::connect(url, &config.common.service_name, metrics.clone())
                    .context("Failed to set up the RabbitMQ client")?;
                app = app.readiness_check(amqp.readiness_check());
                let relay = Relay::new(
                    store,
                    amqp,
                    config.changes_exchange.clone(),
                    config.claim_lease,
                    jobs,
                );
                workers.every(config.outbox_interval, move || {
                    let relay = relay.clone();
                    async move { relay.tick().await }
                });
            }
            None => tracing::warn!("no AMQP_URL: content.published events wait in the outbox"),
        }
        let app = app.with_metrics(metrics);
        let (listener, bound) = machina_kit::bind(config.common.listen_addr).await?;
        Ok(Self {
            listener,
            port: bound.port(),
            app,
            content,
            workers,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service's operations (tests inspect the store through it).
    pub fn content(&self) -> Arc<Content> {
        Arc::clone(&self.content)
    }

    /// Serves until SIGTERM or ctrl-c.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.serve_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes; the background loops stop with it.
    pub async fn serve_until<F>(self, shutdown: F) -> anyhow::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tracing::info!(port = self.port, "content service listening");
        let _workers = self.workers;
        self.app
            .serve(self.listener, shutdown)
            .await
            .context("HTTP server failed")
    }
}
