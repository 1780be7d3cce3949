//! RabbitMQ topology through the management HTTP API: vhosts, users, permissions,
//! exchanges, quorum queues with dead-lettering, and bindings.
//!
//! Every `ensure_*` is a PUT/POST that leaves the broker unchanged when the object already
//! is as asked; every `delete_*` treats 404 as done. A queue or exchange that exists with
//! other arguments is never deleted to "fix" it (that would lose messages): it is reported
//! as [`RabbitError::QueueArgumentsDiffer`] / [`RabbitError::ExchangeDiffers`].
//!
//! [`Topology`] (pure, in `topology`) says what a ContentPipeline or AnalyticsJob needs;
//! [`RabbitProvisioner::apply`] and [`RabbitProvisioner::remove`] (in `apply`) converge it.

mod apply;
mod client;
mod topology;

pub use apply::{ApplyReport, KeptQueue, RemoveReport};
pub use client::{BindingInfo, QueueDeletion, QueueRemoval, RabbitProvisioner};
pub use topology::{
    BindingSpec, ExchangeKind, ExchangeSpec, Permissions, QueueSpec, Retired, Topology,
    TopologyError, analytics_base, pipeline_base,
};

/// Why a management API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No answer (connection refused, timeout, TLS).
    #[error("{0}")]
    Transport(#[source] reqwest::Error),
    /// An answer with an error status; `reason` is the API's reason, secrets removed.
    #[error("HTTP {status}: {reason}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The API's `reason` (or the start of the body).
        reason: String,
    },
    /// A success answer whose body is not what the API documents.
    #[error("unexpected response body: {0}")]
    Decode(#[source] serde_json::Error),
}

impl ApiError {
    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Errors of the RabbitMQ provisioner, one per action, with the objects acted on.
/// Passwords never appear in them.
#[derive(Debug, thiserror::Error)]
pub enum RabbitError {
    /// The management URL is not an `http(s)://` URL.
    #[error("invalid RabbitMQ management URL: {reason}")]
    InvalidManagementUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("failed to build the RabbitMQ management HTTP client: {0}")]
    BuildClient(#[source] reqwest::Error),
    /// Creating a vhost (or granting the admin user access to it) failed.
    #[error("failed to ensure vhost {vhost:?}: {source}")]
    EnsureVhost {
        /// The vhost.
        vhost: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Deleting a vhost failed.
    #[error("failed to delete vhost {vhost:?}: {source}")]
    DeleteVhost {
        /// The vhost.
        vhost: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Creating or updating a user (password, tags) failed.
    #[error("failed to ensure user {user:?}: {source}")]
    EnsureUser {
        /// The user.
        user: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Deleting a user failed.
    #[error("failed to delete user {user:?}: {source}")]
    DeleteUser {
        /// The user.
        user: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Setting a user's permissions on a vhost failed.
    #[error("failed to set permissions of user {user:?} on vhost {vhost:?}: {source}")]
    EnsurePermissions {
        /// The vhost.
        vhost: String,
        /// The user.
        user: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Declaring an exchange failed.
    #[error("failed to ensure exchange {exchange:?} in vhost {vhost:?}: {source}")]
    EnsureExchange {
        /// The vhost.
        vhost: String,
        /// The exchange.
        exchange: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// The exchange exists with another type or durability; it was left untouched.
    #[error("exchange {exchange:?} in vhost {vhost:?} exists with other properties: {reason}")]
    ExchangeDiffers {
        /// The vhost.
        vhost: String,
        /// The exchange.
        exchange: String,
        /// The broker's explanation (which property, expected and current value).
        reason: String,
    },
    /// Deleting an exchange failed.
    #[error("failed to delete exchange {exchange:?} in vhost {vhost:?}: {source}")]
    DeleteExchange {
        /// The vhost.
        vhost: String,
        /// The exchange.
        exchange: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Declaring a queue failed.
    #[error("failed to ensure queue {queue:?} in vhost {vhost:?}: {source}")]
    EnsureQueue {
        /// The vhost.
        vhost: String,
        /// The queue.
        queue: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// The queue exists with other arguments (delivery limit, TTL, dead-lettering, type).
    /// It was left untouched, with its messages: delete it by hand (or change the spec
    /// back) to apply the new arguments.
    #[error("queue {queue:?} in vhost {vhost:?} exists with other arguments: {reason}")]
    QueueArgumentsDiffer {
        /// The vhost.
        vhost: String,
        /// The queue.
        queue: String,
        /// The broker's explanation (which argument, expected and current value).
        reason: String,
    },
    /// Reading a queue's state failed.
    #[error("failed to inspect queue {queue:?} in vhost {vhost:?}: {source}")]
    InspectQueue {
        /// The vhost.
        vhost: String,
        /// The queue.
        queue: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Deleting a queue failed.
    #[error("failed to delete queue {queue:?} in vhost {vhost:?}: {source}")]
    DeleteQueue {
        /// The vhost.
        vhost: String,
        /// The queue.
        queue: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Binding a queue to an exchange failed.
    #[error(
        "failed to bind queue {:?} to exchange {:?} with key {:?} in vhost {vhost:?}: {source}",
        .binding.queue, .binding.exchange, .binding.routing_key
    )]
    EnsureBinding {
        /// The vhost.
        vhost: String,
        /// The binding (boxed: it keeps the error small).
        binding: Box<BindingSpec>,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Listing a queue's bindings failed.
    #[error("failed to list the bindings of queue {queue:?} in vhost {vhost:?}: {source}")]
    ListBindings {
        /// The vhost.
        vhost: String,
        /// The queue.
        queue: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Removing a binding failed.
    #[error(
        "failed to unbind queue {:?} from exchange {:?} (key {:?}) in vhost {vhost:?}: {source}",
        .binding.queue, .binding.exchange, .binding.routing_key
    )]
    DeleteBinding {
        /// The vhost.
        vhost: String,
        /// The binding (boxed: it keeps the error small).
        binding: Box<BindingSpec>,
        /// The API error.
        #[source]
        source: ApiError,
    },
}

impl RabbitError {
    /// Short, stable name of the variant, used as a metric label.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::InvalidManagementUrl { .. } => "InvalidRabbitManagementUrl",
            Self::BuildClient(_) => "BuildRabbitClient",
            Self::EnsureVhost { .. } => "EnsureVhost",
            Self::DeleteVhost { .. } => "DeleteVhost",
            Self::EnsureUser { .. } => "EnsureRabbitUser",
            Self::DeleteUser { .. } => "DeleteRabbitUser",
            Self::EnsurePermissions { .. } => "EnsureRabbitPermissions",
            Self::EnsureExchange { .. } => "EnsureExchange",
            Self::ExchangeDiffers { .. } => "ExchangeDiffers",
            Self::DeleteExchange { .. } => "DeleteExchange",
            Self::EnsureQueue { .. } => "EnsureQueue",
            Self::QueueArgumentsDiffer { .. } => "QueueArgumentsDiffer",
            Self::InspectQueue { .. } => "InspectQueue",
            Self::DeleteQueue { .. } => "DeleteQueue",
            Self::EnsureBinding { .. } => "EnsureBinding",
            Self::ListBindings { .. } => "ListBindings",
            Self::DeleteBinding { .. } => "DeleteBinding",
        }
    }
}

/// Result of the RabbitMQ provisioner.
pub type Result<T, E = RabbitError> = std::result::Result<T, E>;
