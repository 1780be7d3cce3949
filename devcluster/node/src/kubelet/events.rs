//! Pod Events (`core/v1`), as `kubectl describe pod` shows them.

use crate::controllers::conditions::time;
use chrono::Utc;
use k8s_openapi::api::core::v1::Pod;
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::json;

/// Records an event about `pod`; failures are logged, never fatal.
pub async fn record(
    client: &Client,
    node: &str,
    pod: &Pod,
    warning: bool,
    reason: &str,
    message: &str,
) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let now = Utc::now();
    let event_name = format!("{name}.{:x}", now.timestamp_nanos_opt().unwrap_or_default());
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event_name, "namespace": ns},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": name,
            "namespace": ns,
            "uid": pod.metadata.uid,
        },
        "reason": reason,
        "message": message,
        "type": if warning { "Warning" } else { "Normal" },
        "source": {"component": "kubelet", "host": node},
        "reportingComponent": "kubelet",
        "reportingInstance": node,
        "firstTimestamp": time(now),
        "lastTimestamp": time(now),
        "count": 1,
    });
    let outcome = match serde_json::from_value::<k8s_openapi::api::core::v1::Event>(event) {
        Ok(event) => Api::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &event)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = outcome {
        tracing::warn!(%error, reason, pod = %name, "could not record event");
    }
}
