//! ownerReference garbage collection: background, foreground, orphan.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use serde_json::json;

use crate::support::{code, start};

async fn owner_and_dependent(
    dc: &machina_devcluster::DevCluster,
    name: &str,
    dependent_finalizer: bool,
) -> (Api<ConfigMap>, Api<Secret>) {
    let owners: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    let deps: Api<Secret> = Api::namespaced(dc.client(), "default");
    let owner = owners
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).expect("cm"),
        )
        .await
        .expect("owner");
    let mut dep = json!({"metadata": {"name": format!("{name}-dep"), "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": owner.metadata.uid, "blockOwnerDeletion": true}]}});
    if dependent_finalizer {
        dep["metadata"]["finalizers"] = json!(["test/hold"]);
    }
    deps.create(
        &PostParams::default(),
        &serde_json::from_value(dep).expect("secret"),
    )
    .await
    .expect("dependent");
    (owners, deps)
}

#[tokio::test]
async fn background_deletion_collects_dependents() {
    let dc = start().await;
    let (owners, deps) = owner_and_dependent(&dc, "bg", false).await;
    owners
        .delete("bg", &DeleteParams::background())
        .await
        .expect("delete");
    assert_eq!(code(&deps.get("bg-dep").await.unwrap_err()), 404);
    dc.shutdown().await;
}

#[tokio::test]
async fn foreground_deletion_waits_for_dependents() {
    let dc = start().await;
    let (owners, deps) = owner_and_dependent(&dc, "fg", true).await;
    owners
        .delete("fg", &DeleteParams::foreground())
        .await
        .expect("delete");
    let owner = owners.get("fg").await.expect("owner waits");
    assert!(
        owner
            .metadata
            .finalizers
            .unwrap_or_default()
            .contains(&"foregroundDeletion".to_owned())
    );
    let dep = deps
        .get("fg-dep")
        .await
        .expect("dependent held by its finalizer");
    assert!(dep.metadata.deletion_timestamp.is_some());
    deps.patch(
        "fg-dep",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    assert_eq!(code(&deps.get("fg-dep").await.unwrap_err()), 404);
    assert_eq!(code(&owners.get("fg").await.unwrap_err()), 404);
    dc.shutdown().await;
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    let dc = start().await;
    let (owners, deps) = owner_and_dependent(&dc, "or", false).await;
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..DeleteParams::default()
    };
    owners.delete("or", &dp).await.expect("delete");
    assert_eq!(code(&owners.get("or").await.unwrap_err()), 404);
    let dep = deps.get("or-dep").await.expect("dependent kept");
    assert!(dep.metadata.owner_references.unwrap_or_default().is_empty());
    dc.shutdown().await;
}

#[tokio::test]
async fn graceful_pod_deletion_waits_for_the_kubelet() {
    use k8s_openapi::api::core::v1::Pod;
    let dc = crate::support::start_with(machina_devcluster::Config {
        graceful_pod_deletion: true,
        ..Default::default()
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(dc.client(), "default");
    for (name, node) in [("on-node", Some("local")), ("unscheduled", None)] {
        let mut p = json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "a", "image": "x"}]}});
        if let Some(n) = node {
            p["spec"]["nodeName"] = json!(n);
        }
        pods.create(
            &PostParams::default(),
            &serde_json::from_value(p).expect("pod"),
        )
        .await
        .expect("pod");
    }
    pods.delete("unscheduled", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(
        code(&pods.get("unscheduled").await.unwrap_err()),
        404,
        "unscheduled pods go at once"
    );

    pods.delete("on-node", &DeleteParams::default())
        .await
        .expect("delete");
    let terminating = pods
        .get("on-node")
        .await
        .expect("kept until the kubelet confirms");
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert_eq!(terminating.metadata.deletion_grace_period_seconds, Some(30));
    pods.delete(
        "on-node",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        },
    )
    .await
    .expect("kubelet delete");
    assert_eq!(code(&pods.get("on-node").await.unwrap_err()), 404);
    dc.shutdown().await;
}
