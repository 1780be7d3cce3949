//! One pod's worker: allocates its IP, prepares volumes and environments, starts a
//! supervisor per container, writes the pod status, and tears everything down when the
//! pod is deleted or the node stops.

use super::Shared;
use super::container::{self, ContainerSpec};
use super::events;
use super::probe::Target;
use super::state::{self, ContainerStatus};
use crate::controllers::conditions::to_chrono;
use crate::images::{Launch, TemplateVars};
use crate::podenv::{self, Sources};
use crate::{hosts, logs, volumes};
use chrono::Utc;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why preparation stopped.
enum Prepared {
    /// Containers ready to start.
    Ready(Vec<ContainerSpec>),
    /// Not possible yet: reason, message, warning event.
    Blocked(&'static str, String),
}

/// Runs the pod until it is deleted (deletionTimestamp or gone) or `stop` fires.
pub async fn run(shared: Arc<Shared>, mut rx: watch::Receiver<Pod>, stop: CancellationToken) {
    let pod = rx.borrow().clone();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    if matches!(
        crate::controllers::pods::phase(&pod),
        "Succeeded" | "Failed"
    ) {
        // A finished pod is never run again (a node restart must not rerun a Job's pod).
        wait_for_deletion(&shared, &mut rx, &stop).await;
        return;
    }
    let Some(ip) = allocate_ip(&shared, &pod) else {
        events::record(
            &shared.client,
            &shared.config.node_name,
            &pod,
            true,
            "FailedCreatePodSandBox",
            "pod network exhausted",
        )
        .await;
        return;
    };
    let pod_dir = shared.config.pods_dir().join(format!(
        "{ns}_{name}_{}",
        pod.metadata.uid.clone().unwrap_or_default()
    ));
    let start_time = pod
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map_or_else(Utc::now, to_chrono);
    let mut last_block = String::new();
    let specs = loop {
        let pod = rx.borrow().clone();
        if deleting(&pod) || stop.is_cancelled() {
            finish(&shared, &pod, ip, &[], &pod_dir).await;
            return;
        }
        match prepare(&shared, &pod, ip, &pod_dir).await {
            Prepared::Ready(specs) => break specs,
            Prepared::Blocked(reason, message) => {
                if message != last_block {
                    events::record(
                        &shared.client,
                        &shared.config.node_name,
                        &pod,
                        true,
                        reason,
                        &message,
                    )
                    .await;
                    let waiting: Vec<ContainerStatus> = containers(&pod)
                        .iter()
                        .map(|c| {
                            ContainerStatus::waiting(
                                &c.name,
                                c.image.as_deref().unwrap_or(""),
                                reason,
                                &message,
                            )
                        })
                        .collect();
                    write_status(&shared, &pod, &waiting, ip, start_time).await;
                    last_block = message;
                }
                tokio::select! {
                    _ = rx.changed() => {}
                    () = tokio::time::sleep(Duration::from_secs(3)) => {}
                    () = stop.cancelled() => {}
                }
            }
        }
    };
    let run = CancellationToken::new();
    let mut statuses = Vec::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    for spec in specs {
        let (tx, status_rx) = watch::channel(ContainerStatus::waiting(
            &spec.name,
            &spec.image,
            "ContainerCreating",
            "",
        ));
        statuses.push(status_rx);
        tasks.push(tokio::spawn(container::supervise(
            Arc::new(spec),
            tx,
            run.clone(),
        )));
    }
    let mut written: Vec<ContainerStatus> = Vec::new();
    loop {
        let snapshot: Vec<ContainerStatus> = statuses.iter().map(|r| r.borrow().clone()).collect();
        if snapshot != written {
            let pod = rx.borrow().clone();
            announce(&shared, &pod, &written, &snapshot).await;
            if write_status(&shared, &pod, &snapshot, ip, start_time).await {
                written = snapshot;
            }
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() || deleting(&rx.borrow()) {
                    break;
                }
            }
            () = tokio::time::sleep(Duration::from_millis(300)) => {}
            () = stop.cancelled() => break,
        }
    }
    run.cancel();
    for task in tasks {
        let _ = task.await;
    }
    let pod = rx.borrow().clone();
    finish(
        &shared,
        &pod,
        ip,
        &statuses
            .iter()
            .map(|r| r.borrow().clone())
            .collect::<Vec<_>>(),
        &pod_dir,
    )
    .await;
}

fn containers(pod: &Pod) -> &[Container] {
    pod.spec.as_ref().map_or(&[], |s| s.containers.as_slice())
}

