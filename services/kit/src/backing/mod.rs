//! Connection helpers for backing services. Each keeps the service up while
//! its dependency is down: calls fail fast with [`crate::ApiError::Unavailable`],
//! `/readyz` turns red through the helper's readiness check, failures are
//! counted in `machina_dependency_errors_total`, and the connection recovers
//! on its own once the dependency is back.

pub mod amqp;
pub mod mongo;
pub mod redis;
