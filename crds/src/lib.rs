//! The Machina API: every custom resource of group `machina.dev`, version `v1alpha1`.
//!
//! # Layout
//! - [`common`]: references, workload sizing, deletion policy, condition types.
//! - [`platform`]: `Platform` (`mp`), the shared services of one MACH platform.
//! - [`template`]: `Template` (`tpl`), a versioned content template.
//! - [`content_pipeline`]: `ContentPipeline` (`cp`), a generative worker and its backends.
//! - [`analytics_job`]: `AnalyticsJob` (`aj`), a declarative aggregation over events.
//! - [`conditions`]: the one helper that sets status conditions.
//! - [`tenancy`]: whether a Platform admits a resource from another namespace.
//! - [`images`]: the container image of every binary.
//! - [`manifests`]: the CRD YAML generated from these types.
//! - [`reference`]: the API reference (`docs/api.md`) generated from the schemas.
//!
//! These types are the single source of truth for the CRD YAML under `config/crd/`
//! (written by the `crdgen` binary, checked by `tests/generated.rs`).

pub mod analytics_job;
pub mod common;
pub mod conditions;
pub mod content_pipeline;
pub mod images;
pub mod manifests;
pub mod platform;
pub mod reference;
pub mod template;
pub mod tenancy;

pub use analytics_job::{AnalyticsJob, AnalyticsJobSpec, AnalyticsJobStatus};
pub use common::{DeletionPolicy, PlatformRef};
pub use content_pipeline::{ContentPipeline, ContentPipelineSpec, ContentPipelineStatus};
pub use platform::{Platform, PlatformSpec, PlatformStatus};
pub use template::{Template, TemplateSpec, TemplateStatus};

/// API group of every Machina resource.
pub const GROUP: &str = "machina.dev";

/// API version served.
pub const VERSION: &str = "v1alpha1";
