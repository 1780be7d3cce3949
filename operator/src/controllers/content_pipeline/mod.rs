//! The ContentPipeline controller: `reconcile` starts a metrics timer and hands off to
//! kube-runtime's `finalizer()`; [`apply`] converges the pipeline (Platform, provisioners,
//! Secrets, owned objects, status), [`cleanup::cleanup`] honours `deletionPolicy`.
//!
//! - `converge`: provisioning and server-side apply of the owned objects.
//! - `status`: the status (conditions, endpoint, replicas) computed from what was observed.
//! - [`rotation`]: credential rotation without downtime (`machina.dev/rotate-credentials`).
//! - `cleanup`: removal of external state when the pipeline is deleted; never hangs.

mod cleanup;
mod converge;
pub mod rotation;
mod status;
#[cfg(test)]
mod tests;

pub use status::{Health, degraded_reason, health_of_rollout};

use crate::context::Context;
use crate::controllers::{common, kube_ops};
use crate::{Error, Result, labels};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, ResourceExt};
use machina_crds::ContentPipeline;
use std::sync::Arc;

/// Name of the controller in metrics and logs.
pub const CONTROLLER: &str = "contentpipeline";
/// Finalizer that removes the pipeline's external state.
pub const FINALIZER: &str = "machina.dev/cleanup";
/// Annotation that stops reconciling one object while it is `"true"`.
pub use crate::controllers::common::PAUSE_ANNOTATION;

/// Reconciles one ContentPipeline.
#[tracing::instrument(skip_all, fields(namespace = pipeline.namespace(), name = %pipeline.name_any()))]
pub async fn reconcile(pipeline: Arc<ContentPipeline>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let namespace = labels::namespace(pipeline.as_ref())?;
    let key = format!("{namespace}/{}", pipeline.name_any());
    if common::is_paused(pipeline.as_ref()) {
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
pub fn error_policy<K: kube::Resource>(
    pipeline: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    common::backoff_requeue(CONTROLLER, pipeline.as_ref(), error, &ctx)
}

/// Converges the pipeline and records the outcome in its status.
async fn apply(pipeline: &ContentPipeline, ctx: &Context) -> Result<Action> {
    let namespace = labels::namespace(pipeline)?;
    let platform = match common::resolve_platform(ctx, &namespace, &pipeline.spec.platform_ref)
        .await?
    {
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

/// Writes the status by server-side apply on the status subresource.
async fn write_status(
    pipeline: &ContentPipeline,
    ctx: &Context,
    observed: Option<&converge::Observed>,
    health: &Health,
) -> Result<()> {
    let status = status::build(
        pipeline,
        observed,
        health,
        k8s_openapi::jiff::Timestamp::now(),
    );
    kube_ops::apply_status(&ctx.client, &ctx.config.field_manager, pipeline, &status).await
}
