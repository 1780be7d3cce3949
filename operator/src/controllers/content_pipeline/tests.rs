//! The ContentPipeline reconciler against the mock API server, with fake provisioners that
//! record their calls: the exact HTTP calls (method, path, field manager, bodies) it makes.

use super::*;
use crate::context::{Config, Diagnostics};
use crate::controllers::backends::{Backends, MongoUsers, RabbitAdmin, RabbitTopologies};
use crate::fixtures::{mk_pipeline, mk_platform};
use crate::metrics::Metrics;
use crate::mock_api::{ApiServer, Call};
use crate::provision::mongodb::{MongoError, UserChange, UserSpec};
use crate::provision::rabbitmq::{ApplyReport, QueueRemoval, RabbitError, RemoveReport, Topology};
use crate::secrets::SecretString;
use async_trait::async_trait;
use machina_crds::common::DeletionPolicy;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::Duration;

const CP: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/contentpipelines/product-copy";
const PLATFORM: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/platforms/acme";
const SECRETS: &str = "/api/v1/namespaces/shop/secrets";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/shop/events";
const USER_BASE: &str = "machina.cp.shop.product-copy";

/// Provisioners that record what they were asked.
#[derive(Default)]
struct FakeBackends {
    calls: Mutex<Vec<String>>,
    mongo_down: bool,
}

impl FakeBackends {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
    fn record(&self, call: String) {
        self.calls.lock().expect("lock").push(call);
    }
}

struct Recorder(Arc<FakeBackends>);

#[async_trait]
impl MongoUsers for Recorder {
    async fn ensure_user(&self, spec: &UserSpec) -> Result<UserChange, MongoError> {
        self.0
            .record(format!("mongo.ensure_user {} {}", spec.db, spec.user));
        Ok(UserChange::Created)
    }
    async fn drop_user(&self, db: &str, user: &str) -> Result<bool, MongoError> {
        self.0.record(format!("mongo.drop_user {db} {user}"));
        Ok(true)
    }
}

#[async_trait]
impl RabbitTopologies for Recorder {
    async fn apply(&self, t: &Topology, _: &SecretString) -> Result<ApplyReport, RabbitError> {
        self.0
            .record(format!("rabbit.apply {} {}", t.vhost, t.user));
        Ok(ApplyReport::default())
    }
    async fn remove(&self, t: &Topology, r: QueueRemoval) -> Result<RemoveReport, RabbitError> {
        self.0
            .record(format!("rabbit.remove {} {} {r:?}", t.vhost, t.user));
        Ok(RemoveReport::default())
    }
}

struct Fakes(Arc<FakeBackends>);

#[async_trait]
impl Backends for Fakes {
    async fn mongo(&self, _: &SecretString) -> Result<Arc<dyn MongoUsers>, MongoError> {
        if self.0.mongo_down {
            return Err(MongoError::InvalidAdminUri {
                reason: "server selection timed out".into(),
            });
        }
        Ok(Arc::new(Recorder(self.0.clone())))
    }
    async fn rabbit(&self, _: &RabbitAdmin) -> Result<Arc<dyn RabbitTopologies>, RabbitError> {
        Ok(Arc::new(Recorder(self.0.clone())))
    }
}

struct World {
    ctx: Arc<Context>,
    api: ApiServer,
    backends: Arc<FakeBackends>,
}

fn world_with(fakes: FakeBackends) -> World {
    let (client, api) = ApiServer::start();
    let backends = Arc::new(fakes);
    let ctx = Context::new(
        client,
        Config::default(),
        Arc::new(Fakes(backends.clone())),
        Metrics::default(),
        Arc::new(Diagnostics::default()),
    );
    World {
        ctx: Arc::new(ctx),
        api,
        backends,
    }
}

fn world() -> World {
    world_with(FakeBackends::default())
}

fn b64(s: &str) -> String {
    // Secret data as the API returns it, through k8s-openapi's own encoding.
    serde_json::to_value(k8s_openapi::ByteString(s.as_bytes().to_vec()))
        .expect("encode")
        .as_str()
        .expect("string")
        .to_owned()
}

fn seed_platform_and_admin_secrets(api: &ApiServer) {
    api.seed(
        PLATFORM,
        serde_json::to_value(mk_platform()).expect("platform"),
    );
    api.seed(
        &format!("{SECRETS}/acme-mongodb-admin"),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acme-mongodb-admin"},
               "data": {"uri": b64("mongodb://root:rootpw@mongo.data.svc:27017/admin")}}),
    );
    api.seed(
        &format!("{SECRETS}/acme-rabbitmq-admin"),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acme-rabbitmq-admin"},
               "data": {"username": b64("machina-admin"), "password": b64("adminpw"),
                        "amqpUrl": b64("amqp://machina-admin:adminpw@rabbitmq.data.svc:5672/%2f"),
                        "managementUrl": b64("http://rabbitmq.data.svc:15672")}}),
    );
}

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
    pipeline.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("time"),
        ));
    api.seed(CP, serde_json::to_value(&pipeline).expect("pipeline"));
    Arc::new(pipeline)
}

fn status_patch(api: &ApiServer) -> Value {
    let calls = api.calls();
    let call = calls
        .iter()
        .rev()
        .find(|c| c.method == "PATCH" && c.path == format!("{CP}/status"))
        .expect("a status patch");
    assert_ssa(call);
    call.body["status"].clone()
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("condition {type_} in {status}"))
}

fn assert_ssa(call: &Call) {
    assert!(
        call.content_type.starts_with("application/apply-patch"),
        "{} is not a server-side apply: {}",
        call.line(),
        call.content_type
    );
    assert!(
        call.query.contains("fieldManager=machina-operator") && call.query.contains("force=true"),
        "{}: {}",
        call.line(),
        call.query
    );
}

fn event_reasons(api: &ApiServer) -> Vec<String> {
    api.calls()
        .iter()
        .filter(|c| c.method == "POST" && c.path == EVENTS)
        .map(|c| c.body["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
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
