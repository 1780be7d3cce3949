//! The crate error: what can go wrong while configuring or running a service.
//!
//! HTTP handler errors are a different thing: they are [`crate::ApiError`], which
//! turns into a problem+json response. This enum is for the kit's own failures
//! (bad environment, a port that cannot be bound, a subscriber already set).

use std::net::SocketAddr;

/// Everything the kit itself can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required environment variable is not set (or is empty).
    #[error("environment variable {name} is required but not set")]
    MissingVar {
        /// The variable's name, e.g. `MONGODB_URI`.
        name: String,
    },
    /// An environment variable is set but cannot be parsed.
    #[error("environment variable {name} is invalid: expected {expected}, got {value:?}")]
    InvalidVar {
        /// The variable's name.
        name: String,
        /// What a valid value looks like, e.g. `a duration such as 30s or 500ms`.
        expected: String,
        /// The value found (never a secret: secrets are not validated this way).
        value: String,
    },
    /// A backing-service client could not be set up (malformed URL, bad
    /// options). Never echoes the URL, which may carry a password.
    #[error("cannot set up the {dependency} client: {reason}")]
    Connect {
        /// `redis`, `mongodb`, `rabbitmq`.
        dependency: &'static str,
        /// What is wrong, without the URL.
        reason: String,
    },
    /// The listener could not be bound.
    #[error("failed to bind {addr}")]
    Bind {
        /// The address we tried to bind.
        addr: SocketAddr,
        /// Why the OS refused.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server stopped with an I/O error.
    #[error("HTTP server failed")]
    Serve(#[source] std::io::Error),
    /// The tracing subscriber could not be installed.
    #[error("failed to initialise telemetry: {0}")]
    Telemetry(String),
}

/// `Result` with the kit's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
