//! devcluster's cluster behaviour: what kube-controller-manager, kubelet and kube-proxy do
//! for the objects Machina creates, written as ordinary kube-rs clients of the API server.
//!
//! # Layout
//!
//! - [`mod@config`]: [`NodeConfig`], what one node needs to know.
//! - [`images`]: the image mapping (configuration) — which local program runs which image.
//! - [`podenv`], [`volumes`]: a container's environment and volumes as the kubelet builds them.
//! - [`controllers`]: Deployment, StatefulSet, Job, CronJob and EndpointSlice controllers.
//! - [`kubelet`]: runs pods bound to this node as local processes, with probes, restarts and logs.
//! - [`proxy`]: cluster IPs, the userspace TCP proxy, hosts files, LoadBalancer publishing.
//! - [`logs`]: the log directory layout the API server reads for `kubectl logs`.
//! - [`cron`], [`backoff`], [`ipam`], [`hosts`]: pure helpers.

#![forbid(unsafe_code)]

pub mod backoff;
pub mod config;
pub mod controllers;
pub mod cron;
pub mod error;
pub mod hosts;
pub mod images;
pub mod ipam;
pub mod kubelet;
pub mod logs;
pub mod podenv;
pub mod proxy;
pub mod volumes;

pub use config::{KubeletMode, NodeConfig, Parts};
pub use error::{Error, Result};
pub use images::ImageMap;

use controllers::Ctx;
use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs the node (controllers, kubelet, proxy, as `config.parts` says) until Ctrl-C or
/// SIGTERM, then stops every pod's processes (SIGTERM, grace period, SIGKILL).
pub async fn run(client: kube::Client, config: NodeConfig) -> Result<()> {
    run_until(client, config, shutdown_signal()).await
}

/// Runs the node until `shutdown` resolves, then stops every pod's processes and returns.
pub async fn run_until(
    client: kube::Client,
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    for dir in [config.log_dir(), config.hosts_dir(), config.pods_dir()] {
        std::fs::create_dir_all(&dir).map_err(Error::io("create state dir", &dir))?;
    }
    let stop = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    if config.parts.controllers {
        let ctx = Arc::new(Ctx {
            client: client.clone(),
            config: config.clone(),
        });
        tasks.spawn(controllers::deployment::run(ctx.clone(), stop.clone()));
        tasks.spawn(controllers::statefulset::run(ctx.clone(), stop.clone()));
        tasks.spawn(controllers::job::run(ctx.clone(), stop.clone()));
        tasks.spawn(controllers::cronjob::run(ctx.clone(), stop.clone()));
        tasks.spawn(controllers::endpointslice::run(ctx, stop.clone()));
    }
    if config.parts.kubelet {
        tasks.spawn(kubelet::run(client.clone(), config.clone(), stop.clone()));
    }
    if config.parts.proxy {
        tasks.spawn(proxy::run(client, config, stop.clone()));
    }
    shutdown.await;
    tracing::info!("node shutting down");
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
