//! devcluster: a local Kubernetes API surrogate for development and end-to-end tests.
//!
//! It speaks the Kubernetes REST API over HTTP on loopback (bearer-token auth), keeps
//! objects in memory (optionally snapshotted to disk), and implements the semantics
//! the operator and kubectl rely on. See README.md for what is honest and what is
//! simplified.
//!
//! # Layout
//!
//! - [`http`]: routing, parameters, responses; [`discovery`], [`openapi`], [`table`].
//! - [`ops`]: create/get/update and the shared write path; [`patching`], [`delete`];
//!   [`list`], [`watch`], [`selectors`]; [`scale`], [`logs`], [`events`] (events.k8s.io view).
//! - [`patch`]: merge, JSON, strategic and server-side apply (`fields` = managedFields).
//! - [`admission`]: names and CRD schemas; [`defaults`]: built-in defaults; [`crd`]: CRD
//!   registration and cleanup; [`protobuf`]: kubectl generator bodies; [`printers`]: tables.
//! - [`housekeeping`]: finalizers, garbage collection, namespace termination.
//! - [`store`]: objects, resourceVersions, event history, and the indexes it keeps
//!   ([`gc_index`], [`label_index`], [`cluster_ips`]); [`persist`]: `--data-dir`.
//! - [`cluster`]: [`DevCluster`], the handle tests and the binary start.

#![forbid(unsafe_code)]

pub mod admission;
pub mod builtin_schema;
pub mod cluster;
pub mod cluster_ips;
pub mod crd;
pub mod defaults;
pub mod delete;
pub mod discovery;
pub mod errors;
pub mod events;
pub mod gc_index;
pub mod housekeeping;
pub mod http;
pub mod kubeconfig;
pub mod label_index;
pub mod list;
pub mod logs;
pub mod openapi;
pub mod ops;
pub mod patch;
pub mod patching;
pub mod persist;
pub mod printers;
pub mod protobuf;
pub mod registry;
pub mod scale;
pub mod selectors;
pub mod store;
pub mod table;
pub mod watch;

pub use cluster::{Cluster, Config, DevCluster, StartError};
pub use errors::ApiError;
