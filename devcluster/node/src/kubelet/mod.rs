//! The process kubelet: watches Pods, binds unscheduled ones to this node (there is no
//! scheduler), and runs one [`worker`] per pod bound here.
//!
//! - [`worker`]: a pod's lifecycle (IP, volumes, env, containers, status, deletion).
//! - [`container`]: one container's process supervision, probes and restart backoff.
//! - [`probe`]: httpGet / tcpSocket / exec probes.
//! - [`state`]: container states and the pod status built from them (pure).
//! - [`events`]: Events about pods.
//! - [`simulated`]: the kwok-style mode: pods reported Running and Ready without processes.

pub mod container;
pub mod events;
pub mod probe;
pub mod server;
pub mod simulated;
pub mod state;
pub mod worker;

use crate::NodeConfig;
use crate::config::KubeletMode;
use crate::ipam::Ipam;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What every pod worker shares.
pub struct Shared {
    /// API client.
    pub client: Client,
    /// Node configuration.
    pub config: NodeConfig,
    /// Pod IP allocator.
    pub ipam: Mutex<Ipam>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("node", &self.config.node_name)
            .finish_non_exhaustive()
    }
}

struct Worker {
    tx: watch::Sender<Pod>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Runs the kubelet until `stop`; then stops every pod's processes before returning.
pub async fn run(client: Client, config: NodeConfig, stop: CancellationToken) {
    // The endpoint `kubectl logs` reaches through the API server, and the Node naming it.
    let endpoint = tokio::spawn(server::run(
        client.clone(),
        config.node_name.clone(),
        config.log_dir(),
        stop.clone(),
    ));
    let ipam = Mutex::new(Ipam::new(config.pod_block));
    let shared = Arc::new(Shared {
        client: client.clone(),
        config,
        ipam,
    });
    let api = Api::<Pod>::all(client);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut workers: HashMap<String, Worker> = HashMap::new();
    let mut stopping: Vec<JoinHandle<()>> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => break,
            event = events.next() => event,
        };
        let Some(event) = event else { break };
        match event {
            Ok(watcher::Event::Init) => seen.clear(),
            Ok(watcher::Event::InitApply(pod)) => {
                seen.insert(pod.metadata.uid.clone().unwrap_or_default());
                apply(&shared, &mut workers, pod).await;
            }
            Ok(watcher::Event::InitDone) => {
                // Pods deleted while the watch was down.
                let gone: Vec<String> = workers
                    .keys()
                    .filter(|uid| !seen.contains(*uid))
                    .cloned()
                    .collect();
                for uid in gone {
                    if let Some(w) = workers.remove(&uid) {
                        w.stop.cancel();
                        stopping.push(w.task);
                    }
                }
            }
            Ok(watcher::Event::Apply(pod)) => apply(&shared, &mut workers, pod).await,
            Ok(watcher::Event::Delete(pod)) => {
                if let Some(w) = workers.remove(&pod.metadata.uid.clone().unwrap_or_default()) {
                    w.stop.cancel();
                    stopping.push(w.task);
                }
            }
            Err(e) => tracing::warn!(error = %e, "pod watch failed; retrying"),
        }
        stopping.retain(|t| !t.is_finished());
    }
    for w in workers.into_values() {
        w.stop.cancel();
        stopping.push(w.task);
    }
    for task in stopping {
        let _ = task.await;
    }
    let _ = endpoint.await;
}

async fn apply(shared: &Arc<Shared>, workers: &mut HashMap<String, Worker>, pod: Pod) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    match node {
        Some(n) if n == shared.config.node_name => {
            if let Some(w) = workers.get(&uid) {
                w.tx.send_replace(pod);
                return;
            }
            let (tx, rx) = watch::channel(pod);
            let stop = CancellationToken::new();
            let task = match shared.config.kubelet {
                KubeletMode::Process => tokio::spawn(worker::run(shared.clone(), rx, stop.clone())),
                KubeletMode::Simulated => {
                    tokio::spawn(simulated::run(shared.clone(), rx, stop.clone()))
                }
            };
            workers.insert(uid, Worker { tx, stop, task });
        }
        None if shared.config.schedule_unbound && pod.metadata.deletion_timestamp.is_none() => {
            // Concurrently: one round trip per pod would serialise every rollout of the
            // cluster behind this loop (thousands of pods at once in a scale test). A pod
            // bound twice by a repeated event is harmless (same node, the second one fails).
            let shared = shared.clone();
            tokio::spawn(async move { bind(&shared, &pod).await });
        }
        _ => {}
    }
}

/// Binds `pod` to this node: the `binding` subresource, as a scheduler does, falling back to
/// setting `spec.nodeName` where the server has no such subresource.
async fn bind(shared: &Shared, pod: &Pod) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &ns);
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": ns},
        "target": {"apiVersion": "v1", "kind": "Node", "name": shared.config.node_name},
    });
    let bound = api
        .create_subresource::<_, serde_json::Value>(
            "binding",
            &name,
            &PostParams::default(),
            &binding,
        )
        .await;
    if let Err(e) = bound {
        tracing::debug!(error = %e, pod = %name, "binding subresource failed; patching spec.nodeName");
        let patch = json!({"spec": {"nodeName": shared.config.node_name}});
        if let Err(e) = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(error = %e, pod = %name, "could not bind pod");
        }
    }
}
