//! The objects of one shared service, and the configuration each service kind reads.

use super::CREDENTIALS_VERSION_ANNOTATION;
use crate::labels::{self, AppLabels};
use crate::pod::{self, HTTP_PORT, MachinaContainer, PlatformSettings, env_secret, env_value};
use crate::workload::{self, PodParts};
use crate::{Result, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{EnvVar, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use machina_crds::Platform;
use machina_crds::common::ServiceType;
use machina_crds::images::Component;
use machina_crds::platform::SharedService;
use std::collections::BTreeMap;

/// Key of the MongoDB connection string in a service's connection Secret.
pub const MONGODB_URI_KEY: &str = "mongodbUri";
/// Key of the Redis URL in a service's connection Secret.
pub const REDIS_URL_KEY: &str = "redisUrl";
/// Key of the AMQP URL in a service's connection Secret.
pub const AMQP_URL_KEY: &str = "amqpUrl";
/// Key of auth's key-encryption key (base64 of 32 bytes) in its connection Secret.
pub const KEY_ENCRYPTION_KEY_KEY: &str = "keyEncryptionKey";
/// Key of the bootstrap admin client's id in auth's connection Secret.
pub const ADMIN_CLIENT_ID_KEY: &str = "adminClientId";
/// Key of the bootstrap admin client's secret in auth's connection Secret.
pub const ADMIN_CLIENT_SECRET_KEY: &str = "adminClientSecret";
/// Key of media's URL-signing keys (`kid:secret,...`, the first signs) in its connection Secret.
pub const SIGNING_KEYS_KEY: &str = "signingKeys";

/// Which backends a shared service connects to. Each service gets only the connection
/// strings it uses (least privilege); the reconciler fills the Secret accordingly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backends {
    /// Data in `<prefix>_<service>` on MongoDB.
    pub mongodb: bool,
    /// Sessions, rate limits or caches in Redis.
    pub redis: bool,
    /// Events or jobs on RabbitMQ.
    pub amqp: bool,
}

/// The backends of a shared service.
pub fn backends(component: Component) -> Backends {
    let (mongodb, redis, amqp) = match component {
        // Rate limits and response caches only.
        Component::Gateway => (false, true, false),
        // Clients, grants and signing keys; sessions in Redis.
        Component::Auth => (true, true, false),
        // Rendered fragments are cached.
        Component::Templates => (true, true, false),
        // Publish change events.
        Component::Users | Component::Content | Component::Media => (true, false, true),
        // Consume the events exchange.
        Component::Analytics => (true, false, true),
        // Reads the raw events of analytics; results cached in Redis.
        Component::Insights => (true, true, false),
        // Not shared services; they get their own credentials.
        Component::Operator | Component::Generative => (false, false, false),
    };
    Backends {
        mongodb,
        redis,
        amqp,
    }
}

pub(super) fn app_labels(component: Component, instance: &str) -> AppLabels<'_> {
    AppLabels {
        name: leak_binary(component),
        instance,
        component: component.name(),
    }
}

/// `machina-<component>` as a `&'static str` (the set is closed, so no allocation leaks).
fn leak_binary(component: Component) -> &'static str {
    match component {
        Component::Operator => "machina-operator",
        Component::Gateway => "machina-gateway",
        Component::Auth => "machina-auth",
        Component::Users => "machina-users",
        Component::Content => "machina-content",
        Component::Media => "machina-media",
        Component::Templates => "machina-templates",
        Component::Generative => "machina-generative",
        Component::Analytics => "machina-analytics",
        Component::Insights => "machina-insights",
    }
}

pub(super) fn meta(platform: &Platform, component: Component, name: &str) -> Result<ObjectMeta> {
    labels::object_meta(
        platform,
        name.to_owned(),
        app_labels(component, name).labels(),
    )
}

