//! The AnalyticsJob worker (`machina-analytics worker`): the environment the operator
//! gives it, the MongoDB side (staging, rollups, progress) and the two modes.
//!
//! Exactly-once effect: a rollup is recomputed from the deduplicated events of its
//! bucket and replaces its document; messages are acknowledged only after that write.
//! A crash at any point leaves unacknowledged messages that are redelivered, staged again
//! as no-ops (same `_id`), and the recomputation yields the same documents.

pub mod config;
pub mod scheduled;
pub mod sink;
pub mod streaming;

pub use config::{WorkerConfig, WorkerMode};
pub use sink::Sink;