pub(super) fn deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

async fn wait_for_deletion(
    _shared: &Shared,
    rx: &mut watch::Receiver<Pod>,
    stop: &CancellationToken,
) {
    loop {
        tokio::select! {
            changed = rx.changed() => if changed.is_err() || deleting(&rx.borrow()) { return },
            () = stop.cancelled() => return,
        }
    }
}

pub(super) fn allocate_ip(shared: &Shared, pod: &Pod) -> Option<Ipv4Addr> {
    let mut ipam = shared.ipam.lock().ok()?;
    let previous = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .and_then(|ip| ip.parse().ok());
    match previous {
        Some(ip) if ipam.reserve(ip) => Some(ip),
        _ => ipam.allocate(),
    }
}

/// Small events for state changes: Started, BackOff, Unhealthy-style readiness drops.
async fn announce(
    shared: &Shared,
    pod: &Pod,
    before: &[ContainerStatus],
    after: &[ContainerStatus],
) {
    for now in after {
        let prev = before.iter().find(|b| b.name == now.name);
        let was_running = prev.is_some_and(|p| matches!(p.state, state::State::Running { .. }));
        match &now.state {
            state::State::Running { .. } if !was_running => {
                let msg = format!("Started container {}", now.name);
                events::record(
                    &shared.client,
                    &shared.config.node_name,
                    pod,
                    false,
                    "Started",
                    &msg,
                )
                .await;
            }
            state::State::Waiting { reason, message }
                if reason == "CrashLoopBackOff" && prev.map(|p| &p.state) != Some(&now.state) =>
            {
                events::record(
                    &shared.client,
                    &shared.config.node_name,
                    pod,
                    true,
                    "BackOff",
                    message,
                )
                .await;
            }
            _ => {}
        }
    }
}

async fn write_status(
    shared: &Shared,
    pod: &Pod,
    containers: &[ContainerStatus],
    ip: Ipv4Addr,
    start: chrono::DateTime<Utc>,
) -> bool {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let existing = serde_json::to_value(pod.status.as_ref().and_then(|s| s.conditions.clone()))
        .unwrap_or_default();
    let policy = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.clone())
        .unwrap_or_else(|| "Always".into());
    let status = state::pod_status(
        &existing,
        containers,
        &policy,
        &ip.to_string(),
        start,
        Utc::now(),
    );
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &ns);
    match api
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!(error = %e, pod = %name, "pod status write failed");
            false
        }
    }
}

/// Releases the IP and, for a pod the API server is waiting on (deletionTimestamp), removes
/// it for good, as the kubelet does once its containers are gone.
async fn finish(
    shared: &Shared,
    pod: &Pod,
    ip: Ipv4Addr,
    _containers: &[ContainerStatus],
    pod_dir: &Path,
) {
    if let Ok(mut ipam) = shared.ipam.lock() {
        ipam.release(ip);
    }
    if deleting(pod) {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        };
        if let Err(e) = Api::<Pod>::namespaced(shared.client.clone(), &ns)
            .delete(&name, &params)
            .await
            && !crate::controllers::is_status(&e, 404)
        {
            tracing::warn!(error = %e, pod = %name, "final pod delete failed");
        }
        let _ = std::fs::remove_dir_all(pod_dir);
    }
}

async fn fetch_sources(shared: &Shared, pod: &Pod) -> Sources {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let (secret_names, map_names) = podenv::referenced(pod);
    let mut sources = Sources::default();
    let secrets: Api<Secret> = Api::namespaced(shared.client.clone(), &ns);
    for name in secret_names {
        if let Ok(Some(secret)) = secrets.get_opt(&name).await {
            let mut data: BTreeMap<String, String> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                .collect();
            data.extend(secret.string_data.unwrap_or_default());
            sources.secrets.insert(name, data);
        }
    }
    let maps: Api<ConfigMap> = Api::namespaced(shared.client.clone(), &ns);
    for name in map_names {
        if let Ok(Some(cm)) = maps.get_opt(&name).await {
            let mut data = cm.data.unwrap_or_default();
            for (k, v) in cm.binary_data.unwrap_or_default() {
                data.insert(k, String::from_utf8_lossy(&v.0).into_owned());
            }
            sources.config_maps.insert(name, data);
        }
    }
    sources
}

