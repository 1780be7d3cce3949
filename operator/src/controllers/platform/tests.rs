//! The Platform reconciler against the mock API server.

use super::*;
use crate::context::{Config, Diagnostics};
use crate::controllers::backends::{Backends, MongoUsers, RabbitAdmin, RabbitTopologies};
use crate::fixtures::mk_platform;
use crate::metrics::Metrics;
use crate::mock_api::ApiServer;
use crate::provision::mongodb::MongoError;
use crate::provision::rabbitmq::RabbitError;
use crate::secrets::SecretString;
use async_trait::async_trait;
use serde_json::{Value, json};

const PLATFORM: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/platforms/acme";
const SECRETS: &str = "/api/v1/namespaces/shop/secrets";

/// The Platform controller provisions nothing external.
struct NoBackends;

#[async_trait]
impl Backends for NoBackends {
    async fn mongo(&self, _: &SecretString) -> Result<Arc<dyn MongoUsers>, MongoError> {
        Err(MongoError::InvalidAdminUri {
            reason: "not used by the Platform controller".into(),
        })
    }
    async fn rabbit(&self, _: &RabbitAdmin) -> Result<Arc<dyn RabbitTopologies>, RabbitError> {
        Err(RabbitError::InvalidManagementUrl {
            reason: "not used by the Platform controller",
        })
    }
}

fn start() -> (Arc<Context>, ApiServer) {
    let (client, api) = ApiServer::start();
    let ctx = Context::new(
        client,
        Config::default(),
        Arc::new(NoBackends),
        Metrics::default(),
        Arc::new(Diagnostics::default()),
    );
    (Arc::new(ctx), api)
}

fn secret(api: &ApiServer, name: &str, data: Value) {
    api.seed(
        &format!("{SECRETS}/{name}"),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": data}),
    );
}

fn b64(s: &str) -> Value {
    serde_json::to_value(k8s_openapi::ByteString(s.as_bytes().to_vec())).expect("encode")
}

fn seed_admin_secrets(api: &ApiServer) {
    secret(
        api,
        "acme-mongodb-admin",
        json!({"uri": b64("mongodb://root:pw@mongo:27017/admin")}),
    );
    secret(
        api,
        "acme-redis",
        json!({"url": b64("redis://:pw@redis:6379/0")}),
    );
    secret(
        api,
        "acme-rabbitmq-admin",
        json!({"amqpUrl": b64("amqp://a:pw@rabbitmq:5672/%2f")}),
    );
}

fn seeded_platform(api: &ApiServer) -> Platform {
    let mut platform = mk_platform();
    platform.spec.services.insights.enabled = false;
    api.seed(PLATFORM, serde_json::to_value(&platform).expect("platform"));
    platform
}

#[tokio::test]
async fn applies_connection_secrets_and_services_then_reports_components() {
    let (ctx, api) = start();
    seed_admin_secrets(&api);
    let platform = seeded_platform(&api);
    let action = reconcile(Arc::new(platform), ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::requeue(ctx.config.progress_requeue));
    let lines = api.lines();
    assert_eq!(
        lines[..3],
        [
            format!("GET {SECRETS}/acme-mongodb-admin"),
            format!("GET {SECRETS}/acme-redis"),
            format!("GET {SECRETS}/acme-rabbitmq-admin"),
        ]
    );
    let calls = api.calls();
    for call in calls.iter().filter(|c| c.method == "PATCH") {
        assert!(
            call.content_type.starts_with("application/apply-patch"),
            "{}",
            call.line()
        );
        assert!(
            call.query.contains("fieldManager=machina-operator"),
            "{}",
            call.line()
        );
    }
    let applied = |fragment: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with("PATCH") && l.contains(fragment))
            .count()
    };
    assert_eq!(applied("/deployments/"), 7);
    assert_eq!(applied("/services/"), 7);
    assert_eq!(applied("-connection"), 7);
    assert!(
        lines
            .contains(&"DELETE /apis/apps/v1/namespaces/shop/deployments/acme-insights".to_owned())
    );
    let gateway_secret = calls
        .iter()
        .find(|c| c.method == "PATCH" && c.path.ends_with("/acme-gateway-connection"))
        .expect("gateway connection secret");
    assert!(
        !gateway_secret.body.to_string().contains("mongo"),
        "the gateway uses no MongoDB"
    );
    let status = &calls.last().expect("status").body["status"];
    assert_eq!(
        calls.last().map(|c| c.line()),
        Some(format!("PATCH {PLATFORM}/status"))
    );
    assert_eq!(status["servicesReady"], "0/7");
    assert_eq!(status["components"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        status["gatewayEndpoint"],
        "http://acme-gateway.shop.svc:8080"
    );
    assert_eq!(status["rabbitmqVhost"], "shop.acme");
    assert_eq!(status["observedGeneration"], 1);
    let progressing = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Progressing"))
        .expect("Progressing");
    assert_eq!(progressing["status"], "True");
    assert!(
        !status.to_string().contains("pw@"),
        "no credential in status"
    );
}

#[tokio::test]
async fn missing_admin_secret_is_degraded_and_an_error() {
    let (ctx, api) = start();
    let platform = seeded_platform(&api);
    let error = reconcile(Arc::new(platform), ctx.clone())
        .await
        .expect_err("no admin secret");
    assert_eq!(error.metric_label(), "BackendSecret");
    assert_eq!(
        api.lines(),
        [
            format!("GET {SECRETS}/acme-mongodb-admin"),
            format!("PATCH {PLATFORM}/status"),
        ]
    );
    let status = &api.calls()[1].body["status"];
    let degraded = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Degraded"))
        .expect("Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "BackendSecretMissing");
    assert!(
        degraded["message"]
            .as_str()
            .is_some_and(|m| m.contains("acme-mongodb-admin"))
    );
}

#[test]
fn ready_only_when_every_component_is() {
    let component = |name: &str, ready| ComponentStatus {
        name: name.into(),
        ready,
        ..ComponentStatus::default()
    };
    assert_eq!(health_of(&[component("gateway", true)]), Health::Ready);
    assert_eq!(
        health_of(&[component("gateway", true), component("auth", false)]),
        Health::Progressing {
            message: "waiting for auth".into()
        }
    );
}
