//! The bodies of the worker's API beyond the run result ([`crate::RunResult`]); every one
//! derives `ToSchema` for the OpenAPI document.

use crate::components::Violation;
use crate::executor::RunResult;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The body of `POST /v1/generate` and `POST /v1/jobs`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// The request context the pipeline validates and runs on.
    #[schema(value_type = Object)]
    pub context: Value,
}

/// The body of a 202 to `POST /v1/jobs`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobAccepted {
    /// The job's id (also in `Location`).
    pub job_id: String,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum JobStatus {
    /// Stored and queued, or given back for another attempt.
    Queued,
    /// A worker is running it.
    Running,
    /// Its result is stored.
    Succeeded,
    /// It failed for good (invalid context, a loop at its cap, or out of deliveries).
    Failed,
}

/// `GET /v1/jobs/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    /// The job's id.
    pub job_id: String,
    /// Where it is.
    pub status: JobStatus,
    /// Deliveries so far.
    pub attempts: u32,
    /// What went wrong (the last attempt's failure while queued again, or the final one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The result, once succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RunResult>)]
    pub result: Option<Value>,
}

/// `GET /v1/pipeline`: the definition in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineView {
    /// The pipeline's name.
    pub name: String,
    /// The definition's version (short checksum).
    pub version: String,
    /// The definition's SHA-256.
    pub checksum: String,
    /// Number of components of the graph.
    pub components: usize,
    /// The component whose output is the result.
    pub output: String,
    /// The bound templates and the versions in use.
    pub templates: Vec<TemplateVersion>,
    /// The queue jobs are consumed from.
    pub jobs_queue: String,
}

/// A bound template and the version in use.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateVersion {
    /// Local name.
    pub name: String,
    /// The template service's name of the template.
    pub template_ref: String,
    /// The version loaded, once one is.
    pub version: Option<i64>,
}

/// An RFC 9457 problem, as every error is answered (the kit's shape, plus the context's
/// violations).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong (opaque for 5xx).
    pub detail: String,
    /// Machine-readable code (`invalid_context`, `not_found`, …).
    pub code: String,
    /// The offending field, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every violation of an invalid context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<Violation>>,
}
