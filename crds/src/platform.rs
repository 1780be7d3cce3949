//! `Platform` (`mp`): the shared services of one MACH platform and the backends they use.

use crate::common::SecretKeyRef;
use crate::common::{ObservedState, ServiceType, Workload};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a Platform: which shared services run, how big, and on which backends.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "machina.dev",
    version = "v1alpha1",
    kind = "Platform",
    plural = "platforms",
    shortname = "mp",
    category = "machina",
    namespaced,
    status = "PlatformStatus",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Services","type":"string","jsonPath":".status.servicesReady"}"#,
    printcolumn = r#"{"name":"Gateway","type":"string","jsonPath":".status.gatewayEndpoint"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.version","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSpec {
    /// Machina release the shared services run; the default image tag of every component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), pattern(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"))]
    pub version: Option<String>,
    /// Registry the default images are pulled from (for example a mirror).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub image_registry: Option<String>,
    /// Pull secrets for the images, by Secret name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub image_pull_secrets: Vec<String>,
    /// Which namespaces may run Templates, ContentPipelines and AnalyticsJobs on this Platform.
    #[serde(default)]
    pub tenancy: Tenancy,
    /// MongoDB: where the operator provisions users and the services keep their data.
    pub mongodb: MongoBackend,
    /// Redis used by the shared services (sessions, rate limits, caches).
    pub redis: RedisBackend,
    /// RabbitMQ: the platform's vhost, exchanges and the management API used for provisioning.
    pub rabbitmq: RabbitBackend,
    /// The shared services; each can be enabled or disabled and sized on its own.
    #[serde(default)]
    pub services: PlatformServices,
    /// Gateway / BFF behaviour: exposure, CORS and rate limits.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// Token issuance settings of the auth service.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Logs, metrics and traces of every component.
    #[serde(default)]
    pub observability: Observability,
}

/// Namespaces admitted to use the Platform besides its own.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenancy {
    /// Namespaces whose labels match may reference this Platform. Absent admits only the
    /// Platform's own namespace; `{}` admits every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
}

/// MongoDB backend of a Platform.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.databasePrefix == oldSelf.databasePrefix").message("databasePrefix is immutable: the services' data lives under it").field_path(".databasePrefix"))]
pub struct MongoBackend {
    /// Secret key holding an admin connection string (`mongodb://…`) with the right to create users.
    pub admin_secret_ref: SecretKeyRef,
    /// Prefix of every database the platform creates (`<prefix>_<service>`, `<prefix>_cp_<pipeline>`).
    #[serde(default = "default_db_prefix")]
    #[schemars(length(min = 1, max = 32), pattern(r"^[a-z][a-z0-9_]*$"))]
    pub database_prefix: String,
}

fn default_db_prefix() -> String {
    "machina".into()
}

/// Redis backend of a Platform's shared services.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedisBackend {
    /// Secret key holding the Redis URL (`redis://:password@host:port/db`).
    pub url_secret_ref: SecretKeyRef,
}

/// RabbitMQ backend of a Platform.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.vhost) == has(oldSelf.vhost) && (!has(self.vhost) || self.vhost == oldSelf.vhost)").message("vhost is immutable: queues and users live in it").field_path(".vhost"))]
pub struct RabbitBackend {
    /// Secret with keys `username`, `password`, `amqpUrl` and `managementUrl` of an administrator.
    #[schemars(length(min = 1, max = 253))]
    pub admin_secret_name: String,
    /// Virtual host of the platform; defaults to `<namespace>.<platform name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub vhost: Option<String>,
    /// Topic exchange analytics events are published to.
    #[serde(default = "default_events_exchange")]
    #[schemars(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9_.:-]+$"))]
    pub events_exchange: String,
    /// Topic exchange asynchronous generation jobs are published to.
    #[serde(default = "default_jobs_exchange")]
    #[schemars(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9_.:-]+$"))]
    pub jobs_exchange: String,
    /// Topic exchange of change events (`user.*`, `content.published`, `media.processed`).
    #[serde(default = "default_changes_exchange")]
    #[schemars(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9_.:-]+$"))]
    pub changes_exchange: String,
}

fn default_changes_exchange() -> String {
    "machina.changes".into()
}

fn default_events_exchange() -> String {
    "machina.events".into()
}

fn default_jobs_exchange() -> String {
    "machina.jobs".into()
}

/// One shared service: on or off, and its workload.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedService {
    /// Whether the operator runs this service.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Replicas, image, resources and placement.
    #[serde(flatten)]
    pub workload: Workload,
}

impl Default for SharedService {
    fn default() -> Self {
        Self {
            enabled: true,
            workload: Workload::default(),
        }
    }
}

fn default_true() -> bool {
    true
}

