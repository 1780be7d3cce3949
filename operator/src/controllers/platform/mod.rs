//! The Platform controller: a connection Secret, Deployment, Service (and PodDisruptionBudget)
//! per enabled shared service, written by server-side apply; disabled services' objects
//! deleted; per-component readiness in status.
//!
//! No finalizer: a Platform owns no external state of its own (its RabbitMQ vhost and shared
//! exchanges are deliberately never removed, and its MongoDB admin is the user's), so its
//! owned objects simply go by garbage collection.

#[cfg(test)]
mod tests;

use crate::context::Context;
use crate::controllers::content_pipeline::health_of_rollout;
use crate::controllers::health::{Health, set_health};
use crate::controllers::{common, kube_ops};
use crate::platform::{self, BackendConnections, shared_services};
use crate::pod::PlatformSettings;
use crate::{Error, Result, labels, names, secrets};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use machina_crds::Platform;
use machina_crds::images::Component;
use machina_crds::platform::{ComponentStatus, PlatformStatus};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Name of the controller in metrics and logs.
pub const CONTROLLER: &str = "platform";

/// Reconciles one Platform.
#[tracing::instrument(skip_all, fields(namespace = platform.namespace(), name = %platform.name_any()))]
pub async fn reconcile(platform: Arc<Platform>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    labels::namespace(platform.as_ref())?;
    let key = common::object_key(platform.as_ref());
    if common::is_paused(platform.as_ref()) || platform.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    match converge(&platform, &ctx).await {
        Ok(components) => {
            let health = health_of(&components);
            write_status(&platform, &ctx, Some(components), &health).await?;
            ctx.backoff.reset(&key);
            Ok(match health {
                Health::Ready => Action::requeue(ctx.config.resync),
                _ => Action::requeue(ctx.config.progress_requeue),
            })
        }
        Err(error) => {
            let health = Health::Degraded {
                reason: crate::controllers::content_pipeline::degraded_reason(&error),
                message: error.to_string(),
            };
            if let Err(status_error) = write_status(&platform, &ctx, None, &health).await {
                tracing::warn!(error = %status_error, "failed to record the Degraded condition");
            }
            Err(error)
        }
    }
}

/// Requeues a failed Platform with a per-object exponential backoff and counts the error.
pub fn error_policy<K: kube::Resource>(
    platform: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    common::backoff_requeue(CONTROLLER, platform.as_ref(), error, &ctx)
}

/// The connection strings of the Platform's backends, from the Secrets it references.
async fn connections(platform: &Platform, ctx: &Context) -> Result<BackendConnections> {
    let namespace = labels::namespace(platform)?;
    let spec = &platform.spec;
    let read = |name: &str, key: &str| {
        let (name, key) = (name.to_owned(), key.to_owned());
        let namespace = namespace.clone();
        async move { kube_ops::required_secret_value(&ctx.client, &namespace, &name, &key).await }
    };
    let mongo = &spec.mongodb.admin_secret_ref;
    let redis = &spec.redis.url_secret_ref;
    Ok(BackendConnections {
        mongodb_uri: Some(read(&mongo.name, &mongo.key).await?),
        redis_url: Some(read(&redis.name, &redis.key).await?),
        amqp_url: Some(read(&spec.rabbitmq.admin_secret_name, "amqpUrl").await?),
    })
}

