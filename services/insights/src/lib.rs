//! The insights service: trends, anomalies and recommendations computed from
//! the raw analytics events in MongoDB and served from Redis.
//!
//! # Layout
//!
//! - [`algo`]: the pure algorithms (no I/O), each unit-tested on its own.
//! - [`compute`]: raw events in, a [`compute::Snapshot`] of every result out (pure).
//! - [`incremental`]: [`incremental::RecState`], the recommendation model folded
//!   forward batch by batch, and the list deltas written to Redis (pure).
//! - [`store`]: [`store::EventStore`], reads the analytics service's `events` collection.
//! - [`state`]: [`state::StateStore`], the recommendation state persisted in MongoDB.
//! - [`cache`]: [`cache::Cache`], generations of results in Redis.
//! - [`hot`]: [`hot::HotCache`], finished list bodies in process, in front of Redis.
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
pub mod hot;
pub mod incremental;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;

pub use config::Config;
pub use error::{Error, Result};
pub use service::Insights;
pub use startup::Application;
