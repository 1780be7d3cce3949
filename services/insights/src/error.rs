//! [`Error`]: what a recompute or a query can fail with, mapped once to problem+json.

use machina_kit::ApiError;

use crate::store::StoreError;

/// Failures of the service's operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading events failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A Redis command failed.
    #[error("redis command failed")]
    Cache(#[from] redis::RedisError),
    /// No generation of results exists yet.
    #[error("no results have been computed yet")]
    NotComputed,
    /// A recompute is already running in this replica.
    #[error("a recompute is already running")]
    Busy,
    /// The compute task panicked or was cancelled.
    #[error("the compute task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            // The client learns only that a dependency is down; the cause is logged by the kit.
            Error::Store(e) => ApiError::Unavailable(format!("mongodb: {e}")),
            Error::Cache(e) => ApiError::Unavailable(format!("redis: {e}")),
            Error::NotComputed => ApiError::Unavailable("no results computed yet".to_owned()),
            Error::Busy => ApiError::Conflict(
                "a recompute is already running; retry when it finishes".to_owned(),
            ),
            Error::Task(e) => {
                ApiError::Internal(anyhow::Error::new(e).context("compute task failed"))
            }
        }
    }
}
