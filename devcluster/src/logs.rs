//! `pods/log`: proxied, like the real apiserver, to the kubelet of the Pod's node:
//! `GET http://<node InternalIP>:<status.daemonEndpoints.kubeletEndpoint.Port>/containerLogs/<ns>/<pod>/<container>`
//! with the same query (`follow`, `tailLines`, `previous`, `timestamps`, `sinceSeconds`,
//! `limitBytes`). devcluster's process kubelet registers its Node with that address
//! (plain http on loopback).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Cluster;
use crate::errors::{ApiError, ApiResult, Subject};
use crate::store::Key;

fn key(plural: &str, ns: &str, name: &str) -> Key {
    Key {
        group: String::new(),
        plural: plural.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

/// Where to fetch the logs: `(host:port, path?query)`.
fn target(
    cluster: &Cluster,
    ns: &str,
    pod: &str,
    params: &HashMap<String, String>,
) -> ApiResult<(String, String)> {
    let st = cluster.lock();
    let p = st.objects.get(&key("pods", ns, pod)).ok_or_else(|| {
        ApiError::not_found(Subject {
            group: "",
            resource: "pods",
            name: pod,
        })
    })?;
    let containers: Vec<String> = p["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let container = match params.get("container") {
        Some(c) if containers.contains(c) => c.clone(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {pod}"
            )));
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let node_name = p["spec"]["nodeName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("pod {pod} does not have a host assigned")))?;
    let node: &Value = st
        .objects
        .get(&key("nodes", "", node_name))
        .ok_or_else(|| {
            ApiError::not_found(Subject {
                group: "",
                resource: "nodes",
                name: node_name,
            })
        })?;
    let addr = node["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_i64()
        .unwrap_or(10250);
    let query: Vec<String> = [
        "follow",
        "tailLines",
        "previous",
        "timestamps",
        "sinceSeconds",
        "limitBytes",
    ]
    .iter()
    .filter_map(|k| params.get(*k).map(|v| format!("{k}={v}")))
    .collect();
    Ok((
        format!("{addr}:{port}"),
        format!("/containerLogs/{ns}/{pod}/{container}?{}", query.join("&")),
    ))
}

/// Serves `GET .../pods/<name>/log`.
pub async fn serve(
    cluster: Arc<Cluster>,
    ns: &str,
    pod: &str,
    params: &HashMap<String, String>,
) -> Response {
    let (addr, path) = match target(&cluster, ns, pod, params) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match fetch(&addr, &path).await {
        Ok(r) => r,
        Err(e) => ApiError {
            code: 500,
            reason: "InternalError",
            message: format!("Get \"http://{addr}{path}\": {e}"),
            details: None,
        }
        .into_response(),
    }
}

/// One HTTP/1.0 GET whose body is streamed back as it arrives (HTTP/1.0: the kubelet
/// closes the connection at the end, so no chunked decoding is needed).
async fn fetch(addr: &str, path: &str) -> std::io::Result<Response> {
    let mut conn = TcpStream::connect(addr).await?;
    conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let body_start = loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "kubelet closed the connection",
            ));
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let status_line =
        String::from_utf8_lossy(&head[..head.iter().position(|b| *b == b'\r').unwrap_or(0)])
            .into_owned();
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(502);
    let first = Bytes::copy_from_slice(&head[body_start..]);
    if code != 200 {
        let mut rest = first.to_vec();
        conn.read_to_end(&mut rest).await?;
        let msg = String::from_utf8_lossy(&rest).trim().to_owned();
        return Ok(ApiError {
            code: if code == 404 { 404 } else { 400 },
            reason: if code == 404 {
                "NotFound"
            } else {
                "BadRequest"
            },
            message: msg,
            details: None,
        }
        .into_response());
    }
    let stream = futures::stream::unfold((Some(first), conn), |(pending, mut conn)| async move {
        if let Some(b) = pending.filter(|b| !b.is_empty()) {
            return Some((Ok::<_, Infallible>(b), (None, conn)));
        }
        let mut buf = vec![0u8; 8192];
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), (None, conn)))
            }
        }
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(stream),
    )
        .into_response())
}
