//! The ContentPipeline reconciler against the mock API server, with fake provisioners that
//! record their calls: the exact HTTP calls (method, path, field manager, bodies) it makes.

use super::*;
use crate::controllers::test_support::{
    self, FakeBackends, assert_ssa, b64, condition, seed_platform_and_admin_secrets, world,
    world_with,
};
use crate::fixtures::{mk_pipeline, mk_platform};
use crate::mock_api::{ApiServer, Call};
use machina_crds::common::DeletionPolicy;
use serde_json::{Value, json};
use std::time::Duration;

const CP: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/contentpipelines/product-copy";
const PLATFORM: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/platforms/acme";
const SECRETS: &str = "/api/v1/namespaces/shop/secrets";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/shop/events";
const USER_BASE: &str = "machina.cp.shop.product-copy";

/// The sample pipeline, with the finalizer already added, seeded in the API.
fn finalized_pipeline(api: &ApiServer) -> Arc<ContentPipeline> {
    let mut pipeline = mk_pipeline();
    pipeline.metadata.finalizers = Some(vec![FINALIZER.into()]);
    api.seed(CP, serde_json::to_value(&pipeline).expect("pipeline"));
    Arc::new(pipeline)
}

fn deleted(api: &ApiServer, policy: DeletionPolicy) -> Arc<ContentPipeline> {
    let mut pipeline = (*finalized_pipeline(api)).clone();
    pipeline.spec.deletion_policy = policy;
    pipeline.metadata.deletion_timestamp = Some(test_support::deleted_at());
    api.seed(CP, serde_json::to_value(&pipeline).expect("pipeline"));
    Arc::new(pipeline)
}

fn status_patch(api: &ApiServer) -> Value {
    test_support::status_patch(api, CP)
}

fn event_reasons(api: &ApiServer) -> Vec<String> {
    test_support::event_reasons(api, "shop")
}

#[tokio::test]
async fn adds_the_finalizer_before_anything_else() {
    let w = world();
    let pipeline = mk_pipeline();
    w.api
        .seed(CP, serde_json::to_value(&pipeline).expect("pipeline"));
    let action = reconcile(Arc::new(pipeline), w.ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::await_change());
    let calls = w.api.calls();
    assert_eq!(w.api.lines(), [format!("PATCH {CP}")]);
    assert!(
        calls[0].content_type.contains("json-patch"),
        "{}",
        calls[0].content_type
    );
    assert!(
        calls[0].body.to_string().contains(FINALIZER),
        "{}",
        calls[0].body
    );
    assert!(w.backends.calls().is_empty());
}

#[tokio::test]
async fn applies_every_object_with_ssa_then_writes_status() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    let pipeline = finalized_pipeline(&w.api);
    let action = reconcile(pipeline, w.ctx.clone()).await.expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.progress_requeue));
    let secret = |n: &str| format!("{SECRETS}/product-copy-{n}");
    let expected = [
        format!("GET {PLATFORM}"),
        format!("GET {SECRETS}/acme-mongodb-admin"),
        format!("GET {SECRETS}/acme-rabbitmq-admin"),
        format!("GET {}", secret("mongodb")),
        format!("GET {}", secret("rabbitmq")),
        format!("GET {}", secret("redis")),
        format!("PATCH {}", secret("mongodb")),
        format!("PATCH {}", secret("rabbitmq")),
        format!("PATCH {}", secret("redis")),
        "PATCH /api/v1/namespaces/shop/configmaps/product-copy-definition".into(),
        "PATCH /apis/apps/v1/namespaces/shop/deployments/product-copy".into(),
        "PATCH /api/v1/namespaces/shop/services/product-copy".into(),
        "PATCH /apis/policy/v1/namespaces/shop/poddisruptionbudgets/product-copy".into(),
        "PATCH /apis/apps/v1/namespaces/shop/deployments/product-copy-redis".into(),
        "PATCH /api/v1/namespaces/shop/services/product-copy-redis".into(),
        format!("PATCH {CP}/status"),
    ];
    assert_eq!(w.api.lines(), expected);
    for call in w.api.calls().iter().filter(|c| c.method == "PATCH") {
        assert_ssa(call);
    }
    let deployment = w
        .api
        .calls()
        .into_iter()
        .find(|c| c.path.ends_with("/deployments/product-copy"))
        .expect("worker applied");
    assert_eq!(deployment.body["kind"], "Deployment");
    assert_eq!(
        deployment.body["metadata"]["ownerReferences"][0]["kind"],
        "ContentPipeline"
    );
    let annotations = &deployment.body["spec"]["template"]["metadata"]["annotations"];
    assert!(
        annotations["machina.dev/credentials-version"].is_string(),
        "{annotations}"
    );

    assert_eq!(
        w.backends.calls(),
        [
            format!("mongo.ensure_user acme_cp_shop_product_copy {USER_BASE}-a"),
            format!("rabbit.apply shop.acme {USER_BASE}"),
        ]
    );
    let status = status_patch(&w.api);
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(condition(&status, "Progressing")["status"], "True");
    assert_eq!(condition(&status, "Ready")["status"], "False");
    assert_eq!(condition(&status, "Degraded")["status"], "False");
    assert_eq!(status["endpoint"], "http://product-copy.shop.svc:8080");
    assert_eq!(status["mongodbSecret"], "product-copy-mongodb");
    assert_eq!(status["queue"], USER_BASE);
    assert!(!status.to_string().contains("rootpw") && !status.to_string().contains("adminpw"));
}

