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
use crate::provision::rabbitmq::{KeptQueue, QueueRemoval, Topology, pipeline_base};
use crate::{Error, Result, labels};
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use machina_crds::common::DeletionPolicy;
use machina_crds::tenancy;
use machina_crds::{ContentPipeline, Platform};

/// Removes (or retains) the pipeline's external state and reports it in an Event.
pub async fn cleanup(pipeline: &ContentPipeline, ctx: &Context) -> Result<Action> {
    ctx.provisioned.forget(&format!(
        "{}/{}",
        labels::namespace(pipeline)?,
        labels::name(pipeline)?
    ));
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
            if let Some(queue) = awaiting_stats(&report.kept_queues, pipeline, Timestamp::now()) {
                return Err(Error::QueueStatsPending { queue });
            }
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

/// How long after the delete a queue with no reported message count is waited for (the
/// management API's statistics lag a just-created queue by a few seconds); after that it is
/// kept and named in the Event, so a delete never hangs on a broker that reports nothing.
pub const QUEUE_STATS_WAIT_SECONDS: i64 = 60;

/// The first kept queue whose message count is not reported yet, while the delete is recent.
pub fn awaiting_stats(
    kept: &[KeptQueue],
    pipeline: &ContentPipeline,
    now: Timestamp,
) -> Option<String> {
    let deleted = pipeline.metadata.deletion_timestamp.as_ref()?;
    if now.as_second() - deleted.0.as_second() >= QUEUE_STATS_WAIT_SECONDS {
        return None;
    }
    kept.iter()
        .find(|q| q.messages.is_none())
        .map(|q| q.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_pipeline;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn deleted_at(second: i64) -> ContentPipeline {
        let mut pipeline = mk_pipeline();
        pipeline.metadata.deletion_timestamp =
            Some(Time(Timestamp::from_second(second).expect("timestamp")));
        pipeline
    }

    fn kept(messages: Option<u64>) -> Vec<KeptQueue> {
        vec![KeptQueue {
            name: "q".into(),
            messages,
        }]
    }

    #[test]
    fn a_queue_without_statistics_is_waited_for_only_shortly_after_the_delete() {
        let pipeline = deleted_at(1_000);
        let soon = Timestamp::from_second(1_010).expect("timestamp");
        let late = Timestamp::from_second(1_000 + QUEUE_STATS_WAIT_SECONDS).expect("timestamp");
        assert_eq!(
            awaiting_stats(&kept(None), &pipeline, soon).as_deref(),
            Some("q")
        );
        assert_eq!(awaiting_stats(&kept(None), &pipeline, late), None);
        assert_eq!(
            awaiting_stats(&kept(Some(3)), &pipeline, soon),
            None,
            "a known count is final"
        );
        assert_eq!(
            awaiting_stats(&kept(None), &mk_pipeline(), soon),
            None,
            "not being deleted"
        );
    }
}
