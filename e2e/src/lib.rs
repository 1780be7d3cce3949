//! The harness of the end-to-end tests: a devcluster API server with its node (controllers
//! and process kubelet) in-process, the real `kubectl`, and the operator as a separate
//! process that a test can kill and restart.
//!
//! Everything runs on this machine: pods are local processes of the workspace's debug
//! binaries (built by `cargo build --workspace --bins`, which `scripts/test.sh` runs first),
//! backing services are those of `devenv/up.sh`.

pub mod cluster;
pub mod fixtures;
pub mod kubectl;
pub mod operator;
pub mod wait;

pub use cluster::Harness;
