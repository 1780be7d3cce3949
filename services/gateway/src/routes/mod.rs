//! The route table: which upstream serves a path, under which policy.
//!
//! - [`route`]: [`Route`], [`Upstream`], [`Policy`].
//! - [`table`]: [`RouteTable`] (one immutable snapshot, matched per request) and
//!   [`SharedRoutes`] (the snapshot in force, swapped when pipelines change).
//! - [`file`]: default routes from the operator's variables and the routes file.

pub mod file;
pub mod route;
pub mod table;

pub use file::{RoutesFile, merge_routes, shared_service_routes};
pub use route::{Policy, Route, Upstream};
pub use table::{
    Matched, PIPELINES_PREFIX, PipelineDefaults, PipelineEndpoint, RouteTable, SharedRoutes,
};
