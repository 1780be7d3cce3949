//! The content service: typed entries with a per-locale workflow, immutable
//! versions, scheduled publishing, relations, events and signed webhooks.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], the service's environment.
//! - [`model`]: request/response bodies and stored documents.
//! - [`validate`]: type definitions and entry values checked against them (pure).
//! - [`localize`]: per-locale merge on write and resolution with fallback on read (pure).
//! - [`workflow`]: states, transitions and who may make them (pure).
//! - [`diff`]: field-level diffs between versions (pure).
//! - [`signature`]: webhook HMAC signatures (pure).
//! - [`permissions`]: [`permissions::Caller`], permissions from the verified JWT.
//! - [`error`]: [`Error`], mapped to problem+json once.
//! - [`store`]: [`Store`], the MongoDB collections.
//! - [`service`]: [`Content`], the operations.
//! - [`metrics`]: background job counters.
//! - [`worker`]: the scheduler, outbox relay and webhook dispatcher.
//! - [`routes`]: the axum handlers; [`openapi`]: `/openapi.json`.
//! - [`startup`]: [`Application`], which wires it all and serves.

#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod diff;
pub mod error;
pub mod localize;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod permissions;
pub mod routes;
pub mod service;
pub mod signature;
pub mod startup;
pub mod store;
pub mod validate;
pub mod worker;
pub mod workflow;

pub use config::Config;
pub use error::{Error, Result};
pub use service::Content;
pub use startup::Application;
pub use store::Store;
