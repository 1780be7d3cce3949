//! The kubelet's own endpoint and its Node: `GET /containerLogs/<ns>/<pod>/<container>` on
//! loopback (plain http), which the API server's `pods/log` proxies to, and the Node object
//! that tells it where (`status.addresses` InternalIP, `daemonEndpoints.kubeletEndpoint`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::logs::{self, ReadOptions};

/// Field manager of the Node object.
const MANAGER: &str = "devcluster-kubelet";

/// How often a followed log is checked for new output.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// What `containerLogs` reads.
#[derive(Clone, Debug)]
struct Logs {
    dir: PathBuf,
}

/// `kubectl logs` options the API server forwards.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogQuery {
    follow: Option<bool>,
    previous: Option<bool>,
    tail_lines: Option<usize>,
    limit_bytes: Option<usize>,
    #[serde(flatten)]
    _other: HashMap<String, String>,
}

/// The kubelet's routes.
fn router(dir: PathBuf) -> Router {
    Router::new()
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(container_logs),
        )
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Logs { dir })
}

async fn container_logs(
    State(logs): State<Logs>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    Query(query): Query<LogQuery>,
) -> Response {
    let opts = ReadOptions {
        previous: query.previous.unwrap_or(false),
        tail_lines: query.tail_lines,
        limit_bytes: query.limit_bytes,
    };
    let Some(text) = logs::read(&logs.dir, &namespace, &pod, &container, opts) else {
        let which = if opts.previous { "previous " } else { "" };
        return (
            StatusCode::NOT_FOUND,
            format!("{which}log of container {container} in pod {namespace}/{pod} not found"),
        )
            .into_response();
    };
    let plain = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    if !query.follow.unwrap_or(false) || opts.previous {
        return (plain, text).into_response();
    }
    // Follow: what is there (after tail/limit), then whatever the container appends, until
    // the client goes away or the log file does (the pod was deleted).
    let file = logs::path(&logs.dir, &namespace, &pod, &container, false);
    let start = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let stream = futures::stream::unfold(
        (Some(text), file, start),
        |(first, file, offset)| async move {
            if let Some(first) = first {
                return Some((
                    Ok::<_, std::io::Error>(Bytes::from(first)),
                    (None, file, offset),
                ));
            }
            loop {
                tokio::time::sleep(FOLLOW_POLL).await;
                let len = std::fs::metadata(&file).ok()?.len();
                if len < offset {
                    // Truncated: a restart began a new log.
                    return Some((Ok(Bytes::new()), (None, file, 0)));
                }
                if len > offset {
                    let bytes = read_from(&file, offset).await.ok()?;
                    let next = offset + bytes.len() as u64;
                    return Some((Ok(Bytes::from(bytes)), (None, file, next)));
                }
            }
        },
    );
    (plain, Body::from_stream(stream)).into_response()
}

async fn read_from(file: &std::path::Path, offset: u64) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut f = tokio::fs::File::open(file).await?;
    f.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut out = Vec::new();
    f.read_to_end(&mut out).await?;
    Ok(out)
}

/// The Node object of this kubelet: Ready, reachable on `port` of 127.0.0.1.
pub fn node_status(port: u16) -> serde_json::Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "addresses": [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": "localhost"},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "devcluster process kubelet is posting ready status",
            "lastHeartbeatTime": now, "lastTransitionTime": now,
        }],
        "nodeInfo": {
            "kubeletVersion": "devcluster", "operatingSystem": "linux", "architecture": std::env::consts::ARCH,
            "containerRuntimeVersion": "process://devcluster", "kernelVersion": "", "osImage": "",
            "kubeProxyVersion": "", "machineID": "", "systemUUID": "", "bootID": "",
        },
    })
}

/// Binds the kubelet endpoint on loopback, registers the Node, and serves until `stop`.
pub async fn run(
    client: kube::Client,
    node_name: String,
    log_dir: PathBuf,
    stop: CancellationToken,
) {
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "kubelet endpoint cannot bind; kubectl logs will fail");
            return;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let nodes: Api<Node> = Api::all(client);
    let params = PatchParams::apply(MANAGER).force();
    let body = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": node_name, "labels": {"kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux"}},
    });
    let registered = async {
        nodes
            .patch(&node_name, &params, &Patch::Apply(&body))
            .await?;
        let status = json!({"apiVersion": "v1", "kind": "Node", "status": node_status(port)});
        nodes
            .patch_status(&node_name, &params, &Patch::Apply(&status))
            .await
    };
    match registered.await {
        Ok(_) => tracing::info!(node = %node_name, port, "node registered"),
        Err(e) => {
            tracing::warn!(node = %node_name, error = %e, "cannot register the Node; kubectl logs will fail")
        }
    }
    let served = axum::serve(listener, router(log_dir))
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "kubelet endpoint stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_tail_and_missing_logs() {
        let dir = std::env::temp_dir().join(format!("devnode-kubelet-{}", std::process::id()));
        let file = logs::path(&dir, "ns", "p", "c", false);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, "one\ntwo\nthree\n").expect("write");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = router(dir.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let get = |path: &str| reqwest::get(format!("http://{addr}{path}"));
        let tail = get("/containerLogs/ns/p/c?tailLines=2").await.expect("get");
        assert_eq!(tail.status(), 200);
        assert_eq!(tail.text().await.expect("text"), "two\nthree\n");
        let missing = get("/containerLogs/ns/p/other").await.expect("get");
        assert_eq!(missing.status(), 404);
        let previous = get("/containerLogs/ns/p/c?previous=true")
            .await
            .expect("get");
        assert_eq!(previous.status(), 404);
        let _ = std::fs::remove_dir_all(dir);
    }
}
