//! End to end against the devcluster API server: a Redis Deployment and Service applied
//! through kube-rs roll out as a local `redis-server`, the Deployment reports
//! readyReplicas=1, the EndpointSlice follows the ready pod, and PING works through the
//! Service's cluster address found in the node's hosts file.
//! The simulated (kwok-style) kubelet: pods Ready without processes.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use machina_devcluster::{Config, DevCluster};
use machina_devcluster_node::backoff::Backoff;
use machina_devcluster_node::{ImageMap, KubeletMode, NodeConfig, hosts};
use serde_json::json;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "e2e-password";

async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn node_config(state_dir: &Path, salt: u8) -> NodeConfig {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let images = ImageMap::load(&manifest.join("images.example.yaml")).expect("mapping");
    let mut config = NodeConfig::new(images, manifest.join("../.."), state_dir.to_owned());
    // Blocks of their own, so a quickstart or a parallel run on this machine never collides.
    let n = u8::try_from(std::process::id() % 25).unwrap_or(0) + 25 * salt;
    config.pod_block = 100 + n;
    config.service_block = 150 + n;
    config.load_balancer_block = 200 + n;
    config.backoff = Backoff {
        initial: Duration::from_millis(500),
        ..Backoff::default()
    };
    config.max_grace = Duration::from_secs(5);
    config
}

