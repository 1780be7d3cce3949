//! `--data-dir`: objects and CRDs survive a restart; old watches get 410.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::PostParams;
use machina_devcluster::Config;
use serde_json::json;

use crate::support::{dynamic, install_crds, start_with};

#[tokio::test]
async fn a_restart_keeps_objects_and_crds() {
    let dir = std::env::temp_dir().join(format!("devcluster-persist-{}", uuid::Uuid::new_v4()));
    let config = Config {
        data_dir: Some(dir.clone()),
        ..Config::default()
    };
    let dc = start_with(config.clone()).await;
    install_crds(&dc.client()).await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "kept"}, "data": {"a": "b"}}))
                .expect("cm"),
        )
        .await
        .expect("create");
    dc.shutdown().await;

    let again = start_with(config).await;
    let api: Api<ConfigMap> = Api::namespaced(again.client(), "default");
    let kept = api.get("kept").await.expect("kept across restart");
    assert_eq!(kept.metadata.uid, created.metadata.uid);
    let next = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "after"}})).expect("cm"),
        )
        .await
        .expect("create");
    let (before, after): (u64, u64) = (
        created
            .metadata
            .resource_version
            .expect("rv")
            .parse()
            .expect("num"),
        next.metadata
            .resource_version
            .expect("rv")
            .parse()
            .expect("num"),
    );
    assert!(
        after > before,
        "resourceVersions keep growing across restarts"
    );
    let platforms = dynamic(
        &again.client(),
        "machina.dev/v1alpha1",
        "Platform",
        "platforms",
        Some("default"),
    );
    platforms
        .list(&Default::default())
        .await
        .expect("CRD still served");
    again.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