#[tokio::test]
async fn rolled_out_worker_makes_the_pipeline_ready() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    w.api.seed(
        "/apis/apps/v1/namespaces/shop/deployments/product-copy",
        json!({"status": {"observedGeneration": 0, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2}}),
    );
    let pipeline = finalized_pipeline(&w.api);
    let action = reconcile(pipeline, w.ctx.clone()).await.expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.resync));
    let status = status_patch(&w.api);
    assert_eq!(condition(&status, "Ready")["status"], "True");
    assert_eq!(condition(&status, "Progressing")["status"], "False");
    assert_eq!(status["replicasReady"], "2/2");
}

#[tokio::test]
async fn existing_credentials_are_kept() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    w.api.seed(
        &format!("{SECRETS}/product-copy-mongodb"),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "product-copy-mongodb"},
               "data": {"username": b64(&format!("{USER_BASE}-b")), "password": b64("kept-password")}}),
    );
    reconcile(finalized_pipeline(&w.api), w.ctx.clone())
        .await
        .expect("reconcile");
    let applied = w
        .api
        .calls()
        .into_iter()
        .find(|c| c.method == "PATCH" && c.path == format!("{SECRETS}/product-copy-mongodb"))
        .expect("secret applied");
    assert_eq!(applied.body["data"]["password"], b64("kept-password"));
    assert_eq!(
        applied.body["data"]["username"],
        b64(&format!("{USER_BASE}-b"))
    );
    assert_eq!(
        w.backends.calls()[0],
        format!("mongo.ensure_user acme_cp_shop_product_copy {USER_BASE}-b")
    );
}

#[tokio::test]
async fn missing_platform_is_degraded_and_requeued_without_creating_anything() {
    let w = world();
    let action = reconcile(finalized_pipeline(&w.api), w.ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.degraded_requeue));
    assert_eq!(
        w.api.lines(),
        [format!("GET {PLATFORM}"), format!("PATCH {CP}/status")]
    );
    let status = status_patch(&w.api);
    let degraded = condition(&status, "Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "PlatformNotFound");
    assert_eq!(condition(&status, "Ready")["status"], "False");
    assert!(w.backends.calls().is_empty());
}

#[tokio::test]
async fn platform_in_another_namespace_must_admit_the_pipeline() {
    let w = world();
    let mut platform = mk_platform();
    platform.metadata.namespace = Some("platforms".into());
    w.api.seed(
        "/apis/machina.dev/v1alpha1/namespaces/platforms/platforms/acme",
        serde_json::to_value(&platform).expect("platform"),
    );
    w.api.seed(
        "/api/v1/namespaces/shop",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {}}}),
    );
    let mut pipeline = (*finalized_pipeline(&w.api)).clone();
    pipeline.spec.platform_ref.namespace = Some("platforms".into());
    reconcile(Arc::new(pipeline), w.ctx.clone())
        .await
        .expect("reconcile");
    let status = status_patch(&w.api);
    assert_eq!(
        condition(&status, "Degraded")["reason"],
        "PlatformNotAdmitted"
    );
    assert!(w.backends.calls().is_empty());
}

#[tokio::test]
async fn failing_backend_is_degraded_and_an_error() {
    let w = world_with(FakeBackends {
        mongo_down: true,
        ..FakeBackends::default()
    });
    seed_platform_and_admin_secrets(&w.api);
    let error = reconcile(finalized_pipeline(&w.api), w.ctx.clone())
        .await
        .expect_err("mongo is down");
    assert_eq!(error.metric_label(), "InvalidMongoAdminUri");
    let status = status_patch(&w.api);
    assert_eq!(
        condition(&status, "Degraded")["reason"],
        "MongoDBUnavailable"
    );
    assert!(!w.api.lines().iter().any(|l| l.contains("/deployments/")));
}

