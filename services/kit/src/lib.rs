//! What every Machina service shares.
//!
//! # Layout
//!
//! - [`mod@env`]: [`Vars`], typed reads of environment variables with errors that
//!   name the variable.
//! - [`config`]: [`CommonConfig`], the settings every service reads (listen
//!   address, logging, limits, backing-service URLs).
//! - [`secret`]: [`Secret`], a value whose `Debug`/`Display` never print it.
//! - [`telemetry`]: the `tracing` subscriber (JSON or pretty, `EnvFilter`),
//!   OpenTelemetry trace ids and OTLP export (feature `otel`, on by default).
//! - [`problem`]: [`ApiError`], every HTTP error as RFC 9457 problem+json.
//! - [`json`]: [`ApiJson`], a JSON extractor rejecting with [`ApiError`].
//! - [`readiness`]: [`ReadinessCheck`] and the [`Readiness`] registry `/readyz` runs.
//! - [`metrics`]: [`Metrics`], the Prometheus registry `/metrics` serves.
//! - [`http`]: [`App`], which adds `/healthz`, `/readyz`, `/metrics`, request
//!   ids, body limits, timeouts and graceful shutdown to a service's router.
//! - [`backing`]: connection helpers for backing services that survive an
//!   outage ([`Mongo`], [`Redis`], [`Amqp`]), with readiness checks and error counting.
//! - [`auth`]: [`auth::JwtVerifier`] and the [`auth::require_jwt`] middleware
//!   (configured key or JWKS URL), giving handlers [`auth::Claims`].
//! - [`error`]: [`Error`], the kit's own failures (config, bind, serve).
//! - [`hosts`]: cluster DNS names from `MACHINA_HOSTS_FILE` (devcluster); a no-op when unset.
//!
//! A service's `main` is then: `CommonConfig::from_env`, `telemetry::init`,
//! build its router, `App::new(&config, router).run()`; see `examples/hello.rs`.

#![forbid(unsafe_code)]

pub mod auth;
pub mod backing;
pub mod canonical;
pub mod config;
pub mod env;
pub mod error;
pub mod http;
/// Cluster DNS names from a hosts file (crate `machina-hosts`, shared with the operator).
pub use machina_hosts as hosts;
pub mod json;
pub mod metrics;
pub mod problem;
pub mod readiness;
pub mod secret;
pub mod telemetry;

pub use backing::{amqp::Amqp, mongo::Mongo, redis::Redis};
pub use canonical::canonical_json;
pub use config::{CommonConfig, LogFormat};
pub use env::Vars;
pub use error::{Error, Result};
pub use http::{App, REQUEST_ID_HEADER, RequestId, bind, serve_router, shutdown_signal};
pub use json::ApiJson;
pub use metrics::Metrics;
pub use problem::{ApiError, PROBLEM_JSON};
pub use readiness::{Prepared, Readiness, ReadinessCheck, ReadinessReport, check_fn};
pub use secret::Secret;

/// Re-exported so services register metrics with the same version the kit uses.
pub use prometheus_client;
