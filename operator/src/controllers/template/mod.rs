//! The Template controller: registers each Template in the template service of its
//! Platform (`PUT /v1/templates/{name}`: a new version when the spec changes, nothing when
//! it does not), activates `pinnedVersion` (or the spec's version after a revert), and
//! retires it on delete unless `deletionPolicy: Retain`.
//!
//! Names in the service are `<namespace>.<name>` (a DNS-1123 subdomain, as the service
//! requires), so Templates of two namespaces sharing a Platform never collide; `extends`
//! and `includes` name Templates of the same namespace and are mapped the same way, so a
//! source refers to them by their service names (`{% extends "shop.layout" %}`).
//!
//! - `client`: the service behind the [`TemplateService`] trait, and its HTTP client.
//! - `status`: the status computed from an observation (pure).

mod client;
mod status;
#[cfg(test)]
mod tests;

pub use client::{
    HttpTemplateService, Registered, TemplateBody, TemplateProblem, TemplateService,
    TemplateServiceError,
};
pub use status::{Observation, compile_error, describe};

use crate::context::Context;
use crate::controllers::health::Health;
use crate::controllers::{common, kube_ops};
use crate::pod::PlatformSettings;
use crate::{Error, Result, labels};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, ResourceExt};
use machina_crds::common::DeletionPolicy;
use machina_crds::images::Component;
use machina_crds::{Platform, Template};
use std::sync::Arc;

/// Name of the controller in metrics and logs.
pub const CONTROLLER: &str = "template";
/// Finalizer that retires the template in the service.
pub const FINALIZER: &str = "machina.dev/cleanup";

/// The template's name in the service: `<namespace>.<name>`.
pub fn service_name(namespace: &str, name: &str) -> String {
    crate::names::template_service_name(namespace, name)
}

/// The body of the `PUT`, relations mapped to service names.
pub fn body(template: &Template, namespace: &str) -> TemplateBody {
    let spec = &template.spec;
    TemplateBody {
        format: spec.format,
        source: spec.source.clone(),
        description: spec.description.clone(),
        input_schema: spec.input_schema.clone(),
        sample_context: spec.sample_context.clone(),
        limits: spec.limits.clone(),
        extends: spec.extends.as_deref().map(|e| service_name(namespace, e)),
        includes: spec
            .includes
            .iter()
            .map(|i| service_name(namespace, i))
            .collect(),
    }
}

/// Base URL of the Platform's template service (or the configured override).
pub fn service_url(platform: &Platform, ctx: &Context) -> Result<String> {
    match &ctx.config.template_service_url {
        Some(url) => Ok(url.clone()),
        None => Ok(PlatformSettings::from_platform(platform)?.service_url(Component::Templates)),
    }
}

