//! The AnalyticsJob controller: `reconcile` hands off to kube-runtime's `finalizer()`;
//! apply resolves the Platform, provisions the job's MongoDB user and RabbitMQ queue
//! (bound to the events exchange), writes `<name>-analytics-mongodb`/`-rabbitmq`, applies
//! the Deployment (Streaming) or CronJob (Scheduled) and deletes the other; cleanup honours
//! `deletionPolicy` and never hangs.
//!
//! - `converge`: provisioning and server-side apply of the owned objects.
//! - `status`: the status (conditions, last run/success) computed from observations (pure).

mod converge;
mod status;
#[cfg(test)]
mod tests;

pub use converge::{analytics_database, user_spec};

use crate::context::Context;
use crate::controllers::common::{self, CleanupOutcome, admin_credentials};
use crate::controllers::content_pipeline::degraded_reason;
use crate::controllers::health::Health;
use crate::controllers::kube_ops;
use crate::pod::PlatformSettings;
use crate::provision::rabbitmq::{QueueRemoval, Topology, analytics_base};
use crate::{Error, Result, labels};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, ResourceExt};
use machina_crds::AnalyticsJob;
use machina_crds::common::DeletionPolicy;
use std::sync::Arc;

/// Name of the controller in metrics and logs.
pub const CONTROLLER: &str = "analyticsjob";
/// Finalizer that removes the job's external state.
pub const FINALIZER: &str = "machina.dev/cleanup";

/// Reconciles one AnalyticsJob.
#[tracing::instrument(skip_all, fields(namespace = job.namespace(), name = %job.name_any()))]
pub async fn reconcile(job: Arc<AnalyticsJob>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let namespace = labels::namespace(job.as_ref())?;
    if common::is_paused(job.as_ref()) {
        tracing::info!("paused: not reconciling");
        return Ok(Action::await_change());
    }
    let api: Api<AnalyticsJob> = Api::namespaced(ctx.client.clone(), &namespace);
    let action = finalizer(&api, FINALIZER, job.clone(), |event| async {
        match event {
            Event::Apply(job) => apply(&job, &ctx).await,
            Event::Cleanup(job) => cleanup(&job, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))?;
    ctx.backoff.reset(&common::object_key(job.as_ref()));
    Ok(action)
}

/// Requeues a failed job with the per-object exponential backoff.
pub fn error_policy<K: kube::Resource>(job: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    common::backoff_requeue(CONTROLLER, job.as_ref(), error, &ctx)
}

async fn apply(job: &AnalyticsJob, ctx: &Context) -> Result<Action> {
    let namespace = labels::namespace(job)?;
    let platform = match common::resolve_platform(ctx, &namespace, &job.spec.platform_ref).await? {
        Ok(platform) => platform,
        Err(refusal) => {
            let health = Health::Degraded {
                reason: refusal.reason,
                message: refusal.message,
            };
            write_status(job, ctx, None, &health).await?;
            return Ok(Action::requeue(ctx.config.degraded_requeue));
        }
    };
    match converge::converge(job, &platform, ctx).await {
        Ok(observed) => {
            let health = status::health(job, &observed);
            write_status(job, ctx, Some(&observed), &health).await?;
            Ok(match health {
                Health::Ready => Action::requeue(ctx.config.resync),
                _ => Action::requeue(ctx.config.progress_requeue),
            })
        }
        Err(error) => {
            let health = Health::Degraded {
                reason: degraded_reason(&error),
                message: error.to_string(),
            };
            if let Err(status_error) = write_status(job, ctx, None, &health).await {
                tracing::warn!(error = %status_error, "failed to record the Degraded condition");
            }
            Err(error)
        }
    }
}

/// Drops the MongoDB user and removes the queue (kept while it holds messages) with
/// `Delete`; nothing with `Retain`. A missing Platform, admin Secret or backend releases
/// the finalizer with a Warning Event naming what was left.
async fn cleanup(job: &AnalyticsJob, ctx: &Context) -> Result<Action> {
    ctx.provisioned.forget(&converge::memo_key(
        &labels::namespace(job)?,
        &labels::name(job)?,
    ));
    let base = analytics_base(job)?;
    let what = format!(
        "MongoDB user and role {base}; RabbitMQ user and queue {base} and its dead-letter queue"
    );
    let outcome = match job.spec.deletion_policy {
        DeletionPolicy::Retain => CleanupOutcome::Retained,
        DeletionPolicy::Delete => CleanupOutcome::Removed(remove_external(job, ctx).await?),
    };
    let (type_, reason, note) = common::cleanup_event(
        outcome,
        &what,
        "dropped the MongoDB user and role and removed the RabbitMQ queue",
    );
    tracing::info!(reason, note = %note, "analytics job deleted");
    common::publish(ctx, job, type_, reason, "Cleanup", note).await;
    Ok(Action::await_change())
}

async fn remove_external(
    job: &AnalyticsJob,
    ctx: &Context,
) -> Result<std::result::Result<Vec<String>, String>> {
    let namespace = labels::namespace(job)?;
    let platform = match common::existing_platform(ctx, &namespace, &job.spec.platform_ref).await? {
        Ok(platform) => platform,
        Err(why) => return Ok(Err(why)),
    };
    let admin = match admin_credentials(&platform, ctx).await {
        Ok(admin) => admin,
        Err(e @ Error::BackendSecret { .. }) => return Ok(Err(e.to_string())),
        Err(e) => return Err(e),
    };
    let db = analytics_database(&PlatformSettings::from_platform(&platform)?);
    let user = analytics_base(job)?;
    let mut left = Vec::new();
    // The user first: a role still granted to a user cannot be dropped cleanly.
    let dropped = match ctx.backends.mongo(&admin.mongo_uri).await {
        Ok(mongo) => match mongo.drop_user(&db, &user).await {
            Ok(_) => mongo.drop_role(&db, &user).await.map(|_| ()),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    if let Err(e) = dropped {
        left.push(format!("MongoDB user and role {user} in {db} ({e})"));
    }
    let topology = Topology::for_analytics_job(job, &platform)?;
    let removed = match ctx.backends.rabbit(&admin.rabbit).await {
        Ok(rabbit) => rabbit.remove(&topology, QueueRemoval::KeepIfNotEmpty).await,
        Err(e) => Err(e),
    };
    match removed {
        Ok(report) => left.extend(
            report
                .kept_queues
                .iter()
                .map(|q| format!("RabbitMQ queue {} (holds messages)", q.name)),
        ),
        Err(e) => left.push(format!(
            "RabbitMQ user and queues {} in vhost {} ({e})",
            topology.user, topology.vhost
        )),
    }
    Ok(Ok(left))
}

async fn write_status(
    job: &AnalyticsJob,
    ctx: &Context,
    observed: Option<&converge::Observed>,
    health: &Health,
) -> Result<()> {
    let status = status::build(job, observed, health, k8s_openapi::jiff::Timestamp::now());
    kube_ops::apply_status(&ctx.client, &ctx.config.field_manager, job, &status).await
}
