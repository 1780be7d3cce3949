//! The Machina analytics service and the AnalyticsJob aggregation worker.
//!
//! # Layout
//!
//! Pure (no I/O, unit-tested):
//! - [`event`]: the event schema, validation, ids, decoding of exchange messages.
//! - [`sketch`]: HyperLogLog and DDSketch.
//! - [`rollup`]: what an AnalyticsJob selects and computes per bucket, and its documents.
//! - [`report`]: time series, breakdowns, funnels, retention, CSV.
//!
//! I/O:
//! - [`config`]: the service's settings.
//! - [`amqp`]: the exchange/queue topology and the confirming publisher.
//! - [`store`]: the `events` collection and the store consumer.
//! - [`http`]: ingestion and report handlers.
//! - [`openapi`]: the OpenAPI document at `/openapi.json`.
//! - [`service`]: assembly of `serve` and `store`.
//! - [`worker`]: the AnalyticsJob worker (streaming and scheduled).
#![forbid(unsafe_code)]

pub mod amqp;
pub mod config;
pub mod event;
pub mod http;
pub mod openapi;
pub mod report;
pub mod rollup;
pub mod service;
pub mod sketch;
pub mod store;
pub mod worker;
