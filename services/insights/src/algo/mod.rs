//! The algorithms, free of I/O: every function takes data and returns data.
//!
//! - [`stats`]: normal tail, median/MAD, Benjamini–Hochberg.
//! - [`trends`]: rising subjects by a binomial z-test between two windows.
//! - [`anomalies`]: seasonal baseline plus robust z-score.
//! - [`recs`]: item–item recommendations, diversity and offline evaluation.
//! - [`synthetic`]: generated data with a known truth, for tests and benchmarks.

pub mod anomalies;
pub mod recs;
pub mod stats;
pub mod synthetic;
pub mod trends;
