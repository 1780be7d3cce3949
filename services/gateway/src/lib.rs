//! The Machina API gateway / BFF: the one public entry point.
//!
//! # Layout
//!
//! - [`config`]: [`GatewayConfig`], read from the environment the operator sets.
//! - [`routes`]: the route table ([`routes::Route`], [`routes::SharedRoutes`]),
//!   defaults for the shared services and the routes file.
//! - [`discovery`]: ContentPipelines watched with kube-rs, folded into routes.
//! - [`proxy`]: the streaming reverse proxy handler.
//! - [`headers`]: hop-by-hop removal, `X-Forwarded-*`, trace context, claim headers.
//! - [`access`]: JWT verification and scope/permission checks at the edge.
//! - [`ratelimit`]: GCRA rate limits per client in Redis, with `RateLimit-*` headers.
//! - [`retry`]: which failures are retried, and the shared retry budget.
//! - [`openapi`]: the aggregated OpenAPI document.
//! - [`problem`]: the gateway's own problem+json responses (429, 502, 504).
//! - [`app`]: [`Gateway`], wiring and serving.

#![forbid(unsafe_code)]

pub mod access;
pub mod app;
pub mod config;
pub mod discovery;
pub mod error;
pub mod headers;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod proxy;
pub mod ratelimit;
pub mod retry;
pub mod routes;

pub use app::Gateway;
pub use config::GatewayConfig;
pub use error::{Error, Result};
