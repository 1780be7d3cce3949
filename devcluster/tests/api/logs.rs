//! `pods/log` is proxied to the kubelet endpoint the Pod's Node advertises.

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{LogParams, PostParams};
use serde_json::json;

use crate::support::{code, start};

/// A stand-in kubelet serving `/containerLogs/<ns>/<pod>/<container>`.
async fn fake_kubelet() -> u16 {
    let app =
        axum::Router::new().route(
            "/containerLogs/{ns}/{pod}/{container}",
            axum::routing::get(
                |axum::extract::Path((ns, pod, c)): axum::extract::Path<(
                    String,
                    String,
                    String,
                )>| async move { format!("log of {ns}/{pod}/{c}\nsecond line\n") },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_logs_come_from_the_nodes_kubelet() {
    let dc = start().await;
    let port = fake_kubelet().await;
    let nodes: Api<Node> = Api::all(dc.client());
    let node = json!({"metadata": {"name": "local"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}});
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(node).expect("node"),
        )
        .await
        .expect("node");
    let nodes_status = nodes.get("local").await.expect("node");
    // status is dropped on create (status subresource): write it like a kubelet does.
    let mut with_status = nodes_status.clone();
    with_status.status = serde_json::from_value(
        json!({"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}),
    )
    .expect("status");
    nodes
        .replace_status("local", &PostParams::default(), &with_status)
        .await
        .expect("status");

    let pods: Api<Pod> = Api::namespaced(dc.client(), "default");
    let pod = json!({"metadata": {"name": "p1"}, "spec": {"nodeName": "local", "containers": [{"name": "app", "image": "redis:7"}]}});
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(pod).expect("pod"),
    )
    .await
    .expect("pod");
    let logs = pods.logs("p1", &LogParams::default()).await.expect("logs");
    assert_eq!(logs, "log of default/p1/app\nsecond line\n");

    let kc = dc.kubeconfig_path().to_owned();
    let out = tokio::process::Command::new("/usr/bin/kubectl")
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["logs", "p1"])
        .output()
        .await
        .expect("kubectl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "log of default/p1/app\nsecond line\n"
    );

    let unscheduled = json!({"metadata": {"name": "p2"}, "spec": {"containers": [{"name": "app", "image": "x"}]}});
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(unscheduled).expect("pod"),
    )
    .await
    .expect("pod");
    let e = pods.logs("p2", &LogParams::default()).await.unwrap_err();
    assert_eq!(code(&e), 400);
    dc.shutdown().await;
}
