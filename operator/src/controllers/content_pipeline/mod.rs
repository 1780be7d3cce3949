//! The ContentPipeline controller: `reconcile` starts a metrics timer and hands off to
//! kube-runtime's `finalizer()`; [`apply`] converges the pipeline (Platform, provisioners,
//! Secrets, owned objects, status), [`cleanup::cleanup`] honours `deletionPolicy`.
//!
//! - `converge`: provisioning and server-side apply of the owned objects.
//! - `status`: the status (conditions, endpoint, replicas) computed from what was observed.
//! - `cleanup`: removal of external state when the pipeline is deleted; never hangs.

mod cleanup;
mod converge;
mod status;
#[cfg(test)]
mod tests;

pub use status::{Health, degraded_reason, health_of_rollout};

use crate::context::Context;
use crate::controllers::kube_ops;
use crate::{Error, Result, labels};
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, Resource, ResourceExt};
use machina_crds::tenancy;
use machina_crds::{ContentPipeline, Platform};
use std::sync::Arc;

/// Name of the controller in metrics and logs.
pub const CONTROLLER: &str = "contentpipeline";
/// Finalizer that removes the pipeline's external state.
pub const FINALIZER: &str = "machina.dev/cleanup";
/// Annotation that stops reconciling one object while it is `"true"`.
pub const PAUSE_ANNOTATION: &str = "machina.dev/paused";

/// Reconciles one ContentPipeline.
#[tracing::instrument(skip_all, fields(namespace = pipeline.namespace(), name = %pipeline.name_any()))]
pub async fn reconcile(pipeline: Arc<ContentPipeline>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let namespace = labels::namespace(pipeline.as_ref())?;
    let key = format!("{namespace}/{}", pipeline.name_any());
    if is_paused(&pipeline) && pipeline.meta().deletion_timestamp.is_none() {
        tracing::info!("paused: not reconciling");
        return Ok(Action::await_change());
    }
    let api: Api<ContentPipeline> = Api::namespaced(ctx.client.clone(), &namespace);
    let action = finalizer(&api, FINALIZER, pipeline, |event| async {
        match event {
            Event::Apply(pipeline) => apply(&pipeline, &ctx).await,
            Event::Cleanup(pipeline) => cleanup::cleanup(&pipeline, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))?;
    ctx.backoff.reset(&key);
    Ok(action)
}

/// Requeues a failed pipeline with a per-object exponential backoff and counts the error.
pub fn error_policy(pipeline: Arc<ContentPipeline>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failure(CONTROLLER, error);
    let key = format!(
        "{}/{}",
        pipeline.namespace().unwrap_or_default(),
        pipeline.name_any()
    );
    let delay = ctx
        .backoff
        .next_delay(&key, ctx.config.backoff_base, ctx.config.backoff_max);
    tracing::warn!(object = %key, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

fn is_paused(pipeline: &ContentPipeline) -> bool {
    pipeline
        .annotations()
        .get(PAUSE_ANNOTATION)
        .is_some_and(|v| v == "true")
}

/// Converges the pipeline and records the outcome in its status.
async fn apply(pipeline: &ContentPipeline, ctx: &Context) -> Result<Action> {
    let platform = match resolve_platform(pipeline, ctx).await? {
        Ok(platform) => platform,
        Err(refusal) => {
            tracing::info!(reason = refusal.reason, message = %refusal.message, "platform unusable");
            let health = Health::Degraded {
                reason: refusal.reason,
                message: refusal.message,
            };
            write_status(pipeline, ctx, None, &health).await?;
            return Ok(Action::requeue(ctx.config.degraded_requeue));
        }
    };
    match converge::converge(pipeline, &platform, ctx).await {
        Ok(observed) => {
            let health = health_of_rollout(&observed.worker, pipeline.spec.workload.replicas);
            write_status(pipeline, ctx, Some(&observed), &health).await?;
            Ok(match health {
                Health::Ready => Action::requeue(ctx.config.resync),
                _ => Action::requeue(ctx.config.progress_requeue),
            })
        }
        Err(error) => {
            let health = Health::Degraded {
                reason: status::degraded_reason(&error),
                message: error.to_string(),
            };
            if let Err(status_error) = write_status(pipeline, ctx, None, &health).await {
                tracing::warn!(error = %status_error, "failed to record the Degraded condition");
            }
            Err(error)
        }
    }
}

/// Why the referenced Platform cannot be used.
#[derive(Debug)]
struct Refusal {
    reason: &'static str,
    message: String,
}

/// The Platform the pipeline references, if it exists and admits the pipeline's namespace.
async fn resolve_platform(
    pipeline: &ContentPipeline,
    ctx: &Context,
) -> Result<std::result::Result<Platform, Refusal>> {
    let namespace = labels::namespace(pipeline)?;
    let reference = &pipeline.spec.platform_ref;
    let platform_namespace = tenancy::platform_namespace(reference, &namespace);
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
            .get_opt(&namespace)
            .await
            .map_err(|e| Error::kube("get", "Namespace", &namespace, e))?
            .map(|ns| ns.metadata.labels.unwrap_or_default())
            .unwrap_or_default()
    };
    Ok(
        match tenancy::admits(&platform, &namespace, &namespace_labels) {
            Ok(()) => Ok(platform),
            Err(e) => Err(Refusal {
                reason: "PlatformNotAdmitted",
                message: e.to_string(),
            }),
        },
    )
}

/// Writes the status by server-side apply on the status subresource.
async fn write_status(
    pipeline: &ContentPipeline,
    ctx: &Context,
    observed: Option<&converge::Observed>,
    health: &Health,
) -> Result<()> {
    let name = labels::name(pipeline)?;
    let namespace = labels::namespace(pipeline)?;
    let status = status::build(
        pipeline,
        observed,
        health,
        k8s_openapi::jiff::Timestamp::now(),
    );
    kube_ops::apply_status::<ContentPipeline>(
        &ctx.client,
        &ctx.config.field_manager,
        &namespace,
        &name,
        &status,
    )
    .await
}
