//! The status of a pipeline, computed from what a reconcile observed: pure, so it is
//! unit-tested without a server. Conditions go through `crds::conditions::set_condition`,
//! which keeps `lastTransitionTime` when a condition does not change.

use super::converge::Observed;
pub use crate::controllers::health::Health;
use crate::controllers::health::set_health;
use crate::{Error, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::jiff::Timestamp;
use machina_crds::ContentPipeline;
use machina_crds::content_pipeline::ContentPipelineStatus;

/// Ready when the worker Deployment's controller has seen its latest spec and `desired`
/// updated replicas are ready; else Progressing.
pub fn health_of_rollout(worker: &Deployment, desired: i32) -> Health {
    let status = worker.status.clone().unwrap_or_default();
    let generation = worker.metadata.generation.unwrap_or(0);
    let observed = status.observed_generation.unwrap_or(0) >= generation;
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    if observed && ready >= desired && updated >= desired {
        Health::Ready
    } else {
        Health::Progressing {
            message: format!("{ready}/{desired} replicas of the worker are ready"),
        }
    }
}

/// The Degraded reason of a failed reconcile: the dependency that failed.
pub fn degraded_reason(error: &Error) -> &'static str {
    match error {
        Error::Mongo(_) => "MongoDBUnavailable",
        Error::Rabbit(_) => "RabbitMQUnavailable",
        Error::BackendSecret { .. } => "BackendSecretMissing",
        Error::Kube { .. } => "KubernetesAPIError",
        Error::InvalidQuantity { .. } | Error::SerializeSpec { .. } => "InvalidSpec",
        Error::InvalidMongoUri { .. } | Error::InvalidAmqpUrl { .. } => "InvalidBackendSecret",
        _ => "ReconcileFailed",
    }
}

/// The status to write: the previous one with the observations of this reconcile (when it
/// got that far), its conditions updated and `observedGeneration` set.
pub fn build(
    pipeline: &ContentPipeline,
    observed: Option<&Observed>,
    health: &Health,
    now: Timestamp,
) -> ContentPipelineStatus {
    let mut status = pipeline.status.clone().unwrap_or_default();
    let generation = pipeline.metadata.generation;
    if let Some(observed) = observed {
        observe(&mut status, pipeline, observed);
    }
    set_health(&mut status.observed.conditions, health, generation, now);
    status.observed.observed_generation = generation;
    status
}

fn observe(status: &mut ContentPipelineStatus, pipeline: &ContentPipeline, observed: &Observed) {
    let name = pipeline.metadata.name.clone().unwrap_or_default();
    let namespace = pipeline.metadata.namespace.clone().unwrap_or_default();
    let service = names::pipeline_worker(&name);
    let desired = pipeline.spec.workload.replicas;
    let ready = observed
        .worker
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    status.endpoint = Some(format!(
        "http://{service}.{namespace}.svc:{}",
        pipeline.spec.service.port
    ));
    status.replicas = Some(desired);
    status.ready_replicas = Some(ready);
    status.replicas_ready = Some(format!("{ready}/{desired}"));
    status.mongodb_secret = Some(names::pipeline_mongodb_secret(&name));
    status.rabbitmq_secret = Some(names::pipeline_rabbitmq_secret(&name));
    status.redis_secret = pipeline
        .spec
        .redis
        .enabled
        .then(|| names::pipeline_redis(&name));
    status.database = Some(observed.database.clone());
    status.queue = observed.queue.clone();
    status.dead_letter_queue = observed.dead_letter_queue.clone();
    status.definition_checksum = Some(observed.definition_checksum.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_pipeline;
    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use machina_crds::common::condition_types::{DEGRADED, READY};
    use machina_crds::conditions::is_true;

    fn worker(generation: i64, observed: i64, ready: i32, updated: i32) -> Deployment {
        let mut d = Deployment::default();
        d.metadata.generation = Some(generation);
        d.status = Some(DeploymentStatus {
            observed_generation: Some(observed),
            ready_replicas: Some(ready),
            updated_replicas: Some(updated),
            ..DeploymentStatus::default()
        });
        d
    }

    #[test]
    fn rollout_is_ready_only_when_the_latest_spec_is_ready() {
        assert_eq!(health_of_rollout(&worker(2, 2, 2, 2), 2), Health::Ready);
        assert!(matches!(
            health_of_rollout(&worker(2, 1, 2, 2), 2),
            Health::Progressing { .. }
        ));
        assert!(matches!(
            health_of_rollout(&worker(2, 2, 1, 2), 2),
            Health::Progressing { .. }
        ));
        assert!(matches!(
            health_of_rollout(&Deployment::default(), 1),
            Health::Progressing { .. }
        ));
    }

    #[test]
    fn degraded_status_keeps_previous_fields_and_sets_conditions() {
        let mut pipeline = mk_pipeline();
        pipeline.status = Some(ContentPipelineStatus {
            endpoint: Some("http://x".into()),
            ..ContentPipelineStatus::default()
        });
        let now = Timestamp::from_second(100).expect("time");
        let health = Health::Degraded {
            reason: "PlatformNotFound",
            message: "Platform shop/acme not found".into(),
        };
        let status = build(&pipeline, None, &health, now);
        assert_eq!(status.endpoint.as_deref(), Some("http://x"));
        assert_eq!(status.observed.observed_generation, Some(1));
        assert!(is_true(&status.observed.conditions, DEGRADED));
        assert!(!is_true(&status.observed.conditions, READY));
        let degraded = status
            .observed
            .conditions
            .iter()
            .find(|c| c.type_ == DEGRADED)
            .expect("degraded");
        assert_eq!(degraded.reason, "PlatformNotFound");
    }
}
