//! The operator's kube-rs patterns, unchanged, against devcluster: a kube-runtime
//! `Controller` with `finalizer()`, status written by server-side apply without a name
//! (as `operator/src/controllers/kube_ops.rs` does), and deletion through the finalizer.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use machina_crds::Platform;
use serde_json::json;

use crate::support::{code, install_crds, start, yaml_docs};

const FINALIZER: &str = "machina.dev/test-cleanup";

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TestError(String);

async fn reconcile(
    p: Arc<Platform>,
    client: Arc<Client>,
) -> Result<Action, kube::runtime::finalizer::Error<TestError>> {
    let api: Api<Platform> = Api::namespaced((*client).clone(), &p.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, p, |event| async {
        match event {
            Event::Apply(p) => {
                let owned = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("{}-settings", p.name_any()), "ownerReferences": [p.controller_owner_ref(&())]},
                    "data": {"gateway": "on"}});
                let cms: Api<ConfigMap> = Api::namespaced(api.clone().into_client(), &p.namespace().unwrap_or_default());
                cms.patch(&format!("{}-settings", p.name_any()), &PatchParams::apply("machina-operator").force(), &Patch::Apply(&owned))
                    .await
                    .map_err(|e| TestError(e.to_string()))?;
                let status = json!({"apiVersion": "machina.dev/v1alpha1", "kind": "Platform", "status": {
                    "observedGeneration": p.metadata.generation,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled", "message": "ok",
                                    "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": p.metadata.generation}]}});
                api.patch_status(&p.name_any(), &PatchParams::apply("machina-operator").force(), &Patch::Apply(&status))
                    .await
                    .map_err(|e| TestError(e.to_string()))?;
                Ok(Action::await_change())
            }
            Event::Cleanup(_) => Ok(Action::await_change()),
        }
    })
    .await
}

fn error_policy(
    _: Arc<Platform>,
    _: &kube::runtime::finalizer::Error<TestError>,
    _: Arc<Client>,
) -> Action {
    Action::requeue(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_style_controller_with_finalizer_and_status_apply() {
    let dc = start().await;
    let client = dc.client();
    install_crds(&client).await;
    let api: Api<Platform> = Api::namespaced(client.clone(), "default");
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .owns(
                Api::<ConfigMap>::namespaced(client.clone(), "default"),
                watcher::Config::default(),
            )
            .run(reconcile, error_policy, Arc::new(client.clone()))
            .for_each(|_| async {}),
    );
    let sample: Platform =
        serde_json::from_value(yaml_docs("config/samples/platform.yaml").remove(0))
            .expect("sample");
    api.create(&PostParams::default(), &sample)
        .await
        .expect("create");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let p = api.get("acme").await.expect("get");
        let ready = p.status.as_ref().is_some_and(|s| {
            serde_json::to_value(s).expect("status")["conditions"][0]["status"] == "True"
        });
        if ready && p.finalizers().iter().any(|f| f == FINALIZER) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "controller never made acme Ready: {p:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let owned = cms
        .get("acme-settings")
        .await
        .expect("owned object applied");
    assert_eq!(
        owned.metadata.owner_references.unwrap_or_default()[0].name,
        "acme"
    );
    api.delete("acme", &DeleteParams::default())
        .await
        .expect("delete");
    loop {
        match api.get("acme").await {
            Err(e) if code(&e) == 404 => break,
            Ok(_) | Err(_) => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "finalizer never released"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        code(&cms.get("acme-settings").await.unwrap_err()),
        404,
        "owned object collected"
    );
    controller.abort();
    dc.shutdown().await;
}
