//! Starts a devcluster API server and a node with one Redis Deployment behind a Service,
//! prints the pod and Service addresses, and runs `redis-benchmark` against both: the
//! userspace proxy's cost measured beside direct access in the same run.
//!
//! `cargo run --release -p machina-devcluster-node --example proxy_bench`

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::{ListParams, PostParams};
use machina_devcluster::{Config, DevCluster};
use machina_devcluster_node::{ImageMap, NodeConfig, hosts};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cluster = DevCluster::start(Config::default()).await?;
    let client = cluster.client();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let state = std::env::temp_dir().join(format!("devnode-bench-{}", std::process::id()));
    let mut config = NodeConfig::new(
        ImageMap::load(&manifest.join("images.example.yaml"))?,
        manifest.join("../.."),
        state.clone(),
    );
    config.pod_block = 250;
    config.service_block = 251;
    config.load_balancer_block = 252;
    let hosts_dir = config.hosts_dir();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let node = tokio::spawn(machina_devcluster_node::run_until(
        client.clone(),
        config,
        async {
            let _ = rx.await;
        },
    ));
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "bench"},
        "spec": {"selector": {"matchLabels": {"app": "bench"}}, "template": {
            "metadata": {"labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "redis", "image": "redis:7", "args": ["--save", ""],
                "ports": [{"name": "redis", "containerPort": 6379}],
                "readinessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 1}}]},
        }},
    }))?;
    Api::<Deployment>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &deployment)
        .await?;
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": "bench"},
        "spec": {"selector": {"app": "bench"}, "ports": [{"name": "redis", "port": 6379, "targetPort": "redis"}]},
    }))?;
    Api::<Service>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &service)
        .await?;
    let (pod_ip, svc_ip) = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pods = Api::<Pod>::namespaced(client.clone(), "default")
            .list(&ListParams::default())
            .await?;
        let ready = pods
            .items
            .iter()
            .find(|p| machina_devcluster_node::controllers::pods::ready(p));
        let hosts = std::fs::read_to_string(hosts::path(&hosts_dir, "default")).unwrap_or_default();
        let svc = hosts
            .lines()
            .find(|l| l.contains(" bench.default.svc "))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_owned);
        if let (Some(p), Some(s)) = (ready, svc) {
            break (
                p.status
                    .as_ref()
                    .and_then(|s| s.pod_ip.clone())
                    .unwrap_or_default(),
                s,
            );
        }
    };
    for (label, host) in [
        ("direct (pod IP)", pod_ip.as_str()),
        ("through the Service proxy", svc_ip.as_str()),
    ] {
        println!("== {label}: {host}:6379");
        let out = tokio::process::Command::new("redis-benchmark")
            .args([
                "-h",
                host,
                "-p",
                "6379",
                "-t",
                "ping,set,get",
                "-n",
                "50000",
                "-c",
                "20",
                "-q",
            ])
            .output()
            .await?;
        print!(
            "{}",
            String::from_utf8_lossy(&out.stdout)
                .replace('\r', "\n")
                .lines()
                .filter(|l| l.contains("requests per second"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        );
    }
    let _ = tx.send(());
    node.await??;
    cluster.shutdown().await;
    let _ = std::fs::remove_dir_all(state);
    Ok(())
}
