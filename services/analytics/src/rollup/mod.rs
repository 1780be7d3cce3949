//! Rollups of an AnalyticsJob, computed without I/O: which events a job selects, the
//! time buckets, the aggregates per bucket and dimension values, and their documents.
//!
//! A rollup is a pure function of the set of events in its bucket: the worker recomputes
//! a bucket from the deduplicated events it holds and replaces the document, so
//! re-processing the same events (after a crash, a redelivery, a retried request) always
//! yields the same rollups.

pub mod bucket;
pub mod compute;
pub mod doc;
pub mod filter;
pub mod topic;

pub use bucket::{Bucket, granularity_name};
pub use compute::{Job, MetricState, Rollup, compute};
