//! The simulated kubelet (kwok-style, "Kubernetes WithOut Kubelet"): a pod bound to this
//! node gets an IP and the status a started pod would have — `Running`, every container
//! `running` and `ready`, conditions `Ready`/`ContainersReady` True — without any process.
//! Pods whose `restartPolicy` is not `Always` (Jobs' pods) complete at once with exit code
//! 0, so Jobs finish. Scale tests use it: thousands of pods cost a task and a status write
//! each, while the workload controllers stay real and compute `readyReplicas` as usual.

use super::Shared;
use super::state::{self, ContainerStatus, Exit, State};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Attempts at writing the status before waiting for the next change of the pod.
const STATUS_ATTEMPTS: u32 = 5;

/// The containers of `pod` as a started pod reports them: running and ready, or (for a pod
/// that does not restart) completed with exit code 0.
pub fn container_statuses(pod: &Pod, now: DateTime<Utc>) -> Vec<ContainerStatus> {
    let completes = restart_policy(pod) != "Always";
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| {
            let image = c.image.as_deref().unwrap_or("");
            let mut status = ContainerStatus::waiting(&c.name, image, "", "");
            if completes {
                status.state = State::Terminated(Exit {
                    code: 0,
                    reason: "Completed".into(),
                    started: now,
                    finished: now,
                });
                status.done = true;
            } else {
                status.state = State::Running { started: now };
                status.ready = true;
            }
            status
        })
        .collect()
}

fn restart_policy(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.clone())
        .unwrap_or_else(|| "Always".into())
}

/// The status the simulated kubelet writes for `pod` at `now`, with pod IP `ip`.
pub fn pod_status(pod: &Pod, ip: Ipv4Addr, now: DateTime<Utc>) -> Value {
    let existing = serde_json::to_value(pod.status.as_ref().and_then(|s| s.conditions.clone()))
        .unwrap_or_default();
    state::pod_status(
        &existing,
        &container_statuses(pod, now),
        &restart_policy(pod),
        &ip.to_string(),
        now,
        now,
    )
}

/// Runs one pod without processes until it is deleted or `stop` fires.
pub async fn run(shared: Arc<Shared>, mut rx: watch::Receiver<Pod>, stop: CancellationToken) {
    let pod = rx.borrow().clone();
    let Some(ip) = super::worker::allocate_ip(&shared, &pod) else {
        tracing::warn!(pod = ?pod.metadata.name, "pod network exhausted");
        return;
    };
    let already = matches!(
        crate::controllers::pods::phase(&pod),
        "Running" | "Succeeded" | "Failed"
    );
    if !already && !super::worker::deleting(&pod) {
        write_status(&shared, &pod, ip).await;
    }
    loop {
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() || super::worker::deleting(&rx.borrow()) {
                    break;
                }
            }
            () = stop.cancelled() => break,
        }
    }
    if let Ok(mut ipam) = shared.ipam.lock() {
        ipam.release(ip);
    }
    let pod = rx.borrow().clone();
    if super::worker::deleting(&pod) {
        finish_deletion(&shared, &pod).await;
    }
}

async fn write_status(shared: &Shared, pod: &Pod, ip: Ipv4Addr) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &ns);
    let patch = json!({"status": pod_status(pod, ip, Utc::now())});
    for attempt in 1..=STATUS_ATTEMPTS {
        match api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return,
            Err(e) if crate::controllers::is_status(&e, 404) => return,
            Err(e) => {
                tracing::debug!(error = %e, pod = %name, attempt, "simulated pod status write failed");
                tokio::time::sleep(Duration::from_millis(200) * attempt).await;
            }
        }
    }
    tracing::warn!(pod = %name, "gave up writing the simulated pod status");
}

/// Completes a graceful deletion, as the kubelet does once the containers are gone.
async fn finish_deletion(shared: &Shared, pod: &Pod) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn pod(restart_policy: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {
                "restartPolicy": restart_policy,
                "containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}],
            },
        }))
        .expect("pod")
    }

    fn condition(status: &Value, type_: &str) -> String {
        status["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == type_))
            .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn a_restarting_pod_runs_ready_with_every_container() {
        let status = pod_status(&pod("Always"), Ipv4Addr::new(127, 10, 0, 7), Utc::now());
        assert_eq!(status["phase"], "Running");
        assert_eq!(status["podIP"], "127.10.0.7");
        assert_eq!(condition(&status, "Ready"), "True");
        assert_eq!(condition(&status, "ContainersReady"), "True");
        let containers = status["containerStatuses"].as_array().expect("containers");
        assert_eq!(containers.len(), 2);
        assert!(containers.iter().all(|c| c["ready"] == true));
        assert!(containers.iter().all(|c| c["state"]["running"].is_object()));
    }

    #[test]
    fn a_job_pod_completes_with_exit_code_zero() {
        let status = pod_status(&pod("Never"), Ipv4Addr::new(127, 10, 0, 8), Utc::now());
        assert_eq!(status["phase"], "Succeeded");
        let containers = status["containerStatuses"].as_array().expect("containers");
        assert!(
            containers
                .iter()
                .all(|c| c["state"]["terminated"]["exitCode"] == 0)
        );
    }
}
