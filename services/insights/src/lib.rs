//! The insights service: trends, anomalies and recommendations computed from
//! the raw analytics events in MongoDB and served from Redis.
//!
//! # Layout
//!
//! - [`algo`]: the pure algorithms (no I/O), each unit-tested on its own.
//! - [`compute`]: raw events in, a [`compute::Snapshot`] of every result out (pure).
//! - [`store`]: [`store::EventStore`], reads the analytics service's `events` collection.
//! - [`cache`]: [`cache::Cache`], generations of results in Redis.
//! - [`service`]: [`Insights`] (recompute, reads), parameter checks, admin, routes.
//! - [`config`]: [`Config`], the environment.
//! - [`error`]: [`Error`], mapped to problem+json once.
//! - [`startup`]: [`Application`], which wires it all, schedules and serves.

#![forbid(unsafe_code)]

pub mod algo;
pub mod cache;
pub mod compute;
pub mod config;
pub mod error;
pub mod service;
pub mod startup;
pub mod store;

pub use config::Config;
pub use error::{Error, Result};
pub use service::Insights;
pub use startup::Application;
