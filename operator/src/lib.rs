//! The Machina operator: desired-state builders for Platform, ContentPipeline and AnalyticsJob.
//!
//! This first increment holds the pure part of the operator (brief §3): functions from a
//! custom resource to the Kubernetes objects it should own. They make no API call, so they
//! are unit-tested without a server; the reconcilers apply what they return with
//! server-side apply and delete what they list as obsolete.
//!
//! # Layout
//! - [`names`]: names of every owned object, within DNS-1123 length limits.
//! - [`labels`]: standard labels, selector labels, object metadata with the owner reference.
//! - [`quantity`]: Kubernetes quantities (`64Mi`) to bytes.
//! - [`secrets`]: generated passwords, wrapped so `Debug` never prints them; connection strings.
//! - [`pod`]: what every Machina container shares: env contract, probes, security context.
//! - [`workload`]: the Deployment, Service and PodDisruptionBudget of one workload.
//! - [`platform`]: a Platform's shared services (Deployment, Service, PodDisruptionBudget).
//! - [`content_pipeline`]: a pipeline's definition ConfigMap, worker and Redis instance.
//! - [`analytics_job`]: an AnalyticsJob's streaming Deployment or CronJob.
//! - [`Deletion`]: an owned object that should no longer exist.
//! - [`provision`]: idempotent provisioners of external resources (MongoDB users, RabbitMQ
//!   topology), with the pure computation of what each resource needs.
//!
//! - [`context`]: what every reconcile shares: API client, metrics, diagnostics, configuration.
//! - [`controllers`]: the kube-runtime controllers (reconcile, error policy) and [`controllers::run`].
//! - [`metrics`]: Prometheus metrics of the reconcilers.
//! - [`http`]: `/metrics`, `/healthz`, `/readyz`.
//! - [`leader`]: leader election on a `coordination.k8s.io/v1` Lease.
//! - [`telemetry`]: logging setup.
//!
//! Tests: `fixtures` (test-only `mk_*` builders from `config/samples`), `mock_api` (a mock
//! API server the controller tests run against), unit tests beside each builder, and
//! `snapshots` (the objects of each sample, committed in `snapshots/`).

pub mod analytics_job;
pub mod content_pipeline;
pub mod context;
pub mod controllers;
pub mod http;
pub mod labels;
pub mod leader;
pub mod metrics;
pub mod names;
pub mod platform;
pub mod pod;
pub mod provision;
pub mod quantity;
pub mod secrets;
pub mod telemetry;
pub mod workload;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod mock_api;
#[cfg(test)]
mod snapshots;