async fn ping(ip: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect((ip, 6379)).await.ok()?;
    stream
        .write_all(format!("AUTH {PASSWORD}\r\nPING\r\n").as_bytes())
        .await
        .ok()?;
    let mut got = String::new();
    let mut buf = [0u8; 64];
    while !got.contains("PONG") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    Some(got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_deployment_rolls_out_and_answers_through_its_service() {
    assert!(
        Path::new("/usr/bin/redis-server").exists(),
        "redis-server is missing: run devenv/up.sh"
    );
    let cluster = DevCluster::start(Config::default())
        .await
        .expect("devcluster starts");
    let client = cluster.client();
    let state_dir = std::env::temp_dir().join(format!("devnode-e2e-{}", std::process::id()));
    let config = node_config(&state_dir, 0);
    let hosts_dir = config.hosts_dir();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let node = tokio::spawn(machina_devcluster_node::run_until(
        client.clone(),
        config,
        async {
            let _ = stop_rx.await;
        },
    ));

    let ns = "default";
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "cache"},
        "stringData": {"password": PASSWORD},
    }))
    .expect("secret");
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create secret");
    let password = json!({"secretKeyRef": {"name": "cache", "key": "password"}});
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "cache", "labels": {"app": "cache"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "cache"}},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": {"app": "cache"}},
                "spec": {"containers": [{
                    "name": "redis",
                    "image": "docker.io/library/redis:7.2-alpine",
                    "command": ["redis-server"],
                    "args": ["--requirepass", "$(REDIS_PASSWORD)", "--save", ""],
                    "env": [
                        {"name": "REDIS_PASSWORD", "valueFrom": password},
                        {"name": "REDISCLI_AUTH", "valueFrom": password},
                    ],
                    "ports": [{"name": "redis", "containerPort": 6379}],
                    "readinessProbe": {
                        "exec": {"command": ["sh", "-c", "redis-cli ping | grep -q PONG"]},
                        "periodSeconds": 1,
                        "timeoutSeconds": 5,
                    },
                    "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 5},
                }]},
            },
        },
    }))
    .expect("deployment");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .expect("create deployment");
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": "cache"},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "cache"},
            "ports": [{"name": "redis", "port": 6379, "targetPort": "redis"}],
        },
    }))
    .expect("service");
    Api::<Service>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &service)
        .await
        .expect("create service");

    let status = eventually("readyReplicas=1", || async {
        let d = deployments.get("cache").await.ok()?;
        let s = d.status?;
        (s.ready_replicas == Some(1) && s.available_replicas == Some(1)).then_some(s)
    })
    .await;
    assert_eq!(status.observed_generation, Some(1));
    let conditions = status.conditions.unwrap_or_default();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True")),
        "{conditions:?}"
    );

    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels("app=cache"))
        .await
        .expect("pods");
    assert_eq!(pods.items.len(), 1);
    let pod_ip: Ipv4Addr = pods.items[0]
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("podIP")
        .parse()
        .expect("ip");
    assert_eq!(pod_ip.octets()[0], 127);

    eventually("a ready endpoint", || async {
        let slice = Api::<EndpointSlice>::namespaced(client.clone(), ns)
            .get("cache")
            .await
            .ok()?;
        let ready = slice
            .endpoints?
            .iter()
            .any(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true));
        ready.then_some(())
    })
    .await;

    let cluster_ip = eventually("the service in the hosts file", || async {
        let text = std::fs::read_to_string(hosts::path(&hosts_dir, ns)).ok()?;
        text.lines()
            .find(|l| {
                l.split_whitespace()
                    .any(|n| n == "cache.default.svc.cluster.local")
            })
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_owned)
    })
    .await;
    let reply = eventually("PING through the service", || ping(&cluster_ip)).await;
    assert!(reply.contains("+PONG"), "{reply}");

    // A settled Deployment is not rewritten: no-op status writes would wake every watcher.
    let before = deployments
        .get("cache")
        .await
        .expect("get")
        .metadata
        .resource_version;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = deployments
        .get("cache")
        .await
        .expect("get")
        .metadata
        .resource_version;
    assert_eq!(
        before, after,
        "deployment status keeps changing while nothing happens"
    );

    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let lb_ip = eventually("the load balancer address", || async {
        let s = services
            .get("cache")
            .await
            .ok()?
            .status?
            .load_balancer?
            .ingress?;
        s.first()?.ip.clone()
    })
    .await;
    let reply = eventually("PING through the load balancer", || ping(&lb_ip)).await;
    assert!(reply.contains("+PONG"), "{reply}");

    // Deleting the pod: the kubelet kills the process, the Deployment replaces the pod.
    let old = pods.items[0].metadata.name.clone().expect("name");
    Api::<Pod>::namespaced(client.clone(), ns)
        .delete(&old, &DeleteParams::default())
        .await
        .expect("delete pod");
    eventually("a replacement pod answering", || async {
        let pods = Api::<Pod>::namespaced(client.clone(), ns)
            .list(&ListParams::default().labels("app=cache"))
            .await
            .ok()?;
        let fresh = pods
            .items
            .iter()
            .any(|p| p.metadata.name.as_deref() != Some(old.as_str()));
        if !fresh {
            return None;
        }
        ping(&cluster_ip).await.filter(|r| r.contains("+PONG"))
    })
    .await;

    let _ = stop_tx.send(());
    tokio::time::timeout(Duration::from_secs(60), node)
        .await
        .expect("node stops")
        .expect("join")
        .expect("node ok");
    assert!(
        ping(&cluster_ip).await.is_none(),
        "proxy and redis are gone after shutdown"
    );
    cluster.shutdown().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_complete_and_unmapped_images_stay_pending_with_an_event() {
    assert!(
        Path::new("/usr/bin/redis-server").exists(),
        "redis-server is missing: run devenv/up.sh"
    );
    let cluster = DevCluster::start(Config::default())
        .await
        .expect("devcluster starts");
    let client = cluster.client();
    let state_dir = std::env::temp_dir().join(format!("devnode-e2e-job-{}", std::process::id()));
    let config = node_config(&state_dir, 1);
    let log_dir = config.log_dir();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let node = tokio::spawn(machina_devcluster_node::run_until(
        client.clone(),
        config,
        async {
            let _ = stop_rx.await;
        },
    ));
    let ns = "default";
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "version"},
        "spec": {"backoffLimit": 1, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "redis:7", "command": ["redis-server"], "args": ["--version"]}],
        }}},
    }))
    .expect("job");
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create job");
    let status = eventually("the job to complete", || async {
        let s = jobs.get("version").await.ok()?.status?;
        let complete = s
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Complete" && c.status == "True");
        complete.then_some(s)
    })
    .await;
    assert_eq!(status.succeeded, Some(1));
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels("job-name=version"))
        .await
        .expect("pods");
    let pod_name = pods.items[0].metadata.name.clone().expect("name");
    let log =
        machina_devcluster_node::logs::read(&log_dir, ns, &pod_name, "main", Default::default())
            .expect("log");
    assert!(log.contains("Redis server v="), "{log}");

    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
    }))
    .expect("pod");
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create pod");
    let event = eventually("an ImageNotRunnable event", || async {
        let events = Api::<Event>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await
            .ok()?;
        events
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("ImageNotRunnable"))
    })
    .await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert!(event.message.unwrap_or_default().contains("nginx:1.27"));
    // The kubelet records the event, then writes the status: wait for the latter too.
    let phase = eventually("the pod's status", || async {
        pods.get("web").await.ok()?.status.and_then(|s| s.phase)
    })
    .await;
    assert_eq!(phase, "Pending");

    let _ = stop_tx.send(());
    tokio::time::timeout(Duration::from_secs(60), node)
        .await
        .expect("node stops")
        .expect("join")
        .expect("node ok");
    cluster.shutdown().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_kubelet_reports_pods_ready_without_processes() {
    let cluster = DevCluster::start(Config {
        graceful_pod_deletion: true,
        ..Config::default()
    })
    .await
    .expect("devcluster starts");
    let client = cluster.client();
    let state_dir = std::env::temp_dir().join(format!("devnode-e2e-sim-{}", std::process::id()));
    // No process binds a pod IP and no Service is proxied here, so the blocks of the job
    // test can be shared.
    let mut config = node_config(&state_dir, 1);
    config.kubelet = KubeletMode::Simulated;
    config.parts.proxy = false;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let node = tokio::spawn(machina_devcluster_node::run_until(
        client.clone(),
        config,
        async {
            let _ = stop_rx.await;
        },
    ));
    let ns = "default";
    // An image nothing maps: the process kubelet would leave it Pending.
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
            },
        },
    }))
    .expect("deployment");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .expect("create deployment");
    eventually("readyReplicas=3", || async {
        let s = deployments.get("web").await.ok()?.status?;
        (s.ready_replicas == Some(3) && s.updated_replicas == Some(3)).then_some(())
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let listed = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("pods");
    assert_eq!(listed.items.len(), 3);
    let mut ips = Vec::new();
    for pod in &listed.items {
        let status = pod.status.clone().expect("status");
        assert_eq!(status.phase.as_deref(), Some("Running"));
        ips.push(status.pod_ip.clone().expect("podIP"));
        let containers = status.container_statuses.unwrap_or_default();
        assert!(containers.iter().all(|c| c.ready), "{containers:?}");
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 3, "every pod has its own IP");

    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "once"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox:1"}],
        }}},
    }))
    .expect("job");
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create job");
    eventually("the job to complete", || async {
        let s = jobs.get("once").await.ok()?.status?;
        (s.succeeded == Some(1)).then_some(())
    })
    .await;

    // A graceful deletion is completed by the simulated kubelet, and the pod replaced.
    let old = listed.items[0].metadata.name.clone().expect("name");
    pods.delete(&old, &DeleteParams::default())
        .await
        .expect("delete pod");
    eventually("the deleted pod gone and replaced", || async {
        let gone = pods.get_opt(&old).await.ok()?.is_none();
        let s = deployments.get("web").await.ok()?.status?;
        (gone && s.ready_replicas == Some(3)).then_some(())
    })
    .await;

    let _ = stop_tx.send(());
    tokio::time::timeout(Duration::from_secs(30), node)
        .await
        .expect("node stops")
        .expect("join")
        .expect("node ok");
    cluster.shutdown().await;
    let _ = std::fs::remove_dir_all(state_dir);
}
