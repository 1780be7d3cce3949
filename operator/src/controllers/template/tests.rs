//! The Template reconciler against the mock API server, with a fake template service that
//! records its calls and answers as each test scripts it.

use super::*;
use crate::context::{Config, Diagnostics};
use crate::controllers::backends::ProvisionerBackends;
use crate::controllers::test_support::{condition, deleted_at, event_reasons, status_patch};
use crate::fixtures::{mk_platform, mk_template};
use crate::metrics::Metrics;
use crate::mock_api::ApiServer;
use async_trait::async_trait;
use machina_crds::common::DeletionPolicy;
use serde_json::{Value, json};
use std::sync::Mutex;

const TPL: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/templates/product-page";
const PLATFORM: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/platforms/acme";
const URL: &str = "http://acme-templates.shop.svc:8080";

/// How the fake service answers.
#[derive(Clone, Copy, Default, PartialEq)]
enum Mode {
    /// `PUT` stores version `latest + 1` (or finds it), activate succeeds.
    #[default]
    Up,
    /// Every call fails to connect.
    Down,
    /// `PUT` answers 422 with a compile error at 3:7.
    CompileError,
}

#[derive(Default)]
struct FakeService {
    mode: Mode,
    /// The versions stored before the test (activate of another number is a 404).
    stored: i64,
    calls: Mutex<Vec<(String, Value)>>,
}

impl FakeService {
    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().expect("lock").clone()
    }
    fn lines(&self) -> Vec<String> {
        self.calls().into_iter().map(|(line, _)| line).collect()
    }
    fn record(&self, line: String, body: Value) -> Result<(), TemplateServiceError> {
        self.calls.lock().expect("lock").push((line, body));
        match self.mode {
            Mode::Down => Err(TemplateServiceError::Unavailable {
                url: URL.into(),
                reason: "connection refused".into(),
            }),
            _ => Ok(()),
        }
    }
    fn result(name: &str, version: i64, active: i64, latest: i64) -> Registered {
        Registered {
            name: name.into(),
            version,
            active_version: active,
            latest_version: latest,
            checksum: format!("sha256-v{version}"),
            created: true,
        }
    }
}

#[async_trait]
impl TemplateService for FakeService {
    async fn register(
        &self,
        base_url: &str,
        name: &str,
        body: &TemplateBody,
    ) -> Result<Registered, TemplateServiceError> {
        let body = serde_json::to_value(body).expect("body");
        self.record(format!("PUT {base_url}/v1/templates/{name}"), body)?;
        if self.mode == Mode::CompileError {
            return Err(TemplateServiceError::Invalid {
                name: name.into(),
                code: "compile_error".into(),
                problems: vec![TemplateProblem {
                    template: Some(name.into()),
                    line: 3,
                    column: Some(7),
                    message: "unexpected end of input".into(),
                }],
            });
        }
        let version = self.stored + 1;
        Ok(Self::result(name, version, version, version))
    }
    async fn activate(
        &self,
        base_url: &str,
        name: &str,
        version: i64,
    ) -> Result<Registered, TemplateServiceError> {
        self.record(
            format!("POST {base_url}/v1/templates/{name}/activate"),
            json!({"version": version}),
        )?;
        if version > self.stored + 1 {
            return Err(TemplateServiceError::VersionNotFound {
                name: name.into(),
                version,
            });
        }
        Ok(Self::result(name, version, version, self.stored + 1))
    }
    async fn retire(&self, base_url: &str, name: &str) -> Result<(), TemplateServiceError> {
        self.record(
            format!("DELETE {base_url}/v1/templates/{name}"),
            Value::Null,
        )
    }
}

struct World {
    ctx: Arc<Context>,
    api: ApiServer,
    service: Arc<FakeService>,
}

fn world_with(service: FakeService) -> World {
    let (client, api) = ApiServer::start();
    let service = Arc::new(service);
    let ctx = Context::new(
        client,
        Config::default(),
        Arc::new(ProvisionerBackends::default()),
        Metrics::default(),
        Arc::new(Diagnostics::default()),
    )
    .with_template_service(service.clone());
    World {
        ctx: Arc::new(ctx),
        api,
        service,
    }
}

fn seed_platform(api: &ApiServer) {
    api.seed(
        PLATFORM,
        serde_json::to_value(mk_platform()).expect("platform"),
    );
}

/// The sample Template with the finalizer, seeded; `edit` changes it first.
fn finalized(api: &ApiServer, edit: impl FnOnce(&mut Template)) -> Arc<Template> {
    let mut template = mk_template();
    template.metadata.finalizers = Some(vec![FINALIZER.into()]);
    edit(&mut template);
    api.seed(TPL, serde_json::to_value(&template).expect("template"));
    Arc::new(template)
}

