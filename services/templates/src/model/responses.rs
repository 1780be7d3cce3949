//! Response bodies.

use machina_template_engine::{Limits, TemplateFormat};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Format;

/// Effective sandbox limits of a version.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    /// Instructions one render may execute.
    pub fuel: u64,
    /// Maximum nesting of macro calls and includes.
    pub max_recursion_depth: u32,
    /// Largest output in bytes.
    pub max_output_bytes: u64,
}

impl From<Limits> for LimitsView {
    fn from(l: Limits) -> Self {
        Self {
            fuel: l.fuel,
            max_recursion_depth: l.max_recursion_depth,
            max_output_bytes: u64::try_from(l.max_output_bytes).unwrap_or(u64::MAX),
        }
    }
}

/// What a create or update did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WriteResult {
    /// The template.
    pub name: String,
    /// The version created, or the existing version with the same content.
    pub version: i64,
    /// The version renders use now.
    pub active_version: i64,
    /// The newest stored version.
    pub latest_version: i64,
    /// SHA-256 of the version's source.
    pub checksum: String,
    /// SHA-256 over source, format, schema, limits and relations (the idempotency key).
    pub content_checksum: String,
    /// Output format.
    #[schema(value_type = Format)]
    pub format: TemplateFormat,
    /// False when an existing version had the same content and nothing was created.
    pub created: bool,
}

/// One immutable stored version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    /// The template.
    pub name: String,
    /// The version number (1, 2, ...).
    pub version: i64,
    /// Output format.
    #[schema(value_type = Format)]
    pub format: TemplateFormat,
    /// Jinja source.
    pub source: String,
    /// SHA-256 of `source`.
    pub checksum: String,
    /// SHA-256 over the whole content (the idempotency key).
    pub content_checksum: String,
    /// Declared input JSON Schema.
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<Value>,
    /// Sample context checked at registration.
    #[schema(value_type = Option<Object>)]
    pub sample_context: Option<Value>,
    /// Effective sandbox limits.
    pub limits: LimitsView,
    /// Template this one extends.
    pub extends: Option<String>,
    /// Templates this one includes or imports.
    pub includes: Vec<String>,
    /// When the version was stored (RFC 3339).
    pub created_at: String,
}

/// A template's metadata and its active version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    /// The template.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The version renders use.
    pub active_version: i64,
    /// The newest stored version.
    pub latest_version: i64,
    /// When the template was first stored (RFC 3339).
    pub created_at: String,
    /// When a version was last created or activated (RFC 3339).
    pub updated_at: String,
    /// The active version.
    pub active: VersionView,
}

/// One entry of `GET /v1/templates`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSummary {
    /// The template.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The version renders use.
    pub active_version: i64,
    /// The newest stored version.
    pub latest_version: i64,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// A page of templates.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePage {
    /// Templates in name order.
    pub items: Vec<TemplateSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One entry of `GET /v1/templates/{name}/versions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionSummary {
    /// The version number.
    pub version: i64,
    /// Output format.
    #[schema(value_type = Format)]
    pub format: TemplateFormat,
    /// SHA-256 of the source.
    pub checksum: String,
    /// SHA-256 of the whole content.
    pub content_checksum: String,
    /// Whether renders use this version.
    pub active: bool,
    /// When it was stored (RFC 3339).
    pub created_at: String,
}

/// A page of versions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionPage {
    /// Versions, oldest first.
    pub items: Vec<VersionSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The result of a render.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RenderResponse {
    /// The rendered text.
    pub output: String,
    /// The template.
    pub name: String,
    /// The version that rendered.
    pub version: i64,
    /// Its format.
    #[schema(value_type = Format)]
    pub format: TemplateFormat,
}

/// One problem found in a template or a context. `line` is 1-based, 0 when the
/// problem has no position in a source (a schema violation).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TemplateProblem {
    /// Template the problem is in.
    pub template: String,
    /// 1-based line; 0 when not positional.
    pub line: u32,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// JSON Pointer into the context, for input schema violations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// The result of `POST /v1/validate`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateResponse {
    /// True when there are no errors.
    pub valid: bool,
    /// Every problem found.
    pub errors: Vec<TemplateProblem>,
}

/// Name and version of a bundle's root.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct BundleRoot {
    /// The template.
    pub name: String,
    /// The version.
    pub version: i64,
}

/// One template of a bundle.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BundleTemplate {
    /// Name (as used in `include`/`extends`).
    pub name: String,
    /// Version.
    pub version: i64,
    /// Output format.
    #[schema(value_type = Format)]
    pub format: TemplateFormat,
    /// Jinja source.
    pub source: String,
    /// SHA-256 of `source`.
    pub checksum: String,
    /// Effective limits of this version.
    pub limits: LimitsView,
    /// Template this one extends.
    pub extends: Option<String>,
    /// Templates this one includes or imports.
    pub includes: Vec<String>,
}

/// A root version and everything it needs to render, at the active versions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Bundle {
    /// The template to render.
    pub root: BundleRoot,
    /// The root first, then its dependencies in name order.
    pub templates: Vec<BundleTemplate>,
}
