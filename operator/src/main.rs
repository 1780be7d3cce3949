//! The operator's binary: flags (with environment fallbacks, as set in
//! `config/manager/manager.yaml`), logging, the HTTP endpoints, leader election, then the
//! controllers until SIGTERM.

use anyhow::Context as _;
use clap::Parser;
use machina_operator::context::{Config, Context, Diagnostics};
use machina_operator::controllers::{self, backends::ProvisionerBackends};
use machina_operator::leader::{LeaderElector, LeaseConfig};
use machina_operator::metrics::Metrics;
use machina_operator::telemetry::{self, LogFormat};
use std::sync::Arc;
use tokio::net::TcpListener;

/// The Machina operator.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Comma-separated namespaces to watch; empty: all namespaces.
    #[arg(
        long,
        env = "MACHINA_WATCH_NAMESPACES",
        value_delimiter = ',',
        default_value = ""
    )]
    watch_namespaces: Vec<String>,
    /// Run controllers only while holding the leader Lease.
    #[arg(long, env = "MACHINA_LEADER_ELECTION", default_value_t = false, action = clap::ArgAction::Set)]
    leader_election: bool,
    /// Name of the leader Lease.
    #[arg(long, env = "MACHINA_LEASE_NAME", default_value = "machina-operator")]
    lease_name: String,
    /// Identity of this replica (the pod name).
    #[arg(long, env = "POD_NAME")]
    pod_name: Option<String>,
    /// Namespace of the leader Lease (the operator's).
    #[arg(long, env = "POD_NAMESPACE", default_value = "machina-system")]
    pod_namespace: String,
    /// Log format.
    #[arg(long, env = "MACHINA_LOG_FORMAT", value_enum, default_value = "json")]
    log_format: LogFormat,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "MACHINA_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: String,
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    telemetry::init(args.log_format);
    // The workspace enables both of rustls' providers (ring through kube, aws-lc-rs through
    // other crates), so rustls cannot pick one by itself: kube's client needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = kube::Client::try_default()
        .await
        .context("Failed to configure the Kubernetes client")?;
    let identity = args
        .pod_name
        .clone()
        .unwrap_or_else(|| format!("machina-operator-{}", std::process::id()));
    let config = Config {
        watch_namespaces: args
            .watch_namespaces
            .iter()
            .map(|ns| ns.trim().to_owned())
            .filter(|ns| !ns.is_empty())
            .collect(),
        instance: Some(identity.clone()),
        ..Config::default()
    };
    tracing::info!(namespaces = ?config.watch_namespaces, leader_election = args.leader_election, "starting");
    let metrics = Metrics::default();
    let diagnostics = Arc::new(Diagnostics::default());
    let ctx = Arc::new(Context::new(
        client.clone(),
        config,
        Arc::new(ProvisionerBackends::default()),
        metrics.clone(),
        diagnostics.clone(),
    ));
    let listener = TcpListener::bind(&args.http_addr)
        .await
        .with_context(|| format!("Failed to bind {}", args.http_addr))?;
    let (stop_http, stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(machina_operator::http::serve(
        listener,
        metrics,
        diagnostics.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    let outcome = if args.leader_election {
        let elector = LeaderElector::new(
            client,
            LeaseConfig::new(args.lease_name, args.pod_namespace, identity),
        );
        run_as_leader(&elector, ctx, &diagnostics).await
    } else {
        diagnostics.set_leader(true);
        controllers::run(ctx).await;
        Ok(())
    };
    let _ = stop_http.send(());
    http.await
        .context("HTTP server task failed")?
        .context("HTTP server failed")?;
    tracing::info!("stopped");
    outcome
}

/// Waits for the Lease (a standby is ready), runs the controllers while renewing it,
/// and releases it on shutdown. Losing the Lease is fatal: the pod restarts as a standby.
async fn run_as_leader(
    elector: &LeaderElector,
    ctx: Arc<Context>,
    diagnostics: &Arc<Diagnostics>,
) -> anyhow::Result<()> {
    let on_attempt = |acquired: bool| {
        diagnostics.set_leader(acquired);
        // A standby is ready; the leader is ready once its watchers have synced.
        diagnostics.set_ready(!acquired);
    };
    tokio::select! {
        () = elector.acquire(on_attempt) => {}
        () = shutdown_signal() => return Ok(()),
    }
    let outcome = tokio::select! {
        () = controllers::run(ctx) => Ok(()),
        () = elector.keep_renewing() => Err(anyhow::anyhow!("lost the leader lease")),
    };
    diagnostics.set_leader(false);
    if let Err(e) = elector.release().await {
        tracing::warn!(error = %e, "failed to release the leader lease");
    }
    outcome
}
