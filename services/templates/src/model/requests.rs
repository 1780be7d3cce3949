//! Request bodies and queries.

use machina_template_engine::TemplateFormat;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Output format of a template (schema twin of the engine's `TemplateFormat`).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the wire format only
pub enum Format {
    /// Plain text, no escaping.
    Text,
    /// HTML, every interpolated value escaped.
    Html,
    /// Markdown text, no escaping.
    Markdown,
    /// JSON; values JSON-encoded, output must parse.
    Json,
}

/// Per-template sandbox limits; each one is capped by the service's defaults.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LimitsBody {
    /// Instructions one render may execute.
    pub fuel: Option<u64>,
    /// Maximum nesting of macro calls and includes.
    pub max_recursion_depth: Option<u32>,
    /// Largest output in bytes.
    pub max_output_bytes: Option<usize>,
}

/// What a version holds; the body of `PUT /v1/templates/{name}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateContent {
    /// Output format; decides escaping.
    #[schema(value_type = Format)]
    pub format: TemplateFormat,
    /// Jinja (MiniJinja) source text.
    pub source: String,
    /// What the template is for.
    #[serde(default)]
    pub description: Option<String>,
    /// JSON Schema every render context must satisfy.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<Value>,
    /// A context rendered when the version is registered; a failure rejects it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sample_context: Option<Value>,
    /// Overrides of the sandbox limits (capped by the service's defaults).
    #[serde(default)]
    pub limits: Option<LimitsBody>,
    /// Name of the stored template this one extends.
    #[serde(default)]
    pub extends: Option<String>,
    /// Names of stored templates this one includes or imports.
    #[serde(default)]
    pub includes: Vec<String>,
}

/// The body of `POST /v1/templates`: a name plus the fields of [`TemplateContent`].
///
/// The fields are spelled out rather than `#[serde(flatten)]`ed: flattening
/// buffers the input and loses the field path of a type error.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTemplate {
    /// DNS-1123 name (lowercase letters, digits, `-` and `.`; at most 253 characters).
    pub name: String,
    /// Output format; decides escaping.
    #[schema(value_type = Format)]
    pub format: TemplateFormat,
    /// Jinja (MiniJinja) source text.
    pub source: String,
    /// What the template is for.
    #[serde(default)]
    pub description: Option<String>,
    /// JSON Schema every render context must satisfy.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<Value>,
    /// A context rendered when the version is registered; a failure rejects it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sample_context: Option<Value>,
    /// Overrides of the sandbox limits (capped by the service's defaults).
    #[serde(default)]
    pub limits: Option<LimitsBody>,
    /// Name of the stored template this one extends.
    #[serde(default)]
    pub extends: Option<String>,
    /// Names of stored templates this one includes or imports.
    #[serde(default)]
    pub includes: Vec<String>,
}

impl CreateTemplate {
    /// The name and the version content.
    pub fn split(self) -> (String, TemplateContent) {
        (
            self.name,
            TemplateContent {
                format: self.format,
                source: self.source,
                description: self.description,
                input_schema: self.input_schema,
                sample_context: self.sample_context,
                limits: self.limits,
                extends: self.extends,
                includes: self.includes,
            },
        )
    }
}

/// The body of `POST /v1/templates/{name}/activate`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ActivateRequest {
    /// The stored version to make active.
    pub version: i64,
}

/// The body of `POST /v1/templates/{name}/render`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RenderRequest {
    /// The render context (a JSON object; `{}` when absent).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
    /// Render this version instead of the active one.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The body of `POST /v1/validate`: an optional name plus the fields of
/// [`TemplateContent`] (`name` defaults to `candidate`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidateRequest {
    /// Name the candidate is checked under (`candidate` by default).
    #[serde(default)]
    pub name: Option<String>,
    /// Output format; decides escaping.
    #[schema(value_type = Format)]
    pub format: TemplateFormat,
    /// Jinja (MiniJinja) source text.
    pub source: String,
    /// JSON Schema every render context must satisfy.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<Value>,
    /// A context to validate and render.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sample_context: Option<Value>,
    /// Overrides of the sandbox limits.
    #[serde(default)]
    pub limits: Option<LimitsBody>,
    /// Name of the stored template this one extends.
    #[serde(default)]
    pub extends: Option<String>,
    /// Names of stored templates this one includes or imports.
    #[serde(default)]
    pub includes: Vec<String>,
}

impl ValidateRequest {
    /// The name (`candidate` when absent) and the content.
    pub fn split(self) -> (String, TemplateContent) {
        (
            self.name.unwrap_or_else(|| "candidate".to_owned()),
            TemplateContent {
                format: self.format,
                source: self.source,
                description: None,
                input_schema: self.input_schema,
                sample_context: self.sample_context,
                limits: self.limits,
                extends: self.extends,
                includes: self.includes,
            },
        )
    }
}

/// Query of the paginated lists.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// Cursor: the `nextCursor` of the previous page.
    pub after: Option<String>,
}

/// Query of `GET /v1/templates/{name}/bundle`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct BundleQuery {
    /// Root version (the active one when absent).
    pub version: Option<i64>,
}