#[tokio::test]
async fn deletion_with_retain_keeps_external_state() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    let pipeline = deleted(&w.api, DeletionPolicy::Retain);
    let action = reconcile(pipeline, w.ctx.clone()).await.expect("reconcile");
    assert_eq!(action, Action::await_change());
    assert!(w.backends.calls().is_empty(), "{:?}", w.backends.calls());
    assert_eq!(event_reasons(&w.api), ["ExternalStateRetained"]);
    assert_eq!(
        w.api.lines().last(),
        Some(&format!("PATCH {CP}")),
        "finalizer removed"
    );
}

#[tokio::test]
async fn deletion_with_delete_removes_users_and_topology() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    let pipeline = deleted(&w.api, DeletionPolicy::Delete);
    reconcile(pipeline, w.ctx.clone()).await.expect("reconcile");
    assert_eq!(
        w.backends.calls(),
        [
            format!("mongo.drop_user acme_cp_shop_product_copy {USER_BASE}-a"),
            format!("mongo.drop_user acme_cp_shop_product_copy {USER_BASE}-b"),
            format!("rabbit.remove shop.acme {USER_BASE} KeepIfNotEmpty"),
        ]
    );
    assert_eq!(event_reasons(&w.api), ["ExternalStateRemoved"]);
    let last = w.api.calls().last().cloned().expect("calls");
    assert_eq!(last.line(), format!("PATCH {CP}"));
    assert!(last.body.to_string().contains("remove"), "{}", last.body);
}

#[tokio::test]
async fn deletion_without_platform_releases_the_finalizer_with_an_event() {
    let w = world();
    let pipeline = deleted(&w.api, DeletionPolicy::Delete);
    reconcile(pipeline, w.ctx.clone()).await.expect("reconcile");
    assert!(w.backends.calls().is_empty());
    let events: Vec<Call> = w
        .api
        .calls()
        .into_iter()
        .filter(|c| c.path == EVENTS)
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].body["reason"], "ExternalStateLeftBehind");
    assert_eq!(events[0].body["type"], "Warning");
    let note = events[0].body["note"].as_str().expect("note");
    assert!(
        note.contains("Platform shop/acme not found") && note.contains(USER_BASE),
        "{note}"
    );
    assert_eq!(w.api.lines().last(), Some(&format!("PATCH {CP}")));
}

#[tokio::test]
async fn paused_pipeline_is_not_reconciled() {
    let w = world();
    let mut pipeline = mk_pipeline();
    pipeline.metadata.annotations = Some([(PAUSE_ANNOTATION.to_owned(), "true".to_owned())].into());
    let action = reconcile(Arc::new(pipeline), w.ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::await_change());
    assert!(w.api.calls().is_empty());
}

#[tokio::test]
async fn error_policy_backs_off_exponentially_and_counts_errors() {
    let w = world();
    let pipeline = Arc::new(mk_pipeline());
    let error = crate::Error::GeneratePassword("rng".into());
    let delays: Vec<Action> = (0..3)
        .map(|_| error_policy(pipeline.clone(), &error, w.ctx.clone()))
        .collect();
    assert_eq!(
        delays,
        [5, 10, 20].map(|s| Action::requeue(Duration::from_secs(s)))
    );
    let metrics = w.ctx.metrics.encode().expect("encode");
    assert!(
        metrics.contains(r#"machina_operator_reconcile_errors_total{controller="contentpipeline",error="GeneratePassword"} 3"#),
        "{metrics}"
    );
}

/// Seeds the pipeline's MongoDB Secret holding `user` with `annotations`, and a worker
/// whose rollout has `replicas` pods of which `updated` run the latest template.
fn seed_rotation_state(
    api: &ApiServer,
    user: &str,
    annotations: Value,
    replicas: i32,
    updated: i32,
) {
    api.seed(
        &format!("{SECRETS}/product-copy-mongodb"),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "product-copy-mongodb", "annotations": annotations},
               "data": {"username": b64(user), "password": b64("current-password")}}),
    );
    api.seed(
        "/apis/apps/v1/namespaces/shop/deployments/product-copy",
        json!({"status": {"observedGeneration": 0, "replicas": replicas, "readyReplicas": updated,
                          "updatedReplicas": updated, "availableReplicas": updated}}),
    );
}