async fn prepare(shared: &Shared, pod: &Pod, ip: Ipv4Addr, pod_dir: &Path) -> Prepared {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let vars = TemplateVars {
        workspace: shared.config.workspace.clone(),
        target_dir: shared.config.target_dir.clone(),
        pod_ip: ip.to_string(),
        pod_name: name.clone(),
        pod_namespace: ns.clone(),
        pod_dir: pod_dir.to_owned(),
    };
    let mut launches = Vec::new();
    for c in containers(pod) {
        match shared.config.images.launch(c, &vars) {
            Ok(l) => launches.push((c, l)),
            Err(e) => return Prepared::Blocked(e.reason(), e.to_string()),
        }
    }
    let sources = fetch_sources(shared, pod).await;
    match volumes::materialise(pod, pod_dir, &sources) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Prepared::Blocked("FailedMount", e.to_string()),
        Err(e) => return Prepared::Blocked("FailedMount", e.to_string()),
    }
    let mut with_ip = pod.clone();
    with_ip.status.get_or_insert_with(Default::default).pod_ip = Some(ip.to_string());
    let mut specs = Vec::new();
    for (c, launch) in launches {
        match podenv::resolve(&with_ip, c, &launch.env_defaults, &sources) {
            Ok(env) => specs.push(container_spec(
                &shared.config,
                pod,
                c,
                launch,
                env,
                ip,
                pod_dir,
            )),
            Err(e) => return Prepared::Blocked("CreateContainerConfigError", e.to_string()),
        }
    }
    Prepared::Ready(specs)
}

/// The supervisor's view of container `c` of `pod`: env with wildcard binds moved to the
/// pod IP, mount paths remapped, `$(VAR)` expanded in args, probes aimed at the pod IP.
pub fn container_spec(
    config: &crate::NodeConfig,
    pod: &Pod,
    c: &Container,
    launch: Launch,
    env: BTreeMap<String, String>,
    ip: Ipv4Addr,
    pod_dir: &Path,
) -> ContainerSpec {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mounts = volumes::mounts(pod_dir, c);
    let ip_text = ip.to_string();
    let mut env: BTreeMap<String, String> = env
        .into_iter()
        .map(|(k, v)| {
            let v = volumes::remap(&podenv::bind_to_pod_ip(&v, &ip_text), &mounts);
            (k, v)
        })
        .collect();
    let hosts_file = hosts::path(&config.hosts_dir(), &ns);
    env.insert(
        "MACHINA_HOSTS_FILE".into(),
        hosts_file.display().to_string(),
    );
    env.entry("HOSTNAME".into()).or_insert_with(|| name.clone());
    let automount = pod
        .spec
        .as_ref()
        .and_then(|s| s.automount_service_account_token)
        .unwrap_or(true);
    if let (true, Some(kubeconfig)) = (automount, &config.pod_kubeconfig) {
        env.entry("KUBECONFIG".into())
            .or_insert_with(|| kubeconfig.display().to_string());
    }
    if let Some(tmp) = mounts.iter().find(|m| m.mount_path == "/tmp") {
        env.entry("TMPDIR".into())
            .or_insert_with(|| tmp.host_path.display().to_string());
    }
    let args: Vec<String> = launch
        .args
        .iter()
        .map(|a| volumes::remap(&podenv::expand_refs(a, &env), &mounts))
        .collect();
    for m in &mounts {
        let _ = std::fs::create_dir_all(&m.host_path);
    }
    let cwd: PathBuf = c.working_dir.as_deref().map_or_else(
        || pod_dir.to_owned(),
        |w| PathBuf::from(volumes::remap(w, &mounts)),
    );
    let cwd = if cwd.is_absolute() && cwd.starts_with(pod_dir) {
        cwd
    } else {
        pod_dir.join("workdir")
    };
    let ports = c
        .ports
        .iter()
        .flatten()
        .filter_map(|p| p.name.clone().map(|n| (n, p.container_port)))
        .collect();
    let spec = pod.spec.as_ref();
    let grace = spec
        .and_then(|s| s.termination_grace_period_seconds)
        .and_then(|g| u64::try_from(g).ok())
        .map_or(Duration::from_secs(30), Duration::from_secs)
        .min(config.max_grace);
    ContainerSpec {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        program: launch.program,
        args,
        target: Target {
            pod_ip: ip_text,
            ports,
            env: env.clone(),
            substitutions: launch.probe_substitutions,
            cwd: Some(cwd.clone()),
        },
        env,
        cwd: Some(cwd),
        log_path: logs::path(&config.log_dir(), &ns, &name, &c.name, false),
        readiness: c.readiness_probe.clone(),
        liveness: c.liveness_probe.clone(),
        restart_policy: spec
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into()),
        backoff: config.backoff,
        grace,
    }
}