/// The eight shared services and the gateway of the seed architecture.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!self.gateway.enabled || self.auth.enabled").message("the gateway verifies tokens issued by auth: enable auth or disable the gateway"))]
#[x_kube(validation = Rule::new("!self.insights.enabled || self.analytics.enabled").message("insights reads what analytics aggregates: enable analytics or disable insights"))]
#[x_kube(validation = Rule::new("!self.content.enabled || self.media.enabled").message("content references media assets: enable media or disable content"))]
pub struct PlatformServices {
    /// API gateway / BFF: the one public entry point.
    #[serde(default)]
    pub gateway: SharedService,
    /// OAuth 2.0 / OIDC provider.
    #[serde(default)]
    pub auth: SharedService,
    /// User profiles and preferences.
    #[serde(default)]
    pub users: SharedService,
    /// Structured content with workflows and versions.
    #[serde(default)]
    pub content: SharedService,
    /// Media storage and processing.
    #[serde(default)]
    pub media: SharedService,
    /// Template store and renderer.
    #[serde(default)]
    pub templates: SharedService,
    /// Event ingestion and reporting.
    #[serde(default)]
    pub analytics: SharedService,
    /// Trends, anomalies and recommendations.
    #[serde(default)]
    pub insights: SharedService,
}

/// Gateway exposure and request policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(self.corsAllowCredentials && has(self.corsAllowedOrigins) && '*' in self.corsAllowedOrigins)").message("CORS credentials cannot be allowed for the wildcard origin '*': list the origins").field_path(".corsAllowedOrigins"))]
pub struct GatewayConfig {
    /// How the gateway Service is exposed.
    #[serde(default)]
    pub service_type: ServiceType,
    /// Origins allowed by CORS; `*` allows any origin (not together with credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(min = 1, max = 2048)))]
    pub cors_allowed_origins: Vec<String>,
    /// Whether browsers may send credentials (cookies, Authorization) cross-origin.
    #[serde(default)]
    pub cors_allow_credentials: bool,
    /// Requests per minute allowed per client (token subject or IP), counted in Redis.
    #[serde(default = "default_rate_limit")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub rate_limit_per_minute: i32,
    /// Upstream request timeout in seconds.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 300))]
    pub timeout_seconds: i32,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            service_type: ServiceType::default(),
            cors_allowed_origins: Vec::new(),
            cors_allow_credentials: false,
            rate_limit_per_minute: default_rate_limit(),
            timeout_seconds: default_timeout(),
        }
    }
}

fn default_rate_limit() -> i32 {
    600
}

fn default_timeout() -> i32 {
    30
}

/// Token issuance policy of the auth service.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.refreshTokenTtlSeconds > self.accessTokenTtlSeconds").message("refreshTokenTtlSeconds must be longer than accessTokenTtlSeconds").field_path(".refreshTokenTtlSeconds"))]
pub struct AuthConfig {
    /// Issuer URL put in tokens (`iss`); defaults to the gateway's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), pattern(r"^https?://"))]
    pub issuer: Option<String>,
    /// Lifetime of access tokens.
    #[serde(default = "default_access_ttl")]
    #[schemars(range(min = 60, max = 86_400))]
    pub access_token_ttl_seconds: i32,
    /// Lifetime of refresh tokens.
    #[serde(default = "default_refresh_ttl")]
    #[schemars(range(min = 300, max = 31_536_000))]
    pub refresh_token_ttl_seconds: i32,
    /// How often signing keys rotate; the previous key stays in the JWKS for one period.
    #[serde(default = "default_rotation_days")]
    #[schemars(range(min = 1, max = 365))]
    pub key_rotation_days: i32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            access_token_ttl_seconds: default_access_ttl(),
            refresh_token_ttl_seconds: default_refresh_ttl(),
            key_rotation_days: default_rotation_days(),
        }
    }
}

fn default_access_ttl() -> i32 {
    900
}

fn default_refresh_ttl() -> i32 {
    1_209_600
}

fn default_rotation_days() -> i32 {
    30
}

/// Log level of the components.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything, including per-request detail.
    Debug,
    /// Normal operation.
    #[default]
    Info,
    /// Only problems.
    Warn,
    /// Only failures.
    Error,
}

/// Observability settings applied to every component of the Platform.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Observability {
    /// Log level of every component.
    #[serde(default)]
    pub log_level: LogLevel,
    /// OTLP endpoint (gRPC or HTTP) traces are exported to, for example a Jaeger collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), pattern(r"^https?://"))]
    pub otlp_endpoint: Option<String>,
    /// Fraction of traces sampled, from 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub trace_sampling_ratio: Option<f64>,
}

/// Observed state of a Platform.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformStatus {
    /// Observed generation and conditions.
    #[serde(flatten)]
    pub observed: ObservedState,
    /// Readiness of each enabled service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub components: Vec<ComponentStatus>,
    /// Ready services over enabled services, for example `7/8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services_ready: Option<String>,
    /// Address clients use to reach the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_endpoint: Option<String>,
    /// Machina release the services run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// RabbitMQ virtual host of the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rabbitmq_vhost: Option<String>,
}

/// Readiness of one shared service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    /// Service name (gateway, auth, …).
    pub name: String,
    /// Whether all desired replicas are ready.
    pub ready: bool,
    /// Ready replicas.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Desired replicas.
    #[serde(default)]
    pub replicas: i32,
    /// In-cluster address of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Image the service runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}