/// Reconciles one Template.
#[tracing::instrument(skip_all, fields(namespace = template.namespace(), name = %template.name_any()))]
pub async fn reconcile(template: Arc<Template>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let namespace = labels::namespace(template.as_ref())?;
    if common::is_paused(template.as_ref()) {
        tracing::info!("paused: not reconciling");
        return Ok(Action::await_change());
    }
    let api: Api<Template> = Api::namespaced(ctx.client.clone(), &namespace);
    let action = finalizer(&api, FINALIZER, template.clone(), |event| async {
        match event {
            Event::Apply(template) => apply(&template, &ctx).await,
            Event::Cleanup(template) => cleanup(&template, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))?;
    ctx.backoff.reset(&common::object_key(template.as_ref()));
    Ok(action)
}

/// Requeues a failed Template with the per-object exponential backoff.
pub fn error_policy<K: kube::Resource>(
    template: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    common::backoff_requeue(CONTROLLER, template.as_ref(), error, &ctx)
}

/// Registers the template and records the outcome in its status.
async fn apply(template: &Template, ctx: &Context) -> Result<Action> {
    let namespace = labels::namespace(template)?;
    let platform =
        match common::resolve_platform(ctx, &namespace, &template.spec.platform_ref).await? {
            Ok(platform) => platform,
            Err(refusal) => {
                let health = Health::Degraded {
                    reason: refusal.reason,
                    message: refusal.message,
                };
                write_status(template, ctx, &Observation::Nothing, &health).await?;
                return Ok(Action::requeue(ctx.config.degraded_requeue));
            }
        };
    if !platform.spec.services.templates.enabled {
        let health = Health::Degraded {
            reason: "TemplateServiceDisabled",
            message: format!(
                "the template service of Platform {} is disabled",
                platform.name_any()
            ),
        };
        write_status(template, ctx, &Observation::Nothing, &health).await?;
        return Ok(Action::requeue(ctx.config.degraded_requeue));
    }
    let url = service_url(&platform, ctx)?;
    match register(template, &namespace, &url, ctx).await {
        Ok(registered) => {
            let observation = Observation::Registered(registered);
            write_status(template, ctx, &observation, &Health::Ready).await?;
            Ok(Action::requeue(ctx.config.resync))
        }
        Err(TemplateServiceError::Invalid { code, problems, .. }) => {
            let error = compile_error(&problems, &code);
            let health = Health::Degraded {
                reason: "InvalidTemplate",
                message: describe(&error),
            };
            tracing::info!(message = %describe(&error), "template invalid");
            write_status(template, ctx, &Observation::Invalid(error), &health).await?;
            // A fix needs a spec change, unless the problem is a Template this one
            // refers to that is not registered yet (created in the same apply).
            let refers = template.spec.extends.is_some() || !template.spec.includes.is_empty();
            Ok(if refers {
                Action::requeue(ctx.config.degraded_requeue)
            } else {
                Action::await_change()
            })
        }
        Err(error @ TemplateServiceError::VersionNotFound { .. }) => {
            let health = Health::Degraded {
                reason: "VersionNotFound",
                message: error.to_string(),
            };
            write_status(template, ctx, &Observation::Nothing, &health).await?;
            Ok(Action::requeue(ctx.config.degraded_requeue))
        }
        Err(error @ TemplateServiceError::Rejected { .. }) => {
            let health = Health::Degraded {
                reason: "TemplateRejected",
                message: error.to_string(),
            };
            write_status(template, ctx, &Observation::Nothing, &health).await?;
            Ok(Action::await_change())
        }
        Err(error @ TemplateServiceError::Unavailable { .. }) => {
            let health = Health::Degraded {
                reason: "TemplateServiceUnavailable",
                message: error.to_string(),
            };
            if let Err(status_error) =
                write_status(template, ctx, &Observation::Nothing, &health).await
            {
                tracing::warn!(error = %status_error, "failed to record the Degraded condition");
            }
            Err(error.into())
        }
    }
}

/// `PUT`s the spec, then activates the version the spec asks for (`pinnedVersion`, else
/// the version of this content) when it is not the active one.
async fn register(
    template: &Template,
    namespace: &str,
    url: &str,
    ctx: &Context,
) -> std::result::Result<Registered, TemplateServiceError> {
    let name = service_name(namespace, &template.name_any());
    let registered = ctx
        .templates
        .register(url, &name, &body(template, namespace))
        .await?;
    let target = template.spec.pinned_version.unwrap_or(registered.version);
    if registered.active_version == target && registered.version == target {
        return Ok(registered);
    }
    ctx.templates.activate(url, &name, target).await
}

/// Retires the template (`Delete`) or leaves it (`Retain`); never hangs on a missing
/// Platform or an unreachable service.
async fn cleanup(template: &Template, ctx: &Context) -> Result<Action> {
    let namespace = labels::namespace(template)?;
    let name = service_name(&namespace, &template.name_any());
    let (type_, reason, note) = match template.spec.deletion_policy {
        DeletionPolicy::Retain => (
            EventType::Normal,
            "ExternalStateRetained",
            format!("deletionPolicy Retain: kept template {name} in the template service"),
        ),
        DeletionPolicy::Delete => match retire(template, &namespace, &name, ctx).await? {
            Ok(()) => (
                EventType::Normal,
                "ExternalStateRemoved",
                format!("retired template {name}"),
            ),
            Err(why) => (
                EventType::Warning,
                "ExternalStateLeftBehind",
                format!("{why}; left behind: template {name} in the template service"),
            ),
        },
    };
    tracing::info!(reason, note = %note, "template deleted");
    common::publish(ctx, template, type_, reason, "Cleanup", note).await;
    Ok(Action::await_change())
}

async fn retire(
    template: &Template,
    namespace: &str,
    name: &str,
    ctx: &Context,
) -> Result<std::result::Result<(), String>> {
    let platform =
        match common::existing_platform(ctx, namespace, &template.spec.platform_ref).await? {
            Ok(platform) => platform,
            Err(why) => return Ok(Err(why)),
        };
    let url = service_url(&platform, ctx)?;
    Ok(ctx
        .templates
        .retire(&url, name)
        .await
        .map_err(|e| e.to_string()))
}

async fn write_status(
    template: &Template,
    ctx: &Context,
    observation: &Observation,
    health: &Health,
) -> Result<()> {
    let status = status::build(
        template,
        observation,
        health,
        k8s_openapi::jiff::Timestamp::now(),
    );
    kube_ops::apply_status(&ctx.client, &ctx.config.field_manager, template, &status).await
}