/// Writes every service's connection Secret and objects; returns each enabled service's
/// readiness.
async fn converge(platform: &Platform, ctx: &Context) -> Result<Vec<ComponentStatus>> {
    let namespace = labels::namespace(platform)?;
    let client = &ctx.client;
    let settings = PlatformSettings::from_platform(platform)?;
    let connections = connections(platform, ctx).await?;
    let mut versions = BTreeMap::new();
    for (component, shared) in shared_services(&platform.spec.services) {
        if !shared.enabled {
            continue;
        }
        let generated = match component {
            Component::Auth | Component::Media => {
                let name = names::service_connection_secret(&settings.name, component.name());
                let current = kube_ops::get_opt::<Secret>(client, &namespace, &name).await?;
                platform::generated_values(component, current.as_ref())?
            }
            _ => BTreeMap::new(),
        };
        let secret = platform::connection_secret(platform, component, &connections, &generated)?;
        let secret = kube_ops::apply(ctx, &secret).await?;
        let data = secret.data.unwrap_or_default();
        versions.insert(component, secrets::credentials_version([&data]));
    }
    let objects = platform::desired_state(platform, &versions)?;
    if let Some(identity) = &objects.gateway_identity {
        kube_ops::apply(ctx, &identity.service_account).await?;
        kube_ops::apply(ctx, &identity.role).await?;
        kube_ops::apply(ctx, &identity.role_binding).await?;
    }
    let mut deployments = Vec::with_capacity(objects.deployments.len());
    for deployment in &objects.deployments {
        deployments.push(kube_ops::apply(ctx, deployment).await?);
    }
    for service in &objects.services {
        kube_ops::apply(ctx, service).await?;
    }
    for pdb in &objects.pod_disruption_budgets {
        kube_ops::apply(ctx, pdb).await?;
    }
    for deletion in &objects.deletions {
        kube_ops::delete_obsolete(client, &namespace, deletion).await?;
    }
    let enabled = shared_services(&platform.spec.services)
        .into_iter()
        .filter(|(_, shared)| shared.enabled);
    Ok(enabled
        .zip(&deployments)
        .map(|((component, shared), deployment)| {
            component_status(&settings, component, shared.workload.replicas, deployment)
        })
        .collect())
}

fn component_status(
    settings: &PlatformSettings,
    component: Component,
    replicas: i32,
    deployment: &Deployment,
) -> ComponentStatus {
    let image = deployment
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone());
    ComponentStatus {
        name: component.name().to_owned(),
        ready: health_of_rollout(deployment, replicas) == Health::Ready,
        ready_replicas: deployment
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0),
        replicas,
        endpoint: Some(settings.service_url(component)),
        image,
    }
}

/// Ready when every enabled service is; else Progressing, naming those not ready yet.
pub fn health_of(components: &[ComponentStatus]) -> Health {
    let waiting: Vec<&str> = components
        .iter()
        .filter(|c| !c.ready)
        .map(|c| c.name.as_str())
        .collect();
    if waiting.is_empty() {
        Health::Ready
    } else {
        Health::Progressing {
            message: format!("waiting for {}", waiting.join(", ")),
        }
    }
}

/// The status: the previous one with this reconcile's components (when it got that far),
/// conditions and `observedGeneration`.
pub fn build_status(
    platform: &Platform,
    components: Option<Vec<ComponentStatus>>,
    health: &Health,
    now: Timestamp,
) -> PlatformStatus {
    let mut status = platform.status.clone().unwrap_or_default();
    let generation = platform.metadata.generation;
    if let Some(components) = components {
        let ready = components.iter().filter(|c| c.ready).count();
        status.services_ready = Some(format!("{ready}/{}", components.len()));
        status.gateway_endpoint = components
            .iter()
            .find(|c| c.name == Component::Gateway.name())
            .and_then(|c| c.endpoint.clone());
        status.components = components;
        status.version = platform.spec.version.clone();
        status.rabbitmq_vhost = Some(platform.spec.rabbitmq.vhost.clone().unwrap_or_else(|| {
            format!(
                "{}.{}",
                platform.metadata.namespace.as_deref().unwrap_or_default(),
                platform.name_any()
            )
        }));
    }
    set_health(&mut status.observed.conditions, health, generation, now);
    status.observed.observed_generation = generation;
    status
}

async fn write_status(
    platform: &Platform,
    ctx: &Context,
    components: Option<Vec<ComponentStatus>>,
    health: &Health,
) -> Result<()> {
    let status = build_status(platform, components, health, Timestamp::now());
    kube_ops::apply_status(&ctx.client, &ctx.config.field_manager, platform, &status).await
}
