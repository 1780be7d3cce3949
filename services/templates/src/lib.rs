//! The template service: versioned templates in MongoDB, validation, sandboxed
//! rendering, and bundles that let a client render locally.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], the service's environment.
//! - [`model`]: request/response bodies and stored documents.
//! - [`error`]: [`Error`], mapped to problem+json once.
//! - [`store`]: [`Store`], the MongoDB collections and version numbering.
//! - [`service`]: [`Templates`], the operations (write, activate, retire, render, bundle, validate).
//! - [`cache`]: compiled engines and active versions in memory.
//! - [`invalidation`]: Redis pub/sub that keeps replicas' caches fresh.
//! - [`metrics`]: render counters by outcome.
//! - [`routes`]: the axum handlers.
//! - [`openapi`]: the OpenAPI 3 document served at `/openapi.json`.
//! - [`startup`]: [`Application`], which wires it all and serves.

#![forbid(unsafe_code)]

pub mod cache;
pub mod config;
pub mod error;
pub mod invalidation;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod startup;
pub mod store;

pub use config::Config;
pub use error::{Error, Result};
pub use service::Templates;
pub use startup::Application;
pub use store::Store;
