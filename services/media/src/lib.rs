//! The media service: uploads into MongoDB GridFS, image processing with
//! cached variants, video thumbnails, and CDN-friendly delivery.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], the service's environment.
//! - [`error`]: [`Error`], mapped to problem+json once.
//! - [`model`]: stored documents and API bodies.
//! - [`store`]: [`Store`], collections and the GridFS bucket.
//! - [`sniff`]: content-type sniffing and claim checks.
//! - [`imaging`]: decoding (shrink-on-load, limits), resizing, encoding.
//! - [`params`]: variant query parameters.
//! - [`delivery`]: ETag, conditional GET, ranges, `Accept` negotiation.
//! - [`signing`]: HMAC-signed expiring URLs with key rotation.
//! - [`access`]: bearer tokens and signed URLs.
//! - [`limiter`]: the bounded processing queue.
//! - [`metrics`]: variant cache, upload and processing metrics.
//! - [`video`]: frames through ffmpeg.
//! - [`events`]: the `media.processed` outbox relay.
//! - [`service`]: [`Media`], the operations.
//! - [`routes`]: the axum handlers.
//! - [`openapi`]: the OpenAPI document at `/openapi.json`.
//! - [`startup`]: [`Application`], which wires it all and serves.

#![forbid(unsafe_code)]

pub mod access;
pub mod config;
pub mod delivery;
pub mod error;
pub mod events;
pub mod imaging;
pub mod limiter;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod params;
pub mod routes;
pub mod service;
pub mod signing;
pub mod sniff;
pub mod startup;
pub mod store;
pub mod video;

pub use config::Config;
pub use error::{Error, Result};
pub use service::Media;
pub use startup::Application;
pub use store::Store;
