//! A ContentPipeline's desired state: the definition ConfigMap, the generative worker
//! (Deployment, Service, PodDisruptionBudget) and, when enabled, its own Redis.
//!
//! The pipeline's Secrets (`<name>-mongodb` with `uri`, `<name>-rabbitmq` with `url`,
//! `<name>-redis` with `password` and `url`) are written by the reconciler once it has
//! provisioned the users; [`redis::secret`] builds the Redis one.

pub mod builders;
pub mod definition;
pub mod redis;

pub use definition::Definition;

use crate::pod::PlatformSettings;
use crate::{DeleteKind, Deletion, Result, labels, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use machina_crds::ContentPipeline;

/// The pipeline's Redis objects.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisObjects {
    /// `<name>-redis`.
    pub deployment: Deployment,
    /// `<name>-redis`, port 6379.
    pub service: Service,
}

/// The objects a ContentPipeline owns, to apply, and those to delete.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineObjects {
    /// What the worker runs; its checksum is also reported in status.
    pub definition: Definition,
    /// `<name>-definition`.
    pub config_map: ConfigMap,
    /// The worker.
    pub deployment: Deployment,
    /// The worker's Service.
    pub service: Service,
    /// When `minAvailable` is set.
    pub pod_disruption_budget: Option<PodDisruptionBudget>,
    /// When `redis.enabled`.
    pub redis: Option<RedisObjects>,
    /// The budget without `minAvailable`, the Redis objects when it is disabled.
    pub deletions: Vec<Deletion>,
}

/// Versions of the credentials the pipeline's workloads use
/// ([`crate::secrets::credentials_version`] of their Secrets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CredentialVersions<'a> {
    /// Of the worker's Secrets (MongoDB, RabbitMQ, Redis, LLM key).
    pub worker: Option<&'a str>,
    /// Of the Redis Secret.
    pub redis: Option<&'a str>,
}

/// The desired state of `pipeline`, running on the Platform described by `platform`.
pub fn desired_state(
    pipeline: &ContentPipeline,
    platform: &PlatformSettings,
    credentials: CredentialVersions<'_>,
) -> Result<PipelineObjects> {
    let name = labels::name(pipeline)?;
    let definition = Definition::of(&definition::worker_spec(pipeline)?)?;
    let mut deletions = Vec::new();
    let pod_disruption_budget = builders::pod_disruption_budget(pipeline)?;
    if pod_disruption_budget.is_none() {
        deletions.push(Deletion::new(
            DeleteKind::PodDisruptionBudget,
            names::pipeline_worker(&name),
        ));
    }
    let redis = if pipeline.spec.redis.enabled {
        Some(RedisObjects {
            deployment: redis::deployment(pipeline, platform, credentials.redis)?,
            service: redis::service(pipeline)?,
        })
    } else {
        let redis_name = names::pipeline_redis(&name);
        deletions.extend([
            Deletion::new(DeleteKind::Deployment, &redis_name),
            Deletion::new(DeleteKind::Service, &redis_name),
            Deletion::new(DeleteKind::Secret, redis_name),
        ]);
        None
    };
    Ok(PipelineObjects {
        config_map: definition::config_map(pipeline, &definition)?,
        deployment: builders::deployment(pipeline, platform, &definition, credentials.worker)?,
        service: builders::service(pipeline)?,
        pod_disruption_budget,
        redis,
        deletions,
        definition,
    })
}

#[cfg(test)]
mod tests;