#[tokio::test]
async fn registers_the_spec_under_a_namespaced_name_and_reports_the_version() {
    let w = world_with(FakeService::default());
    seed_platform(&w.api);
    let template = finalized(&w.api, |t| {
        t.spec.extends = Some("layout".into());
        t.spec.includes = vec!["footer".into()];
    });
    let action = reconcile(template, w.ctx.clone()).await.expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.resync));
    assert_eq!(
        w.api.lines(),
        [format!("GET {PLATFORM}"), format!("PATCH {TPL}/status")]
    );
    let calls = w.service.calls();
    assert_eq!(
        w.service.lines(),
        [format!("PUT {URL}/v1/templates/shop.product-page")]
    );
    let body = &calls[0].1;
    assert_eq!(body["format"], "Html");
    assert_eq!(body["source"], mk_template().spec.source);
    assert_eq!(
        body["description"],
        "Product card with headline and body, HTML-escaped."
    );
    assert_eq!(body["inputSchema"]["required"], json!(["product", "copy"]));
    assert_eq!(body["sampleContext"]["product"]["sku"], "AUR-001");
    assert_eq!(body["limits"]["maxOutputBytes"], 65536);
    assert_eq!(body["extends"], "shop.layout");
    assert_eq!(body["includes"], json!(["shop.footer"]));
    let status = status_patch(&w.api, TPL);
    assert_eq!(status["templateId"], "shop.product-page");
    assert_eq!(status["activeVersion"], 1);
    assert_eq!(status["latestVersion"], 1);
    assert_eq!(status["checksum"], "sha256-v1");
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(condition(&status, "Ready")["status"], "True");
    assert_eq!(condition(&status, "Degraded")["status"], "False");
}

#[tokio::test]
async fn a_compile_error_is_reported_with_its_position_and_waits_for_a_change() {
    let w = world_with(FakeService {
        mode: Mode::CompileError,
        ..FakeService::default()
    });
    seed_platform(&w.api);
    let action = reconcile(finalized(&w.api, |_| {}), w.ctx.clone())
        .await
        .expect("a compile error is not a reconcile error");
    assert_eq!(action, Action::await_change());
    let status = status_patch(&w.api, TPL);
    assert_eq!(
        status["compileError"],
        json!({"line": 3, "column": 7, "message": "shop.product-page: unexpected end of input"})
    );
    let ready = condition(&status, "Ready");
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "InvalidTemplate");
    assert!(
        ready["message"]
            .as_str()
            .expect("message")
            .starts_with("line 3, column 7: "),
        "{ready}"
    );
    assert_eq!(condition(&status, "Degraded")["status"], "True");
    assert!(status.get("activeVersion").is_none());
}

#[tokio::test]
async fn a_compile_error_with_relations_is_retried_later() {
    // The Template it extends may be registered by the same apply, a moment later.
    let w = world_with(FakeService {
        mode: Mode::CompileError,
        ..FakeService::default()
    });
    seed_platform(&w.api);
    let template = finalized(&w.api, |t| t.spec.extends = Some("layout".into()));
    let action = reconcile(template, w.ctx.clone()).await.expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.degraded_requeue));
}

#[tokio::test]
async fn a_pinned_version_is_activated() {
    let w = world_with(FakeService {
        stored: 3,
        ..FakeService::default()
    });
    seed_platform(&w.api);
    let template = finalized(&w.api, |t| t.spec.pinned_version = Some(2));
    reconcile(template, w.ctx.clone()).await.expect("reconcile");
    let calls = w.service.calls();
    assert_eq!(
        w.service.lines(),
        [
            format!("PUT {URL}/v1/templates/shop.product-page"),
            format!("POST {URL}/v1/templates/shop.product-page/activate"),
        ]
    );
    assert_eq!(calls[1].1, json!({"version": 2}));
    let status = status_patch(&w.api, TPL);
    assert_eq!(status["activeVersion"], 2);
    assert_eq!(status["latestVersion"], 4);
    assert_eq!(status["checksum"], "sha256-v2");
    assert_eq!(condition(&status, "Ready")["status"], "True");
}

