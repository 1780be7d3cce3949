//! The user service: profiles, preferences, search, soft delete, GDPR export and
//! erasure, change events; registration and password changes go through auth.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], the environment.
//! - [`error`]: [`Error`], rendered once as problem+json.
//! - [`validate`], [`traits`], [`merge`], [`cursor`]: pure checks and helpers.
//! - [`model`], [`store`]: stored documents, views, collections and queries.
//! - [`events`]: the outbox and the relay publishing `user.*` events.
//! - [`auth_client`]: calls to the auth service.
//! - [`service`]: [`service::Users`], the operations.
//! - [`routes`]: the axum handlers.
//! - [`openapi`]: the OpenAPI document at `/openapi.json`.
//! - [`startup`]: [`Application`], which wires it all and serves.

#![forbid(unsafe_code)]

pub mod auth_client;
pub mod config;
pub mod cursor;
pub mod error;
pub mod events;
pub mod merge;
pub mod model;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod startup;
pub mod store;
pub mod traits;
pub mod validate;

pub use config::Config;
pub use error::{Error, Result};
pub use startup::Application;
pub use store::Store;