/// The pipeline with the rotation annotation set to `request`.
fn rotation_requested(api: &ApiServer, request: &str) -> Arc<ContentPipeline> {
    let mut pipeline = (*finalized_pipeline(api)).clone();
    pipeline
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(rotation::ROTATE_ANNOTATION.into(), request.into());
    api.seed(CP, serde_json::to_value(&pipeline).expect("pipeline"));
    Arc::new(pipeline)
}

/// The bodies of every apply of the pipeline's MongoDB Secret, in order.
fn mongo_secret_applies(api: &ApiServer) -> Vec<Value> {
    api.calls()
        .into_iter()
        .filter(|c| c.method == "PATCH" && c.path == format!("{SECRETS}/product-copy-mongodb"))
        .map(|c| c.body)
        .collect()
}

#[tokio::test]
async fn a_rotation_request_moves_to_the_other_user_and_keeps_the_old_one_until_rollout() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    seed_rotation_state(
        &w.api,
        &format!("{USER_BASE}-a"),
        json!({rotation::ROTATED_FOR_ANNOTATION: "2026-10"}),
        2,
        2,
    );
    let pipeline = rotation_requested(&w.api, "2026-11");
    reconcile(pipeline, w.ctx.clone()).await.expect("reconcile");

    let backend_calls = w.backends.calls();
    assert_eq!(
        backend_calls[0],
        format!("mongo.ensure_user acme_cp_shop_product_copy {USER_BASE}-b")
    );
    assert!(
        !backend_calls
            .iter()
            .any(|c| c.starts_with("mongo.drop_user")),
        "the old user must outlive the rollout: {backend_calls:?}"
    );
    let applies = mongo_secret_applies(&w.api);
    assert_eq!(applies.len(), 1);
    let secret = &applies[0];
    assert_eq!(secret["data"]["username"], b64(&format!("{USER_BASE}-b")));
    assert_ne!(secret["data"]["password"], b64("current-password"));
    let annotations = &secret["metadata"]["annotations"];
    assert_eq!(annotations[rotation::ROTATED_FOR_ANNOTATION], "2026-11");
    assert_eq!(
        annotations[rotation::RETIRED_USER_ANNOTATION],
        format!("{USER_BASE}-a")
    );
}

#[tokio::test]
async fn the_retired_user_is_dropped_once_no_pod_runs_the_old_secret() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    let rotated = json!({
        rotation::ROTATED_FOR_ANNOTATION: "2026-11",
        rotation::RETIRED_USER_ANNOTATION: format!("{USER_BASE}-a"),
    });
    seed_rotation_state(&w.api, &format!("{USER_BASE}-b"), rotated, 2, 2);
    let pipeline = rotation_requested(&w.api, "2026-11");
    reconcile(pipeline, w.ctx.clone()).await.expect("reconcile");

    let backend_calls = w.backends.calls();
    assert!(
        backend_calls.contains(&format!(
            "mongo.drop_user acme_cp_shop_product_copy {USER_BASE}-a"
        )),
        "{backend_calls:?}"
    );
    let applies = mongo_secret_applies(&w.api);
    let last = applies.last().expect("secret applied");
    assert_eq!(last["data"]["password"], b64("current-password"));
    assert_eq!(
        last["metadata"]["annotations"],
        json!({rotation::ROTATED_FOR_ANNOTATION: "2026-11"})
    );
}

#[tokio::test]
async fn the_retired_user_stays_while_old_pods_still_run() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    let rotated = json!({
        rotation::ROTATED_FOR_ANNOTATION: "2026-11",
        rotation::RETIRED_USER_ANNOTATION: format!("{USER_BASE}-a"),
    });
    seed_rotation_state(&w.api, &format!("{USER_BASE}-b"), rotated, 3, 2);
    let pipeline = rotation_requested(&w.api, "2026-12");
    reconcile(pipeline, w.ctx.clone()).await.expect("reconcile");

    let backend_calls = w.backends.calls();
    assert!(
        !backend_calls
            .iter()
            .any(|c| c.starts_with("mongo.drop_user")),
        "{backend_calls:?}"
    );
    assert_eq!(
        backend_calls[0],
        format!("mongo.ensure_user acme_cp_shop_product_copy {USER_BASE}-b"),
        "a new request waits for the previous rotation to finish"
    );
    let applies = mongo_secret_applies(&w.api);
    assert_eq!(
        applies[0]["metadata"]["annotations"][rotation::RETIRED_USER_ANNOTATION],
        format!("{USER_BASE}-a")
    );
}