/// Errors of the operator. Variant names double as the `error` label of reconcile metrics
/// (see [`Error::metric_label`]), so they name the action that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A resource lacks metadata the builders need (namespace, name or uid).
    #[error("{kind} is missing metadata.{field}")]
    MissingObjectKey {
        /// Kind of the resource.
        kind: String,
        /// The missing field.
        field: &'static str,
    },
    /// A quantity in the spec cannot be turned into bytes.
    #[error("invalid quantity {value:?}: {reason}")]
    InvalidQuantity {
        /// The quantity as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A controller's cached object could not be read back (never expected: the operator
    /// wrote the cached JSON itself from a decoded object).
    #[error("the cached {kind} could not be read back: {source}")]
    CachedObject {
        /// Kind of the object.
        kind: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A spec could not be serialised into the definition handed to a worker.
    #[error("failed to serialise the {what}: {source}")]
    SerializeSpec {
        /// What was serialised.
        what: &'static str,
        /// The serialiser's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An admin connection string cannot be parsed (its content is never echoed: it holds a password).
    #[error("invalid MongoDB connection string: {reason}")]
    InvalidMongoUri {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An admin AMQP URL cannot be parsed (its content is never echoed: it holds a password).
    #[error("invalid AMQP URL: {reason}")]
    InvalidAmqpUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The operating system's random number generator failed.
    #[error("failed to generate a password: {0}")]
    GeneratePassword(String),
    /// A call to the Kubernetes API failed.
    #[error("failed to {action} {kind} {name:?}: {source}")]
    Kube {
        /// What was attempted (`get`, `apply`, `delete`, `patch status of`).
        action: &'static str,
        /// Kind of the object.
        kind: String,
        /// Name of the object.
        name: String,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A Secret the Platform references is missing or lacks a key.
    #[error("Secret {namespace}/{name} {problem}")]
    BackendSecret {
        /// Namespace of the Secret.
        namespace: String,
        /// Name of the Secret.
        name: String,
        /// What is wrong (`not found`, `has no key "uri"`).
        problem: String,
    },
    /// The MongoDB provisioner failed.
    #[error(transparent)]
    Mongo(Box<provision::mongodb::MongoError>),
    /// The RabbitMQ provisioner failed.
    #[error(transparent)]
    Rabbit(Box<provision::rabbitmq::RabbitError>),
    /// The RabbitMQ topology of a resource cannot be computed.
    #[error(transparent)]
    Topology(Box<provision::rabbitmq::TopologyError>),
    /// A call to a Platform's template service failed.
    #[error(transparent)]
    TemplateService(Box<controllers::template::TemplateServiceError>),
    /// A queue to remove has no message count in the broker's statistics yet (it was just
    /// created): the cleanup is retried rather than deleting messages it cannot see.
    #[error("RabbitMQ has not reported how many messages queue {queue:?} holds yet")]
    QueueStatsPending {
        /// The queue.
        queue: String,
    },
    /// Adding or removing the finalizer, or the reconcile it wraps, failed.
    #[error(transparent)]
    Finalizer(Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// Short, stable name of the variant, used as a metric label.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::MissingObjectKey { .. } => "MissingObjectKey",
            Error::InvalidQuantity { .. } => "InvalidQuantity",
            Error::CachedObject { .. } => "CachedObject",
            Error::SerializeSpec { .. } => "SerializeSpec",
            Error::InvalidMongoUri { .. } => "InvalidMongoUri",
            Error::GeneratePassword(_) => "GeneratePassword",
            Error::InvalidAmqpUrl { .. } => "InvalidAmqpUrl",
            Error::Kube { .. } => "Kube",
            Error::BackendSecret { .. } => "BackendSecret",
            Error::Mongo(e) => e.metric_label(),
            Error::Rabbit(e) => e.metric_label(),
            Error::Topology(_) => "Topology",
            Error::TemplateService(e) => e.metric_label(),
            Error::QueueStatsPending { .. } => "QueueStatsPending",
            Error::Finalizer(e) => {
                use kube::runtime::finalizer::Error as F;
                match e.as_ref() {
                    F::ApplyFailed(inner) | F::CleanupFailed(inner) => inner.metric_label(),
                    F::AddFinalizer(_) => "AddFinalizer",
                    F::RemoveFinalizer(_) => "RemoveFinalizer",
                    F::UnnamedObject | F::InvalidFinalizer => "Finalizer",
                }
            }
        }
    }

    /// A failed Kubernetes API call on `kind` `name`.
    pub fn kube(action: &'static str, kind: &str, name: &str, source: kube::Error) -> Self {
        Self::Kube {
            action,
            kind: kind.to_owned(),
            name: name.to_owned(),
            source: Box::new(source),
        }
    }
}

impl From<provision::mongodb::MongoError> for Error {
    fn from(error: provision::mongodb::MongoError) -> Self {
        Self::Mongo(Box::new(error))
    }
}

impl From<provision::rabbitmq::RabbitError> for Error {
    fn from(error: provision::rabbitmq::RabbitError) -> Self {
        Self::Rabbit(Box::new(error))
    }
}

impl From<provision::rabbitmq::TopologyError> for Error {
    fn from(error: provision::rabbitmq::TopologyError) -> Self {
        Self::Topology(Box::new(error))
    }
}

impl From<controllers::template::TemplateServiceError> for Error {
    fn from(error: controllers::template::TemplateServiceError) -> Self {
        Self::TemplateService(Box::new(error))
    }
}

/// Result of the operator's functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Kinds of owned object a reconciler may have to delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeleteKind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `v1` Service.
    Service,
    /// `policy/v1` PodDisruptionBudget.
    PodDisruptionBudget,
    /// `batch/v1` CronJob.
    CronJob,
    /// `v1` ConfigMap.
    ConfigMap,
    /// `v1` Secret.
    Secret,
    /// `v1` ServiceAccount.
    ServiceAccount,
    /// `rbac.authorization.k8s.io/v1` Role.
    Role,
    /// `rbac.authorization.k8s.io/v1` RoleBinding.
    RoleBinding,
}

/// An owned object that the desired state no longer contains (a disabled service, a PDB
/// whose `minAvailable` was removed, a Deployment replaced by a CronJob). Deleting one that
/// does not exist is not an error for the reconciler.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deletion {
    /// Kind of the object.
    pub kind: DeleteKind,
    /// Name of the object, in the namespace of the custom resource.
    pub name: String,
}

impl Deletion {
    /// A deletion of `kind` named `name`.
    pub fn new(kind: DeleteKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}
