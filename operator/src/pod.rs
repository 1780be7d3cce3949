//! What every Machina container shares: the environment contract of the service kit
//! (`services/kit/README.md`), the HTTP port and probes, the restricted security context,
//! and the settings a Platform gives to every workload running on it.

use crate::Result;
use crate::labels;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, LocalObjectReference, PodSecurityContext, Probe, ResourceRequirements,
    SeccompProfile, SecretKeySelector, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use machina_crds::Platform;
use machina_crds::images::Component;
use machina_crds::platform::LogLevel;

/// Port every Machina service listens on.
pub const HTTP_PORT: i32 = 8080;
/// Name of that port, which Services target.
pub const HTTP_PORT_NAME: &str = "http";
/// Non-root user (and group) the containers run as: `nonroot` of distroless images.
pub const RUN_AS_USER: i64 = 65532;
/// Liveness endpoint of the kit.
pub const LIVENESS_PATH: &str = "/healthz";
/// Readiness endpoint of the kit.
pub const READINESS_PATH: &str = "/readyz";
/// The writable scratch directory (the root filesystem is read-only).
pub const TMP_VOLUME: &str = "tmp";

/// An environment variable with a literal value (never a secret).
pub fn env_value(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// An environment variable read from a key of a Secret, so the value never appears in the
/// pod spec.
pub fn env_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// `base` with `extra` applied: an extra variable replaces the one of the same name in place,
/// others are appended. Duplicate names would make server-side apply reject the object.
pub fn merge_env(mut base: Vec<EnvVar>, extra: &[EnvVar]) -> Vec<EnvVar> {
    for var in extra {
        match base.iter_mut().find(|v| v.name == var.name) {
            Some(existing) => *existing = var.clone(),
            None => base.push(var.clone()),
        }
    }
    base
}

/// Pod-level security: non-root, RuntimeDefault seccomp, files owned by the pod's group.
pub fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_USER),
        run_as_group: Some(RUN_AS_USER),
        fs_group: Some(RUN_AS_USER),
        seccomp_profile: Some(runtime_default()),
        ..PodSecurityContext::default()
    }
}

/// Container-level security: the `restricted` Pod Security Standard plus a read-only root.
pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_USER),
        run_as_group: Some(RUN_AS_USER),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(runtime_default()),
        ..SecurityContext::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    }
}

fn http_probe(path: &str, period_seconds: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(HTTP_PORT_NAME.into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        failure_threshold: Some(failure_threshold),
        timeout_seconds: Some(2),
        ..Probe::default()
    }
}

