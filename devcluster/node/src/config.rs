//! [`NodeConfig`]: what one devcluster node needs to know.

use crate::backoff::Backoff;
use crate::images::ImageMap;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of the node (controllers, kubelet, proxy).
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Node name: pods bound here carry it in `spec.nodeName`.
    pub node_name: String,
    /// Which program runs which image.
    pub images: ImageMap,
    /// Directory relative programs of the mapping resolve against (`${WORKSPACE}`).
    pub workspace: PathBuf,
    /// Cargo's output directory (`${TARGET_DIR}`): `CARGO_TARGET_DIR` when set, else `<workspace>/target`.
    pub target_dir: PathBuf,
    /// Where pod directories (`pods/`), logs (`logs/`) and hosts files (`hosts/`) live.
    pub state_dir: PathBuf,
    /// Second octet of the pod network `127.<n>.0.0/16`.
    pub pod_block: u8,
    /// Second octet of the Service cluster IPs `127.<n>.0.0/16`.
    pub service_block: u8,
    /// Second octet of LoadBalancer ingress addresses `127.<n>.0.0/16`.
    pub load_balancer_block: u8,
    /// Restart backoff of crashed containers.
    pub backoff: Backoff,
    /// Upper bound on a pod's termination grace period (keeps shutdown quick).
    pub max_grace: Duration,
    /// Whether this kubelet binds pods that have no `spec.nodeName` (no scheduler runs).
    pub schedule_unbound: bool,
    /// Which parts run.
    pub parts: Parts,
    /// How the kubelet runs pods: as processes, or simulated (no processes).
    pub kubelet: KubeletMode,
    /// A kubeconfig for this cluster handed to pods as `KUBECONFIG` (unless their spec sets
    /// `automountServiceAccountToken: false`): the stand-in for a mounted service-account
    /// token, which kube clients (kube-rs, client-go) read before in-cluster config.
    pub pod_kubeconfig: Option<PathBuf>,
}

/// The node's parts that can be switched off (for tests, or to split them across processes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// Deployment, StatefulSet, Job, CronJob and EndpointSlice controllers.
    pub controllers: bool,
    /// The process kubelet.
    pub kubelet: bool,
    /// Cluster IPs, the TCP proxy, hosts files and LoadBalancer publishing.
    pub proxy: bool,
}

/// How the kubelet runs the pods bound to the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KubeletMode {
    /// Each container is a local process from the image mapping, with probes and restarts.
    #[default]
    Process,
    /// kwok-style: pods are reported `Running` and `Ready` (Jobs' pods `Succeeded`) with an
    /// IP and ready container statuses, and no process is started. For scale tests.
    Simulated,
}

impl std::str::FromStr for KubeletMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "process" => Ok(Self::Process),
            "simulated" => Ok(Self::Simulated),
            other => Err(format!(
                "unknown kubelet mode {other:?}: expected process or simulated"
            )),
        }
    }
}

impl Default for Parts {
    fn default() -> Self {
        Self {
            controllers: true,
            kubelet: true,
            proxy: true,
        }
    }
}

impl NodeConfig {
    /// A configuration with the defaults: node `devnode`, pods in 127.10/16, Services in
    /// 127.20/16, LoadBalancers in 127.30/16, kubelet backoff.
    pub fn new(images: ImageMap, workspace: PathBuf, state_dir: PathBuf) -> Self {
        Self {
            node_name: "devnode".into(),
            images,
            target_dir: std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| workspace.join("target"), PathBuf::from),
            workspace,
            state_dir,
            pod_block: 10,
            service_block: 20,
            load_balancer_block: 30,
            backoff: Backoff::default(),
            max_grace: Duration::from_secs(10),
            schedule_unbound: true,
            parts: Parts::default(),
            kubelet: KubeletMode::default(),
            pod_kubeconfig: None,
        }
    }

    /// Directory of container logs: `<logs>/<namespace>/<pod>/<container>.log`.
    pub fn log_dir(&self) -> PathBuf {
        self.state_dir.join("logs")
    }

    /// Directory of the per-namespace hosts files.
    pub fn hosts_dir(&self) -> PathBuf {
        self.state_dir.join("hosts")
    }

    /// Directory of pod working directories.
    pub fn pods_dir(&self) -> PathBuf {
        self.state_dir.join("pods")
    }
}
