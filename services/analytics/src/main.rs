//! `machina-analytics [serve|store|worker]`: configuration from the environment (see the
//! README); everything else lives in the library.

use machina_analytics::config::Config;
use machina_analytics::service::{self, Connections};
use machina_analytics::store::EventStore;
use machina_analytics::worker::{Sink, WorkerConfig, WorkerMode, scheduled, streaming};
use machina_kit::{
    Amqp, App, CommonConfig, Metrics, Mongo, Secret, Vars, shutdown_signal, telemetry,
};
use std::sync::Arc;
use tokio::sync::watch;

fn required(value: Option<&Secret<String>>, name: &str) -> anyhow::Result<Secret<String>> {
    value
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("environment variable {name} is required but not set"))
}

async fn connect(common: &CommonConfig) -> anyhow::Result<Connections> {
    let metrics = Metrics::new();
    let mongo = Mongo::connect(
        &required(common.mongodb_uri.as_ref(), "MONGODB_URI")?,
        &common.service_name,
        metrics.clone(),
    )
    .await?;
    let amqp = Amqp::connect(
        &required(common.amqp_url.as_ref(), "AMQP_URL")?,
        &common.service_name,
        metrics.clone(),
    )?;
    Ok(Connections {
        mongo,
        amqp,
        metrics,
    })
}

/// A shutdown flag set by SIGTERM / ctrl-c.
fn shutdown_flag() -> watch::Receiver<bool> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    stopped
}

/// Completes when the shutdown flag is set.
async fn on(mut flag: watch::Receiver<bool>) {
    let _ = flag.wait_for(|s| *s).await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let role = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let common = CommonConfig::from_env("analytics")?;
    let _telemetry = telemetry::init(&common)?;
    let vars = Vars::from_env();
    match role.as_str() {
        "serve" | "store" => serve(&common, &vars, role == "store").await,
        "worker" => worker(&common, &vars).await,
        other => anyhow::bail!("unknown command {other:?}: expected serve, store or worker"),
    }
}

/// `serve`: the API (and the store consumer unless `STORE_CONSUMER=false`);
/// `store`: the store consumer alone, with the ops endpoints.
async fn serve(common: &CommonConfig, vars: &Vars, store_only: bool) -> anyhow::Result<()> {
    let config = Arc::new(Config::from_vars(vars)?);
    let connections = connect(common).await?;
    tokio::spawn(service::prepare_until_done(
        connections.clone(),
        config.clone(),
    ));
    let stopped = shutdown_flag();
    let consumer = (store_only || config.store_consumer)
        .then(|| service::spawn_store_consumer(&connections, &config, stopped.clone()));
    let app = if store_only {
        App::new(common, axum::Router::new())
            .with_metrics(connections.metrics.clone())
            .readiness_check(connections.mongo.readiness_check())
    } else {
        let verifier =
            machina_kit::auth::JwtVerifier::from_vars(vars, connections.metrics.clone())?;
        service::app(common, config.clone(), &connections, verifier)
    };
    let listener = tokio::net::TcpListener::bind(common.listen_addr).await?;
    tracing::info!(addr = %common.listen_addr, role = if store_only { "store" } else { "serve" }, "listening");
    app.serve(listener, on(stopped)).await?;
    if let Some(consumer) = consumer {
        let _ = tokio::time::timeout(common.shutdown_grace, consumer).await;
    }
    Ok(())
}

/// `worker`: the AnalyticsJob worker; Streaming runs until stopped, Scheduled runs once.
async fn worker(common: &CommonConfig, vars: &Vars) -> anyhow::Result<()> {
    let config = WorkerConfig::from_vars(vars)?;
    let connections = connect(common).await?;
    let db = connections.mongo.client().database(&config.database);
    let sink = Sink::new(&db, &config);
    sink.ensure_indexes().await?;
    let stopped = shutdown_flag();
    let app = App::new(common, axum::Router::new())
        .with_metrics(connections.metrics.clone())
        .readiness_check(connections.mongo.readiness_check());
    let listener = tokio::net::TcpListener::bind(common.listen_addr).await?;
    let http = tokio::spawn(app.serve(listener, on(stopped.clone())));
    match config.mode {
        WorkerMode::Streaming => {
            tracing::info!(job = %config.job_name, queue = %config.queue, "streaming worker");
            streaming::run(config, sink, connections.amqp.clone(), stopped).await;
            let _ = http.await;
        }
        WorkerMode::Scheduled => {
            let summary =
                scheduled::run_once(&config, &sink, &EventStore::new(&db), chrono::Utc::now())
                    .await?;
            tracing::info!(job = %config.job_name, events = summary.events, rollups = summary.rollups, from = %summary.from, to = %summary.to, "scheduled run done");
            http.abort();
        }
    }
    Ok(())
}
