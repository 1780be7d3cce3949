//! [`Harness`]: a devcluster API server and its node, in this process, with kubectl ready.

use crate::kubectl::Kubectl;
use machina_devcluster::{Config, DevCluster};
use machina_devcluster_node::{ImageMap, NodeConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A running devcluster with its node; stops both when dropped.
pub struct Harness {
    /// The API server.
    pub cluster: DevCluster,
    /// kubectl configured for it.
    pub kubectl: Kubectl,
    /// The repository root.
    pub root: PathBuf,
    /// The directory of the workspace's debug binaries.
    pub bin_dir: PathBuf,
    /// Where the node keeps pod directories, logs and hosts files, and tests their logs.
    pub state_dir: PathBuf,
    hosts_dir: PathBuf,
    stop_node: Option<tokio::sync::oneshot::Sender<()>>,
    node: Option<tokio::task::JoinHandle<()>>,
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
}

/// The directory of the binaries built with the tests (`target/debug`, or the same
/// under `CARGO_TARGET_DIR`): the test executable lives in its `deps/`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_owned)
        .expect("target/<profile>/deps")
}

/// The image mapping of `devcluster/node/images.example.yaml` (its `${TARGET_DIR}` is
/// `CARGO_TARGET_DIR` or `<workspace>/target`, where the tests' binaries are).
fn image_map(root: &Path) -> ImageMap {
    let path = root.join("devcluster/node/images.example.yaml");
    ImageMap::load(&path).unwrap_or_else(|e| panic!("image mapping {}: {e}", path.display()))
}

impl Harness {
    /// Starts the API server and the node, and applies the CRDs with kubectl.
    pub async fn start(name: &str) -> Self {
        let root = repo_root();
        let bin_dir = bin_dir();
        let state_dir =
            std::env::temp_dir().join(format!("machina-e2e-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&state_dir).expect("state dir");
        let cluster = DevCluster::start(Config {
            kubeconfig_path: Some(state_dir.join("kubeconfig")),
            ..Config::default()
        })
        .await
        .expect("devcluster starts");
        let mut node_config =
            NodeConfig::new(image_map(&root), root.clone(), state_dir.join("node"));
        // Address blocks of their own, so a quickstart on this machine never collides.
        let n = u8::try_from(std::process::id() % 20).unwrap_or(0);
        node_config.pod_block = 30 + n;
        node_config.service_block = 60 + n;
        node_config.load_balancer_block = 90 + n;
        node_config.max_grace = Duration::from_secs(5);
        node_config.pod_kubeconfig = Some(cluster.kubeconfig_path().to_owned());
        let hosts_dir = node_config.hosts_dir();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let client = cluster.client();
        let node = tokio::spawn(async move {
            let stopped = async {
                let _ = stop_rx.await;
            };
            if let Err(e) = machina_devcluster_node::run_until(client, node_config, stopped).await {
                eprintln!("devcluster node stopped: {e}");
            }
        });
        let kubectl = Kubectl::new(cluster.kubeconfig_path(), &root);
        kubectl
            .ok(&["apply", "--server-side", "-f", "config/crd/bases"])
            .await;
        for crd in [
            "platforms",
            "templates",
            "contentpipelines",
            "analyticsjobs",
        ] {
            kubectl
                .ok(&[
                    "wait",
                    "--for=condition=Established",
                    &format!("crd/{crd}.machina.dev"),
                    "--timeout=60s",
                ])
                .await;
        }
        Self {
            cluster,
            kubectl,
            root,
            bin_dir,
            state_dir,
            hosts_dir,
            stop_node: Some(stop_tx),
            node: Some(node),
        }
    }

    /// A kube client for the cluster.
    pub fn client(&self) -> kube::Client {
        self.cluster.client()
    }

    /// The address the cluster DNS name `<service>.<namespace>.svc` has for pods (the node's
    /// hosts file, the same the services resolve through), if the Service exists yet.
    pub fn service_address(&self, namespace: &str, service: &str) -> Option<String> {
        let file = machina_devcluster_node::hosts::path(&self.hosts_dir, namespace);
        let text = std::fs::read_to_string(file).ok()?;
        let name = format!("{service}.{namespace}.svc");
        text.lines().find_map(|line| {
            let mut fields = line.split_whitespace();
            let ip = fields.next()?;
            fields.any(|n| n == name).then(|| ip.to_owned())
        })
    }

    /// The node's hosts file for pods of `namespace` (it lists every namespace's FQDNs).
    pub fn hosts_file(&self, namespace: &str) -> PathBuf {
        machina_devcluster_node::hosts::path(&self.hosts_dir, namespace)
    }

    /// The kubeconfig path.
    pub fn kubeconfig(&self) -> &Path {
        self.cluster.kubeconfig_path()
    }

    /// Stops the node (killing its pods' processes) and then the API server.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop_node.take() {
            let _ = stop.send(());
        }
        if let Some(node) = self.node.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), node).await;
        }
        self.cluster.shutdown().await;
    }
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("base_url", &self.cluster.base_url())
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}
