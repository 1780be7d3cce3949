//! The auth service: an OAuth 2.0 / OpenID Connect provider for the platform.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], the environment (the operator's `ISSUER`, `*_TTL`, `KEY_ROTATION_DAYS`).
//! - [`error`]: [`Error`], rendered as problem+json or as RFC 6749 errors.
//! - [`crypto`]: random tokens, digests, sealing private keys at rest.
//! - [`password`]: argon2id hashing (PHC strings).
//! - [`keys`]: [`keys::KeyRing`], Ed25519 signing keys with rotation and overlap.
//! - [`scope`]: scope and role → permission rules.
//! - [`throttle`]: login brute-force protection in Redis.
//! - [`model`], [`store`]: stored documents and collections.
//! - [`service`]: [`service::Auth`], the operations.
//! - [`routes`]: the axum handlers.
//! - [`openapi`]: the OpenAPI document at `/openapi.json`.
//! - [`startup`]: [`Application`], which wires it all and serves.

#![forbid(unsafe_code)]

pub mod config;
pub mod crypto;
pub mod error;
pub mod keys;
pub mod model;
pub mod openapi;
pub mod password;
pub mod routes;
pub mod scope;
pub mod service;
pub mod startup;
pub mod store;
pub mod throttle;

pub use config::Config;
pub use error::{Error, Result};
pub use service::roles;
pub use startup::Application;
pub use store::Store;
