//! The generative worker: `machina-generative`. Configuration comes from the environment
//! (see the README); everything else lives in the library.

use machina_generative::service::{Config, Connections, Service, jobs};
use machina_kit::auth::JwtVerifier;
use machina_kit::{Amqp, CommonConfig, Metrics, Mongo, Redis, Vars, shutdown_signal, telemetry};
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let common = CommonConfig::from_env("generative")?;
    let telemetry = telemetry::init(&common)?;
    let config = Config::from_vars(&Vars::from_env())?;

    let metrics = Metrics::new();
    let verifier = JwtVerifier::from_vars(&Vars::from_env(), metrics.clone())?;
    let mut connections = Connections {
        metrics: metrics.clone(),
        ..Connections::default()
    };
    if let Some(uri) = &common.mongodb_uri {
        connections.mongo = Some(Mongo::connect(uri, &common.service_name, metrics.clone()).await?);
    }
    if let Some(url) = &common.redis_url {
        connections.redis = Some(Redis::connect(url, metrics.clone())?);
    }
    if let Some(url) = &common.amqp_url {
        connections.amqp = Some(Amqp::connect(url, &common.service_name, metrics.clone())?);
    }
    let mongo = connections.mongo.clone();
    let service = Service::build(config, connections).await?;
    let background = service.spawn_background();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = jobs::spawn_worker(service.clone(), stopped.clone());
    let mut on_signal = stopped;
    let signal = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    tokio::spawn(signal);
    let shutdown = async move {
        let _ = on_signal.wait_for(|stop| *stop).await;
    };

    let (listener, addr) = machina_kit::bind(common.listen_addr).await?;
    tracing::info!(addr = %addr, pipeline = %service.name(), secured = verifier.is_some(), "listening");
    service
        .app(&common, verifier)
        .serve(listener, shutdown)
        .await?;

    // The consumer stopped taking jobs with the signal; let the ones in flight finish.
    if let Some(worker) = worker
        && tokio::time::timeout(common.shutdown_grace, worker)
            .await
            .is_err()
    {
        tracing::warn!("jobs still running after the grace period; they will be redelivered");
    }
    for task in background {
        task.abort();
    }
    // Stop the driver's background tasks before the runtime goes (else they panic on exit).
    if let Some(mongo) = mongo {
        let shutdown = mongo.client().clone().shutdown().immediate(true);
        let _ = tokio::time::timeout(Duration::from_secs(2), shutdown).await;
    }
    telemetry.shutdown();
    Ok(())
}