#[tokio::test]
async fn a_missing_pinned_version_is_degraded() {
    let w = world_with(FakeService::default());
    seed_platform(&w.api);
    let template = finalized(&w.api, |t| t.spec.pinned_version = Some(9));
    let action = reconcile(template, w.ctx.clone()).await.expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.degraded_requeue));
    let status = status_patch(&w.api, TPL);
    assert_eq!(condition(&status, "Degraded")["reason"], "VersionNotFound");
    assert_eq!(condition(&status, "Ready")["status"], "False");
}

#[tokio::test]
async fn an_unreachable_service_is_degraded_and_an_error() {
    let w = world_with(FakeService {
        mode: Mode::Down,
        ..FakeService::default()
    });
    seed_platform(&w.api);
    let template = finalized(&w.api, |_| {});
    let error = reconcile(template.clone(), w.ctx.clone())
        .await
        .expect_err("unreachable");
    assert_eq!(error.metric_label(), "TemplateServiceUnavailable");
    let status = status_patch(&w.api, TPL);
    let degraded = condition(&status, "Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "TemplateServiceUnavailable");
    // The error policy backs off per object.
    let first = error_policy(template.clone(), &error, w.ctx.clone());
    let second = error_policy(template, &error, w.ctx.clone());
    assert_eq!(first, Action::requeue(w.ctx.config.backoff_base));
    assert_eq!(second, Action::requeue(w.ctx.config.backoff_base * 2));
}

#[tokio::test]
async fn a_missing_platform_is_degraded_without_calling_the_service() {
    let w = world_with(FakeService::default());
    let action = reconcile(finalized(&w.api, |_| {}), w.ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.degraded_requeue));
    assert!(w.service.calls().is_empty());
    let status = status_patch(&w.api, TPL);
    assert_eq!(condition(&status, "Degraded")["reason"], "PlatformNotFound");
}

#[tokio::test]
async fn the_configured_url_overrides_the_platform_service() {
    let (client, api) = ApiServer::start();
    let service = Arc::new(FakeService::default());
    let config = Config {
        template_service_url: Some("http://127.0.0.1:9".into()),
        ..Config::default()
    };
    let ctx = Context::new(
        client,
        config,
        Arc::new(ProvisionerBackends::default()),
        Metrics::default(),
        Arc::new(Diagnostics::default()),
    )
    .with_template_service(service.clone());
    seed_platform(&api);
    reconcile(finalized(&api, |_| {}), Arc::new(ctx))
        .await
        .expect("reconcile");
    assert_eq!(
        service.lines(),
        ["PUT http://127.0.0.1:9/v1/templates/shop.product-page"]
    );
}

fn deleted(api: &ApiServer, policy: DeletionPolicy) -> Arc<Template> {
    finalized(api, |t| {
        t.spec.deletion_policy = policy;
        t.metadata.deletion_timestamp = Some(deleted_at());
    })
}

fn finalizer_released(api: &ApiServer) -> bool {
    // kube-runtime removes it with a JSON patch: `test` the finalizer, then `remove` it.
    api.calls()
        .iter()
        .any(|c| c.method == "PATCH" && c.path == TPL && c.body.to_string().contains("\"remove\""))
}

#[tokio::test]
async fn delete_policy_retires_the_template() {
    let w = world_with(FakeService::default());
    seed_platform(&w.api);
    reconcile(deleted(&w.api, DeletionPolicy::Delete), w.ctx.clone())
        .await
        .expect("cleanup");
    assert_eq!(
        w.service.lines(),
        [format!("DELETE {URL}/v1/templates/shop.product-page")]
    );
    assert!(finalizer_released(&w.api));
    assert_eq!(event_reasons(&w.api, "shop"), ["ExternalStateRemoved"]);
}

#[tokio::test]
async fn retain_policy_leaves_the_template() {
    let w = world_with(FakeService::default());
    seed_platform(&w.api);
    reconcile(deleted(&w.api, DeletionPolicy::Retain), w.ctx.clone())
        .await
        .expect("cleanup");
    assert!(w.service.calls().is_empty());
    assert!(finalizer_released(&w.api));
    assert_eq!(event_reasons(&w.api, "shop"), ["ExternalStateRetained"]);
}

#[tokio::test]
async fn a_delete_never_hangs_on_a_missing_platform_or_service() {
    for platform in [false, true] {
        let w = world_with(FakeService {
            mode: Mode::Down,
            ..FakeService::default()
        });
        if platform {
            seed_platform(&w.api);
        }
        reconcile(deleted(&w.api, DeletionPolicy::Delete), w.ctx.clone())
            .await
            .expect("cleanup succeeds anyway");
        assert!(finalizer_released(&w.api));
        assert_eq!(event_reasons(&w.api, "shop"), ["ExternalStateLeftBehind"]);
    }
}
