//! What the controllers of Platform-bound kinds share: resolving the referenced Platform
//! (existence and tenancy), the pause annotation, the per-object backoff of the error
//! policy, and Events about an object.

use crate::context::Context;
use crate::controllers::backends::RabbitAdmin;
use crate::controllers::kube_ops;
use crate::secrets::{self, SecretString};
use crate::{Error, Result, labels};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use machina_crds::Platform;
use machina_crds::common::PlatformRef;
use machina_crds::tenancy;
use std::collections::BTreeMap;

/// Annotation that stops reconciling one object while it is `"true"`.
pub const PAUSE_ANNOTATION: &str = "machina.dev/paused";

/// Key of the user name in a workload's MongoDB and RabbitMQ Secrets.
pub const USERNAME_KEY: &str = "username";
/// Key of the password in a workload's MongoDB and RabbitMQ Secrets.
pub const PASSWORD_KEY: &str = "password";
/// Keys of a Platform's RabbitMQ admin Secret.
pub const RABBIT_ADMIN_KEYS: [&str; 4] = ["username", "password", "amqpUrl", "managementUrl"];

/// Why the referenced Platform cannot be used.
#[derive(Debug)]
pub struct Refusal {
    /// `PlatformNotFound` or `PlatformNotAdmitted`.
    pub reason: &'static str,
    /// What a human needs to know.
    pub message: String,
}

/// Whether `object` carries the pause annotation (and is not being deleted: a delete is
/// never paused).
pub fn is_paused<K: Resource>(object: &K) -> bool {
    object.meta().deletion_timestamp.is_none()
        && object
            .meta()
            .annotations
            .as_ref()
            .and_then(|a| a.get(PAUSE_ANNOTATION))
            .is_some_and(|v| v == "true")
}

/// `namespace/name`, the key of the per-object backoff.
pub fn object_key<K: Resource>(object: &K) -> String {
    format!(
        "{}/{}",
        object.meta().namespace.clone().unwrap_or_default(),
        object.meta().name.clone().unwrap_or_default()
    )
}

/// The error policy of every controller: count the error, requeue with the per-object
/// exponential backoff.
pub fn backoff_requeue<K: Resource>(
    controller: &'static str,
    object: &K,
    error: &Error,
    ctx: &Context,
) -> Action {
    ctx.metrics.reconcile_failure(controller, error);
    let key = object_key(object);
    let delay = ctx
        .backoff
        .next_delay(&key, ctx.config.backoff_base, ctx.config.backoff_max);
    tracing::warn!(object = %key, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The Platform `reference` names from `namespace`, if it exists and admits `namespace`.
pub async fn resolve_platform(
    ctx: &Context,
    namespace: &str,
    reference: &PlatformRef,
) -> Result<std::result::Result<Platform, Refusal>> {
    let platform_namespace = tenancy::platform_namespace(reference, namespace);
    let Some(platform) =
        kube_ops::get_opt::<Platform>(&ctx.client, platform_namespace, &reference.name).await?
    else {
        return Ok(Err(Refusal {
            reason: "PlatformNotFound",
            message: format!("Platform {platform_namespace}/{} not found", reference.name),
        }));
    };
    // Only a cross-namespace reference needs the namespace's labels.
    let namespace_labels = if platform_namespace == namespace {
        Default::default()
    } else {
        Api::<Namespace>::all(ctx.client.clone())
            .get_opt(namespace)
            .await
            .map_err(|e| Error::kube("get", "Namespace", namespace, e))?
            .map(|ns| ns.metadata.labels.unwrap_or_default())
            .unwrap_or_default()
    };
    Ok(
        match tenancy::admits(&platform, namespace, &namespace_labels) {
            Ok(()) => Ok(platform),
            Err(e) => Err(Refusal {
                reason: "PlatformNotAdmitted",
                message: e.to_string(),
            }),
        },
    )
}

/// The Platform `reference` names, when it still exists (cleanup does not check tenancy:
/// it only removes what the object itself created).
pub async fn existing_platform(
    ctx: &Context,
    namespace: &str,
    reference: &PlatformRef,
) -> Result<std::result::Result<Platform, String>> {
    let platform_namespace = tenancy::platform_namespace(reference, namespace);
    Ok(
        kube_ops::get_opt::<Platform>(&ctx.client, platform_namespace, &reference.name)
            .await?
            .ok_or_else(|| format!("Platform {platform_namespace}/{} not found", reference.name)),
    )
}

/// Publishes an Event about `object`; a failure is logged, never fails the reconcile.
pub async fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    object: &K,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &object.object_ref(&())).await {
        tracing::warn!(error = %e, reason, object = %object.name_any(), "failed to publish an Event");
    }
}

