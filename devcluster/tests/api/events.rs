//! Events recorded through events.k8s.io/v1 (kube-runtime's Recorder, as the operator
//! does) are the core v1 Events that `kubectl describe` and `kubectl get events` read.

use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent};
use kube::api::{ListParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Resource};
use serde_json::json;

use crate::support::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_events_are_core_events() {
    let dc = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    let cm = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "subject"}})).expect("cm"),
        )
        .await
        .expect("cm");
    let recorder = Recorder::new(
        dc.client(),
        Reporter {
            controller: "machina-operator".into(),
            instance: None,
        },
    );
    let ev = Event {
        type_: EventType::Normal,
        reason: "Provisioned".into(),
        note: Some("all good".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder
        .publish(&ev, &cm.object_ref(&()))
        .await
        .expect("publish");
    recorder
        .publish(&ev, &cm.object_ref(&()))
        .await
        .expect("publish again (series patch)");

    let core: Api<CoreEvent> = Api::namespaced(dc.client(), "default");
    let found = core
        .list(&ListParams::default().fields("involvedObject.name=subject"))
        .await
        .expect("list");
    assert_eq!(found.items.len(), 1, "{:?}", found.items);
    let e = &found.items[0];
    assert_eq!(
        (
            e.reason.as_deref(),
            e.message.as_deref(),
            e.reporting_component.as_deref()
        ),
        (
            Some("Provisioned"),
            Some("all good"),
            Some("machina-operator")
        )
    );

    let kc = dc.kubeconfig_path().to_owned();
    let out = tokio::process::Command::new("/usr/bin/kubectl")
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["describe", "configmap", "subject"])
        .output()
        .await
        .expect("kubectl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Provisioned") && text.contains("all good"),
        "{text}"
    );
    dc.shutdown().await;
}
