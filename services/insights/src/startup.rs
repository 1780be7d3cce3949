//! [`Application`]: connects MongoDB and Redis, starts the schedule, serves.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use machina_kit::{App, Metrics, Mongo, Redis, shutdown_signal};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::{
    Config, Insights,
    cache::{Cache, listen_for_updates},
    hot::HotCache,
    service::{Admin, routes},
    state::StateStore,
    store::EventStore,
};

/// A built service bound to its listener, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    app: App,
    insights: Arc<Insights>,
    background: Background,
}

/// Background tasks, aborted when the application is dropped.
#[derive(Debug, Default)]
struct Background(Vec<JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

impl Application {
    /// Binds `LISTEN_ADDR` (port 0 picks a free port), prepares the clients
    /// (neither waits for its server) and starts the schedule.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let mongo = Mongo::connect(
            &config.mongodb_uri,
            &config.common.service_name,
            metrics.clone(),
        )
        .await
        .context("Failed to set up the MongoDB client")?;
        let redis = Redis::connect(&config.redis_url, metrics.clone())
            .context("Failed to set up the Redis client")?;
        let store = EventStore::new(mongo.clone(), &config.database, &config.collection);
        let state = StateStore::new(&mongo, &config.database);
        let hot = HotCache::new(config.hot_ttl, config.hot_entries);
        let cache = Cache::new(redis.clone(), &config.redis_prefix, config.cache_ttl, hot);
        // A second client for the pub/sub subscription (a subscribed
        // connection cannot run commands).
        let updates =
            redis::Client::open(machina_kit::hosts::rewrite_url(config.redis_url.expose()))
                .context("Failed to set up the Redis subscription client")?;
        let admin = Admin::new(config.admin_token.clone(), config.jwt.clone());
        let insights = Arc::new(Insights::new(
            store,
            state,
            cache.clone(),
            config.params.clone(),
            config.step.clone(),
            admin,
        ));

        // Readiness is Redis only: reads never touch MongoDB, so a MongoDB
        // outage must not take cached answers out of rotation.
        let app = App::new(&config.common, routes::router(Arc::clone(&insights)))
            .with_metrics(metrics)
            .readiness_check(redis.readiness_check());
        let addr = config.common.listen_addr;
        let (listener, bound) = machina_kit::bind(addr).await?;
        let port = bound.port();
        let background = Background(vec![
            tokio::spawn(schedule(
                Arc::clone(&insights),
                config.recompute_interval,
                config.recompute_on_start,
            )),
            tokio::spawn(schedule_steps(
                Arc::clone(&insights),
                config.incremental_interval,
            )),
            tokio::spawn(poll_generation(
                Arc::clone(&insights),
                config.generation_poll,
            )),
            tokio::spawn(listen_for_updates(cache, updates)),
        ]);
        Ok(Self {
            listener,
            port,
            app,
            insights,
            background,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service's operations (tests trigger recomputes through it).
    pub fn insights(&self) -> Arc<Insights> {
        Arc::clone(&self.insights)
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
        tracing::info!(port = self.port, "insights service listening");
        let _background = self.background;
        self.app
            .serve(self.listener, shutdown)
            .await
            .context("HTTP server failed")
    }
}

/// Computes at start when nothing is cached, then every `interval`.
async fn schedule(insights: Arc<Insights>, interval: Option<Duration>, on_start: bool) {
    if on_start {
        match insights.cache().refresh_generation().await {
            Ok(Some(g)) => tracing::info!(generation = g, "serving cached results"),
            Ok(None) => run_once(&insights).await,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the current generation; computing")
            }
        }
    }
    let Some(interval) = interval else { return };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        run_once(&insights).await;
    }
}

async fn run_once(insights: &Insights) {
    if let Err(err) = insights.recompute_when_free().await {
        tracing::warn!(error = %err, "scheduled recompute failed; keeping the previous results");
    }
}

/// Folds new events into the recommendations every `interval`.
async fn schedule_steps(insights: Arc<Insights>, interval: Option<Duration>) {
    let Some(interval) = interval else { return };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match insights.step_when_free().await {
            Ok(_) => {}
            Err(crate::Error::Busy) => {
                tracing::debug!("another replica is computing; step skipped")
            }
            Err(err) => {
                tracing::warn!(error = %err, "incremental step failed; the next one retries")
            }
        }
    }
}

/// Picks up generations published by other replicas.
async fn poll_generation(insights: Arc<Insights>, every: Duration) {
    if every.is_zero() {
        return;
    }
    loop {
        tokio::time::sleep(every).await;
        if let Err(err) = insights.cache().refresh_generation().await {
            tracing::debug!(error = %err, "cannot refresh the current generation");
        }
    }
}
