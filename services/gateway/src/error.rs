//! [`Error`]: what can stop the gateway from starting.

use std::path::PathBuf;

/// A startup failure: bad configuration, an unreadable routes file, a bind error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A shared setting (listen address, Redis URL, JWT key, ...) is invalid.
    #[error(transparent)]
    Kit(#[from] machina_kit::Error),
    /// A gateway setting is invalid; `name` is the variable or routes-file field.
    #[error("invalid {name}: {reason}")]
    Config {
        /// The environment variable or routes-file field.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The routes file cannot be read.
    #[error("cannot read routes file {path}: {source}")]
    RoutesFile {
        /// The file named by `ROUTES_FILE`.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The Kubernetes client for ContentPipeline discovery cannot be built.
    #[error("cannot create the Kubernetes client for pipeline discovery: {0}")]
    Kube(#[from] kube::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A configuration error naming `name`.
pub(crate) fn config(name: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Config {
        name: name.into(),
        reason: reason.into(),
    }
}