/// The `emptyDir` mounted at `/tmp`.
pub fn tmp_volume() -> Volume {
    Volume {
        name: TMP_VOLUME.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

fn tmp_mount() -> VolumeMount {
    VolumeMount {
        name: TMP_VOLUME.into(),
        mount_path: "/tmp".into(),
        ..VolumeMount::default()
    }
}

/// A Machina service container: the image, env and resources given, plus the HTTP port,
/// liveness and readiness probes, the security context and the `/tmp` mount.
#[derive(Clone, Debug, Default)]
pub struct MachinaContainer {
    /// Container name (the component, for example `gateway` or `worker`).
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Arguments of the entrypoint.
    pub args: Vec<String>,
    /// Environment, already merged with the workload's extra variables.
    pub env: Vec<EnvVar>,
    /// Requests and limits.
    pub resources: Option<ResourceRequirements>,
    /// Mounts besides `/tmp`.
    pub volume_mounts: Vec<VolumeMount>,
}

impl MachinaContainer {
    /// The Kubernetes container.
    pub fn build(self) -> Container {
        let mut volume_mounts = vec![tmp_mount()];
        volume_mounts.extend(self.volume_mounts);
        Container {
            name: self.name,
            image: Some(self.image),
            args: (!self.args.is_empty()).then_some(self.args),
            env: Some(self.env),
            resources: self.resources,
            ports: Some(vec![ContainerPort {
                name: Some(HTTP_PORT_NAME.into()),
                container_port: HTTP_PORT,
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            }]),
            liveness_probe: Some(http_probe(LIVENESS_PATH, 10, 3)),
            readiness_probe: Some(http_probe(READINESS_PATH, 5, 3)),
            security_context: Some(container_security_context()),
            volume_mounts: Some(volume_mounts),
            ..Container::default()
        }
    }
}

/// What a Platform gives every workload running on it: images, pull secrets, logging and
/// tracing, and where its auth service publishes its keys.
#[derive(Clone, Debug, PartialEq)]
pub struct PlatformSettings {
    /// Name of the Platform.
    pub name: String,
    /// Namespace of the Platform (its services' DNS names live there).
    pub namespace: String,
    /// Registry override of the default images.
    pub image_registry: Option<String>,
    /// Release (default image tag) of the Platform.
    pub version: Option<String>,
    /// Image pull secrets, by name.
    pub image_pull_secrets: Vec<String>,
    /// Log level of every component.
    pub log_level: LogLevel,
    /// OTLP endpoint traces go to.
    pub otlp_endpoint: Option<String>,
    /// Whether the auth service runs (so its JWKS can be fetched).
    pub auth_enabled: bool,
    /// Whether the templates service runs.
    pub templates_enabled: bool,
    /// Prefix of every database of the Platform.
    pub database_prefix: String,
    /// Topic exchange of analytics events.
    pub events_exchange: String,
    /// Topic exchange of change events (users, content, media).
    pub changes_exchange: String,
    /// `iss` of the tokens auth issues (the spec's, else the gateway's in-cluster URL).
    pub token_issuer: String,
    /// `aud` of the tokens auth issues: the Platform's name, so one Platform's tokens are
    /// worthless on another.
    pub token_audience: String,
}

impl PlatformSettings {
    /// The settings of `platform`.
    pub fn from_platform(platform: &Platform) -> Result<Self> {
        let spec = &platform.spec;
        let name = labels::name(platform)?;
        let namespace = labels::namespace(platform)?;
        let token_issuer = spec.auth.issuer.clone().unwrap_or_else(|| {
            format!(
                "http://{}.{namespace}.svc:{HTTP_PORT}",
                crate::names::shared_service(&name, Component::Gateway.name())
            )
        });
        Ok(Self {
            token_audience: name.clone(),
            token_issuer,
            name,
            namespace,
            image_registry: spec.image_registry.clone(),
            version: spec.version.clone(),
            image_pull_secrets: spec.image_pull_secrets.clone(),
            log_level: spec.observability.log_level,
            otlp_endpoint: spec.observability.otlp_endpoint.clone(),
            auth_enabled: spec.services.auth.enabled,
            templates_enabled: spec.services.templates.enabled,
            database_prefix: spec.mongodb.database_prefix.clone(),
            events_exchange: spec.rabbitmq.events_exchange.clone(),
            changes_exchange: spec.rabbitmq.changes_exchange.clone(),
        })
    }

    /// `explicit` when a workload names its image, else the Platform's image of `component`.
    pub fn image(&self, component: Component, explicit: Option<&str>) -> String {
        explicit.map_or_else(
            || component.image(self.image_registry.as_deref(), self.version.as_deref()),
            str::to_owned,
        )
    }

    /// In-cluster URL of a shared service: `http://<platform>-<service>.<namespace>.svc:8080`.
    pub fn service_url(&self, service: Component) -> String {
        format!(
            "http://{}.{}.svc:{HTTP_PORT}",
            crate::names::shared_service(&self.name, service.name()),
            self.namespace
        )
    }

    /// JWKS of the Platform's auth service.
    pub fn jwks_url(&self) -> String {
        format!(
            "{}/.well-known/jwks.json",
            self.service_url(Component::Auth)
        )
    }

    /// The pull secrets as pod-spec references.
    pub fn pull_secrets(&self) -> Option<Vec<LocalObjectReference>> {
        (!self.image_pull_secrets.is_empty()).then(|| {
            self.image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        })
    }

    /// The variables every Machina service reads through the kit: listen address, service
    /// name, log level and format, the OTLP endpoint when set, and — for every service but
    /// auth, when auth runs — where to fetch the token verification keys.
    pub fn base_env(&self, service_name: &str, verify_tokens: bool) -> Vec<EnvVar> {
        let mut env = vec![
            env_value("LISTEN_ADDR", format!("0.0.0.0:{HTTP_PORT}")),
            env_value("SERVICE_NAME", service_name),
            env_value("LOG_LEVEL", log_level(self.log_level)),
            env_value("LOG_FORMAT", "json"),
        ];
        if let Some(endpoint) = &self.otlp_endpoint {
            env.push(env_value("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()));
        }
        if verify_tokens && self.auth_enabled {
            env.push(env_value("JWT_JWKS_URL", self.jwks_url()));
            env.push(env_value("JWT_ISSUER", self.token_issuer.as_str()));
            env.push(env_value("JWT_AUDIENCE", self.token_audience.as_str()));
        }
        env
    }
}

/// The kit's spelling of a log level.
pub fn log_level(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_platform;

    #[test]
    fn extra_env_replaces_by_name_and_appends() {
        let merged = merge_env(
            vec![env_value("A", "1"), env_value("B", "2")],
            &[env_value("B", "3"), env_value("C", "4")],
        );
        let pairs: Vec<_> = merged
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [("A", Some("1")), ("B", Some("3")), ("C", Some("4"))]
        );
    }

    #[test]
    fn images_follow_platform_overrides_unless_explicit() {
        let mut platform = mk_platform();
        platform.spec.image_registry = Some("mirror.local/machina".into());
        platform.spec.version = Some("1.2.3".into());
        let settings = PlatformSettings::from_platform(&platform).expect("settings");
        assert_eq!(
            settings.image(Component::Gateway, None),
            "mirror.local/machina/machina-gateway:1.2.3"
        );
        assert_eq!(
            settings.image(Component::Gateway, Some("my/gw:dev")),
            "my/gw:dev"
        );
    }

    #[test]
    fn base_env_follows_observability() {
        let mut platform = mk_platform();
        platform.spec.observability.log_level = LogLevel::Debug;
        platform.spec.observability.otlp_endpoint = Some("http://jaeger:4318".into());
        let settings = PlatformSettings::from_platform(&platform).expect("settings");
        let env = settings.base_env("acme-users", true);
        let get = |n: &str| {
            env.iter()
                .find(|v| v.name == n)
                .and_then(|v| v.value.clone())
        };
        assert_eq!(get("LOG_LEVEL").as_deref(), Some("debug"));
        assert_eq!(get("LOG_FORMAT").as_deref(), Some("json"));
        assert_eq!(get("LISTEN_ADDR").as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(
            get("OTEL_EXPORTER_OTLP_ENDPOINT").as_deref(),
            Some("http://jaeger:4318")
        );
        assert_eq!(
            get("JWT_JWKS_URL").as_deref(),
            Some("http://acme-auth.shop.svc:8080/.well-known/jwks.json")
        );
        assert!(
            settings
                .base_env("acme-auth", false)
                .iter()
                .all(|v| v.name != "JWT_JWKS_URL")
        );
    }
}