/// The environment of a shared service: the kit's variables, its backends from its
/// connection Secret, and the settings of its kind.
pub fn service_env(
    platform: &Platform,
    settings: &PlatformSettings,
    component: Component,
) -> Vec<EnvVar> {
    let spec = &platform.spec;
    let name = names::shared_service(&settings.name, component.name());
    let secret = names::service_connection_secret(&settings.name, component.name());
    let mut env = settings.base_env(&name, component != Component::Auth);
    let backends = backends(component);
    if backends.mongodb {
        env.push(env_secret("MONGODB_URI", &secret, MONGODB_URI_KEY));
        // Insights reads the events analytics stores: it works on analytics' database.
        let owner = match component {
            Component::Insights => Component::Analytics,
            other => other,
        };
        env.push(env_value(
            "MONGODB_DATABASE",
            format!("{}_{}", settings.database_prefix, owner.name()),
        ));
    }
    if backends.redis {
        env.push(env_secret("REDIS_URL", &secret, REDIS_URL_KEY));
    }
    if backends.amqp {
        env.push(env_secret("AMQP_URL", &secret, AMQP_URL_KEY));
    }
    match component {
        Component::Gateway => {
            let gateway = &spec.gateway;
            env.push(env_value(
                "RATE_LIMIT_PER_MINUTE",
                gateway.rate_limit_per_minute.to_string(),
            ));
            env.push(env_value(
                "UPSTREAM_TIMEOUT",
                format!("{}s", gateway.timeout_seconds),
            ));
            if !gateway.cors_allowed_origins.is_empty() {
                env.push(env_value(
                    "CORS_ALLOWED_ORIGINS",
                    gateway.cors_allowed_origins.join(","),
                ));
            }
            env.push(env_value(
                "CORS_ALLOW_CREDENTIALS",
                gateway.cors_allow_credentials.to_string(),
            ));
            // Route the pipelines of this Platform, discovered in its namespace (the Role
            // of `rbac.rs`); tenant namespaces need WATCH_NAMESPACES and a ClusterRole.
            env.push(env_value("PIPELINE_DISCOVERY", "kube"));
            env.push(env_value("WATCH_NAMESPACES", settings.namespace.as_str()));
            env.push(env_value(
                "PIPELINE_PLATFORM",
                format!("{}/{}", settings.namespace, settings.name),
            ));
            for (upstream, shared) in super::shared_services(&spec.services) {
                if upstream != Component::Gateway && shared.enabled {
                    let var = format!("{}_URL", upstream.name().to_ascii_uppercase());
                    env.push(env_value(&var, settings.service_url(upstream)));
                }
            }
        }
        Component::Auth => {
            let auth = &spec.auth;
            env.push(env_value(
                "ACCESS_TOKEN_TTL",
                format!("{}s", auth.access_token_ttl_seconds),
            ));
            env.push(env_value(
                "REFRESH_TOKEN_TTL",
                format!("{}s", auth.refresh_token_ttl_seconds),
            ));
            env.push(env_value(
                "KEY_ROTATION_DAYS",
                auth.key_rotation_days.to_string(),
            ));
            env.push(env_value("ISSUER", settings.token_issuer.as_str()));
            env.push(env_value(
                "TOKEN_AUDIENCE",
                settings.token_audience.as_str(),
            ));
            env.push(env_secret(
                "KEY_ENCRYPTION_KEY",
                &secret,
                KEY_ENCRYPTION_KEY_KEY,
            ));
            env.push(env_secret("ADMIN_CLIENT_ID", &secret, ADMIN_CLIENT_ID_KEY));
            env.push(env_secret(
                "ADMIN_CLIENT_SECRET",
                &secret,
                ADMIN_CLIENT_SECRET_KEY,
            ));
        }
        Component::Users | Component::Content | Component::Media => {
            env.push(env_value(
                "CHANGES_EXCHANGE",
                settings.changes_exchange.as_str(),
            ));
            if component == Component::Users && settings.auth_enabled {
                // Registration and password changes go through auth.
                env.push(env_value("AUTH_URL", settings.service_url(Component::Auth)));
            }
            if component == Component::Media {
                env.push(env_secret("SIGNING_KEYS", &secret, SIGNING_KEYS_KEY));
            }
        }
        Component::Analytics => {
            env.push(env_value(
                "EVENTS_EXCHANGE",
                settings.events_exchange.as_str(),
            ));
        }
        _ => {}
    }
    pod::merge_env(env, &spec_env(platform, component))
}

fn spec_env(platform: &Platform, component: Component) -> Vec<EnvVar> {
    super::shared_services(&platform.spec.services)
        .into_iter()
        .find(|(c, _)| *c == component)
        .map(|(_, s)| s.workload.env.clone())
        .unwrap_or_default()
}

/// The Deployment of a shared service.
pub fn deployment(
    platform: &Platform,
    settings: &PlatformSettings,
    component: Component,
    shared: &SharedService,
    credentials_version: Option<&str>,
) -> Result<Deployment> {
    let name = names::shared_service(&settings.name, component.name());
    let workload = &shared.workload;
    let container = MachinaContainer {
        name: component.name().into(),
        image: settings.image(component, workload.image.as_deref()),
        args: Vec::new(),
        env: service_env(platform, settings, component),
        resources: workload.resources.clone(),
        volume_mounts: Vec::new(),
    }
    .build();
    let annotations = credentials_version
        .map(|v| BTreeMap::from([(CREDENTIALS_VERSION_ANNOTATION.into(), v.to_owned())]))
        .unwrap_or_default();
    let parts = PodParts {
        app: app_labels(component, &name),
        workload,
        container,
        volumes: Vec::new(),
        annotations,
        platform: settings,
        // The gateway watches ContentPipelines; no other shared service calls the API.
        service_account: (component == Component::Gateway).then(|| name.clone()),
    };
    Ok(workload::deployment(
        meta(platform, component, &name)?,
        workload.replicas,
        parts,
    ))
}

/// The Service of a shared service: ClusterIP, but the gateway's type is configurable.
pub fn service(
    platform: &Platform,
    settings: &PlatformSettings,
    component: Component,
) -> Result<Service> {
    let name = names::shared_service(&settings.name, component.name());
    let type_ = if component == Component::Gateway {
        platform.spec.gateway.service_type
    } else {
        ServiceType::ClusterIP
    };
    Ok(workload::http_service(
        meta(platform, component, &name)?,
        app_labels(component, &name),
        type_,
        HTTP_PORT,
    ))
}
