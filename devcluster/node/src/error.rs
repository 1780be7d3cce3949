//! The crate's [`Error`]: one enum, named after the action that failed.

use std::path::PathBuf;

/// Everything that can go wrong in the node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("{action}: {source}")]
    Kube {
        /// What was being done (`create pod shop/web-1`).
        action: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A file or process operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`write volume`).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The image mapping file is malformed.
    #[error("image mapping {}: {reason}", path.display())]
    ImageMap {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// An object lacks something the controller needs (name, namespace, uid, spec).
    #[error("{kind} {name}: missing {field}")]
    Missing {
        /// Kind of the object.
        kind: &'static str,
        /// Its name (or `?`).
        name: String,
        /// The missing field.
        field: &'static str,
    },
    /// A value in a spec cannot be used (bad cron schedule, bad selector).
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as a JSON path.
        field: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// Wraps a kube error with what was being done.
    pub fn kube(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let action = action.into();
        move |source| Error::Kube { action, source }
    }

    /// Wraps an I/O error with the action and path.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// Short label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Error::Kube { .. } => "kube",
            Error::Io { .. } => "io",
            Error::ImageMap { .. } => "image_map",
            Error::Missing { .. } => "missing",
            Error::Invalid { .. } => "invalid",
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
