//! `devcluster`: serve the Kubernetes API surrogate until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use machina_devcluster::{Config, DevCluster};
use machina_devcluster_node::{ImageMap, KubeletMode, NodeConfig};

/// A local Kubernetes API surrogate for development and end-to-end tests.
#[derive(Debug, Parser)]
#[command(name = "devcluster", version)]
struct Args {
    /// Address to listen on (loopback; port 0 picks a free port).
    #[arg(long, env = "DEVCLUSTER_LISTEN", default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where to write the kubeconfig.
    #[arg(
        long,
        env = "DEVCLUSTER_KUBECONFIG",
        default_value = ".machina/devcluster/kubeconfig"
    )]
    kubeconfig: PathBuf,
    /// Keep objects across restarts in this directory.
    #[arg(long, env = "DEVCLUSTER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Bearer token (random when unset).
    #[arg(long, env = "DEVCLUSTER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Delete scheduled Pods gracefully (the kubelet completes the deletion).
    #[arg(long, env = "DEVCLUSTER_GRACEFUL_POD_DELETION")]
    graceful_pod_deletion: bool,
    /// Serve the API only: no controllers, no process kubelet.
    #[arg(long)]
    no_node: bool,
    /// Image mapping of the process kubelet (which local program runs which image).
    #[arg(
        long,
        env = "DEVCLUSTER_IMAGES",
        default_value = "devcluster/node/images.example.yaml"
    )]
    images: PathBuf,
    /// Where the node keeps pod directories, container logs and hosts files.
    #[arg(
        long,
        env = "DEVCLUSTER_STATE_DIR",
        default_value = ".machina/devcluster/node"
    )]
    state_dir: PathBuf,
    /// How the kubelet runs pods: `process` (local processes from the image mapping) or
    /// `simulated` (kwok-style: pods reported Running and Ready without processes).
    #[arg(long, env = "DEVCLUSTER_KUBELET", default_value = "process")]
    kubelet: KubeletMode,
}

/// Starts the node side (controllers, process kubelet, Service proxy and hosts files,
/// crate `machina-devcluster-node`) as a client of the server; stops when `stop` fires.
fn start_node(
    client: kube::Client,
    args: &Args,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let images = ImageMap::load(&args.images)
        .map_err(|e| anyhow::anyhow!("image mapping {}: {e}", args.images.display()))?;
    let workspace = std::env::current_dir()?;
    // Absolute: pods run in their own working directories and get paths under it.
    let state_dir = std::path::absolute(&args.state_dir)?;
    let mut config = NodeConfig::new(images, workspace, state_dir);
    // Pods that call the API (the gateway's pipeline discovery) read the same kubeconfig.
    config.pod_kubeconfig = Some(std::path::absolute(&args.kubeconfig)?);
    config.kubelet = args.kubelet;
    Ok(tokio::spawn(async move {
        let stopped = async {
            let _ = stop.await;
        };
        if let Err(e) = machina_devcluster_node::run_until(client, config, stopped).await {
            tracing::error!(error = %e, "devcluster node stopped");
        }
    }))
}

/// Ctrl-C or SIGTERM (what `down` scripts send): stop and write the final snapshot.
async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let dc = DevCluster::start(Config {
        bind: args.listen,
        token: args.token.clone(),
        kubeconfig_path: Some(args.kubeconfig.clone()),
        data_dir: args.data_dir.clone(),
        graceful_pod_deletion: args.graceful_pod_deletion,
        ..Config::default()
    })
    .await?;
    let (stop_node, node_stopped) = tokio::sync::oneshot::channel();
    let node = if args.no_node {
        None
    } else {
        Some(start_node(dc.client(), &args, node_stopped)?)
    };
    println!(
        "devcluster serving {} (kubeconfig: {})",
        dc.base_url(),
        dc.kubeconfig_path().display()
    );
    println!("  export KUBECONFIG={}", dc.kubeconfig_path().display());
    wait_for_signal().await?;
    if let Some(node) = node {
        // The node stops its pods' processes (SIGTERM, grace, SIGKILL) before the API goes.
        let _ = stop_node.send(());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), node).await;
    }
    dc.shutdown().await;
    Ok(())
}