/// The admin credentials a Platform references (in its own namespace).
#[derive(Debug)]
pub struct Admin {
    /// MongoDB admin connection string.
    pub mongo_uri: SecretString,
    /// RabbitMQ management API and admin user.
    pub rabbit: RabbitAdmin,
    /// AMQP URL of the admin (host and port of the broker).
    pub amqp_url: SecretString,
}

/// The admin credentials of `platform`: its MongoDB admin URI and RabbitMQ admin Secret.
pub async fn admin_credentials(platform: &Platform, ctx: &Context) -> Result<Admin> {
    let namespace = labels::namespace(platform)?;
    let client = &ctx.client;
    let mongo_ref = &platform.spec.mongodb.admin_secret_ref;
    let mongo_uri =
        kube_ops::required_secret_value(client, &namespace, &mongo_ref.name, &mongo_ref.key)
            .await?;
    let rabbit_name = &platform.spec.rabbitmq.admin_secret_name;
    let rabbit_secret = kube_ops::get_opt::<Secret>(client, &namespace, rabbit_name)
        .await?
        .ok_or_else(|| Error::BackendSecret {
            namespace: namespace.clone(),
            name: rabbit_name.clone(),
            problem: "not found".into(),
        })?;
    let read = |key: &str| {
        kube_ops::secret_value(&rabbit_secret, key).ok_or_else(|| Error::BackendSecret {
            namespace: namespace.clone(),
            name: rabbit_name.clone(),
            problem: format!("has no key {key:?}"),
        })
    };
    let username = read(RABBIT_ADMIN_KEYS[0])?;
    let password = read(RABBIT_ADMIN_KEYS[1])?;
    let amqp_url = read(RABBIT_ADMIN_KEYS[2])?;
    let management_url = read(RABBIT_ADMIN_KEYS[3])?;
    Ok(Admin {
        mongo_uri,
        rabbit: RabbitAdmin {
            management_url: management_url.expose().to_owned(),
            username: username.expose().to_owned(),
            password,
        },
        amqp_url,
    })
}

/// The password in `secret` under `key` when there is one, else a new one (passwords
/// are generated once and kept).
pub fn kept_or_new_password(secret: Option<&Secret>, key: &str) -> Result<SecretString> {
    match secret.and_then(|s| kube_ops::secret_value(s, key)) {
        Some(password) if !password.expose().is_empty() => Ok(password),
        _ => secrets::generate_password(),
    }
}

/// The data of a credentials Secret: connection string under `uri_key`, user, password.
pub fn credential_data(
    uri_key: &str,
    uri: SecretString,
    user: &str,
    password: SecretString,
) -> BTreeMap<String, SecretString> {
    BTreeMap::from([
        (uri_key.to_owned(), uri),
        (USERNAME_KEY.to_owned(), SecretString::new(user)),
        (PASSWORD_KEY.to_owned(), password),
    ])
}

/// What a cleanup did with the external state.
#[derive(Debug)]
pub enum CleanupOutcome {
    /// `deletionPolicy: Retain`: nothing was touched.
    Retained,
    /// `deletionPolicy: Delete`: `Ok(left)` lists what was kept (queues with messages),
    /// `Err(why)` says why nothing could be removed (Platform, admin Secret or backend gone).
    Removed(std::result::Result<Vec<String>, String>),
}

/// The Event a cleanup records: type, reason and note. `external` describes the external
/// state in words (no secret in it); `removed` is the note of a complete removal.
pub fn cleanup_event(
    outcome: CleanupOutcome,
    external: &str,
    removed: &str,
) -> (EventType, &'static str, String) {
    match outcome {
        CleanupOutcome::Retained => (
            EventType::Normal,
            "ExternalStateRetained",
            format!("deletionPolicy Retain: kept {external}"),
        ),
        CleanupOutcome::Removed(Ok(left)) if left.is_empty() => (
            EventType::Normal,
            "ExternalStateRemoved",
            removed.to_owned(),
        ),
        CleanupOutcome::Removed(Ok(left)) => (
            EventType::Warning,
            "ExternalStateLeftBehind",
            format!("left behind: {}", left.join("; ")),
        ),
        CleanupOutcome::Removed(Err(why)) => (
            EventType::Warning,
            "ExternalStateLeftBehind",
            format!("{why}; left behind: {external}"),
        ),
    }
}
