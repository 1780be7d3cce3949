//! Cleanup of a deleted pipeline: with `deletionPolicy: Delete` its MongoDB users (both
//! rotation slots) are dropped and its RabbitMQ topology removed (a queue that still holds
//! messages is kept); with `Retain` nothing external is touched. Owned Kubernetes objects go
//! by garbage collection.
//!
//! A delete never hangs: when the Platform, its admin Secrets or a backend are gone, the
//! finalizer is released anyway and an Event says what was left behind. Only Kubernetes
//! API errors (transient by nature) fail the cleanup and are retried.

use super::converge::admin_credentials;
use crate::content_pipeline::builders::database;
use crate::context::Context;
use crate::controllers::common::CleanupOutcome;
use crate::controllers::{common, kube_ops};
use crate::pod::PlatformSettings;
use crate::provision::CredentialSlot;
use crate::provision::mongodb::pipeline_user;
use crate::provision::rabbitmq::{QueueRemoval, Topology, pipeline_base};
use crate::{Error, Result, labels};
use kube::runtime::controller::Action;
use machina_crds::common::DeletionPolicy;
use machina_crds::tenancy;
use machina_crds::{ContentPipeline, Platform};

/// Removes (or retains) the pipeline's external state and reports it in an Event.
pub async fn cleanup(pipeline: &ContentPipeline, ctx: &Context) -> Result<Action> {
    let external = describe_external(pipeline)?;
    let outcome = match pipeline.spec.deletion_policy {
        DeletionPolicy::Retain => CleanupOutcome::Retained,
        DeletionPolicy::Delete => CleanupOutcome::Removed(remove_external(pipeline, ctx).await?),
    };
    let (event_type, reason, note) = common::cleanup_event(
        outcome,
        &external,
        "dropped the MongoDB user and removed the RabbitMQ topology",
    );
    tracing::info!(reason, note = %note, "pipeline deleted");
    common::publish(ctx, pipeline, event_type, reason, "Cleanup", note).await;
    Ok(Action::await_change())
}

/// The external state of a pipeline, in words (for Events; no secret in it).
fn describe_external(pipeline: &ContentPipeline) -> Result<String> {
    let user = pipeline_user(pipeline)?;
    let database = pipeline
        .status
        .as_ref()
        .and_then(|s| s.database.clone())
        .or_else(|| pipeline.spec.mongodb.database.clone())
        .unwrap_or_else(|| "<its database>".into());
    let base = pipeline_base(pipeline)?;
    Ok(format!(
        "MongoDB users {user}-a/{user}-b in database {database}; RabbitMQ user, queue {base} and its dead-letter queue"
    ))
}

/// Removes the external state. `Ok(Err(why))`: nothing could be removed (Platform, admin
/// Secret or backend gone); `Ok(Ok(left))`: what was kept (queues with messages).
async fn remove_external(
    pipeline: &ContentPipeline,
    ctx: &Context,
) -> Result<std::result::Result<Vec<String>, String>> {
    let namespace = labels::namespace(pipeline)?;
    let reference = &pipeline.spec.platform_ref;
    let platform_namespace = tenancy::platform_namespace(reference, &namespace);
    let Some(platform) =
        kube_ops::get_opt::<Platform>(&ctx.client, platform_namespace, &reference.name).await?
    else {
        return Ok(Err(format!(
            "Platform {platform_namespace}/{} not found",
            reference.name
        )));
    };
    let admin = match admin_credentials(&platform, ctx).await {
        Ok(admin) => admin,
        Err(e @ Error::BackendSecret { .. }) => return Ok(Err(e.to_string())),
        Err(e) => return Err(e),
    };
    let settings = PlatformSettings::from_platform(&platform)?;
    let db = database(pipeline, &settings)?;
    let base = pipeline_user(pipeline)?;
    let mut left = Vec::new();
    match ctx.backends.mongo(&admin.mongo_uri).await {
        Ok(mongo) => {
            for slot in [CredentialSlot::A, CredentialSlot::B] {
                let user = slot.user(&base);
                if let Err(e) = mongo.drop_user(&db, &user).await {
                    left.push(format!("MongoDB user {user} in {db} ({e})"));
                }
            }
        }
        Err(e) => left.push(format!("MongoDB users {base}-a/-b in {db} ({e})")),
    }
    let topology = Topology::for_pipeline(pipeline, &platform)?;
    let removed = match ctx.backends.rabbit(&admin.rabbit).await {
        Ok(rabbit) => rabbit.remove(&topology, QueueRemoval::KeepIfNotEmpty).await,
        Err(e) => Err(e),
    };
    match removed {
        Ok(report) => {
            left.extend(report.kept_queues.iter().map(|q| {
                format!(
                    "RabbitMQ queue {} holding {} messages",
                    q.name,
                    q.messages
                        .map_or_else(|| "unknown".into(), |m| m.to_string())
                )
            }));
            left.extend(
                report
                    .kept_exchanges
                    .iter()
                    .map(|x| format!("RabbitMQ exchange {x}")),
            );
        }
        Err(e) => left.push(format!(
            "RabbitMQ user and queues {} in vhost {} ({e})",
            topology.user, topology.vhost
        )),
    }
    Ok(Ok(left))
}
