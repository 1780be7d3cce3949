//! Test-only helpers shared by the controller tests: assertions on the calls recorded by
//! the mock API server (`mock_api`), and the conditions of a written status.

use crate::controllers::backends::{Backends, MongoUsers, RabbitAdmin, RabbitTopologies};
use crate::fixtures::mk_platform;
use crate::mock_api::{ApiServer, Call};
use crate::provision::mongodb::{AnalyticsProgress, MongoError, RoleSpec, UserChange, UserSpec};
use crate::provision::rabbitmq::{ApplyReport, QueueRemoval, RabbitError, RemoveReport, Topology};
use crate::secrets::SecretString;
use async_trait::async_trait;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Asserts that `call` is a server-side apply under the operator's field manager, forced.
pub fn assert_ssa(call: &Call) {
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

/// The condition `type_` of a status as JSON.
pub fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("condition {type_} in {status}"))
}

/// The status of the last status patch of the object at `path` (asserted to be SSA).
pub fn status_patch(api: &ApiServer, path: &str) -> Value {
    let calls = api.calls();
    let call = calls
        .iter()
        .rev()
        .find(|c| c.method == "PATCH" && c.path == format!("{path}/status"))
        .expect("a status patch");
    assert_ssa(call);
    call.body["status"].clone()
}

/// Reasons of the Events posted in `namespace`.
pub fn event_reasons(api: &ApiServer, namespace: &str) -> Vec<String> {
    let events = format!("/apis/events.k8s.io/v1/namespaces/{namespace}/events");
    api.calls()
        .iter()
        .filter(|c| c.method == "POST" && c.path == events)
        .map(|c| c.body["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A deletion timestamp.
pub fn deleted_at() -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("time"))
}

/// Provisioners that record what they were asked.
#[derive(Default)]
pub struct FakeBackends {
    /// The calls made.
    pub calls: Mutex<Vec<String>>,
    /// Opening MongoDB fails (server selection timed out).
    pub mongo_down: bool,
}

impl FakeBackends {
    /// Every call, `backend.method args`.
    pub fn calls(&self) -> Vec<String> {
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
    async fn ensure_role(&self, spec: &RoleSpec) -> Result<(), MongoError> {
        self.0
            .record(format!("mongo.ensure_role {} {}", spec.db, spec.role));
        Ok(())
    }
    async fn drop_role(&self, db: &str, role: &str) -> Result<bool, MongoError> {
        self.0.record(format!("mongo.drop_role {db} {role}"));
        Ok(true)
    }
    async fn analytics_progress(
        &self,
        db: &str,
        output: &str,
    ) -> Result<Option<AnalyticsProgress>, MongoError> {
        // Reads are not recorded: the call lists show what a reconcile changes.
        let _ = (db, output);
        Ok(None)
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

/// [`Backends`] opening recorders over one [`FakeBackends`].
pub struct Fakes(pub Arc<FakeBackends>);

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

const PLATFORM: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/platforms/acme";
const SECRETS: &str = "/api/v1/namespaces/shop/secrets";

/// Secret data as the API returns it.
pub fn b64(s: &str) -> String {
    // Secret data as the API returns it, through k8s-openapi's own encoding.
    serde_json::to_value(k8s_openapi::ByteString(s.as_bytes().to_vec()))
        .expect("encode")
        .as_str()
        .expect("string")
        .to_owned()
}

/// Seeds the sample Platform `shop/acme` and its admin Secrets.
pub fn seed_platform_and_admin_secrets(api: &ApiServer) {
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

/// A reconciler's world: the context over the mock API and fake provisioners.
pub struct World {
    /// The reconciler's context.
    pub ctx: Arc<crate::context::Context>,
    /// The mock API server, with its recorded calls.
    pub api: ApiServer,
    /// The fake provisioners, with their recorded calls.
    pub backends: Arc<FakeBackends>,
}

/// A world whose provisioners behave as `fakes` says.
pub fn world_with(fakes: FakeBackends) -> World {
    let (client, api) = ApiServer::start();
    let backends = Arc::new(fakes);
    let ctx = crate::context::Context::new(
        client,
        crate::context::Config::default(),
        Arc::new(Fakes(backends.clone())),
        crate::metrics::Metrics::default(),
        Arc::new(crate::context::Diagnostics::default()),
    );
    World {
        ctx: Arc::new(ctx),
        api,
        backends,
    }
}

/// A world with healthy fake provisioners.
pub fn world() -> World {
    world_with(FakeBackends::default())
}
