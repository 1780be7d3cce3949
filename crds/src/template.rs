//! `Template` (`tpl`): a versioned, validated content template registered in the template
//! service of its Platform.

use crate::common::{DeletionPolicy, ObservedState, PlatformRef};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a Template: its source, inputs, relations and sandbox limits.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "machina.dev",
    version = "v1alpha1",
    kind = "Template",
    plural = "templates",
    shortname = "tpl",
    category = "machina",
    namespaced,
    status = "TemplateStatus",
    validation = Rule::new("!has(self.spec.extends) || self.spec.extends != self.metadata.name").message("a template cannot extend itself").field_path(".spec.extends"),
    validation = Rule::new("!has(self.spec.includes) || !(self.metadata.name in self.spec.includes)").message("a template cannot include itself").field_path(".spec.includes"),
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Format","type":"string","jsonPath":".spec.format"}"#,
    printcolumn = r#"{"name":"Active","type":"integer","jsonPath":".status.activeVersion"}"#,
    printcolumn = r#"{"name":"Latest","type":"integer","jsonPath":".status.latestVersion","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    /// The Platform whose template service stores this template.
    pub platform_ref: PlatformRef,
    /// What the template is for, shown to content authors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Output format; `Html` turns on auto-escaping, `Json` checks the output parses.
    #[serde(default)]
    pub format: TemplateFormat,
    /// Template source (MiniJinja / Jinja2 syntax).
    #[schemars(length(min = 1, max = 262_144))]
    pub source: String,
    /// Name of a Template in the same namespace this one extends (`{% extends %}` its blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub extends: Option<String>,
    /// Names of Templates in the same namespace this one includes or imports macros from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 32),
        inner(
            length(min = 1, max = 253),
            pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        )
    )]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub includes: Vec<String>,
    /// JSON Schema the render context must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::optional_free_form_object")]
    pub input_schema: Option<serde_json::Value>,
    /// A context rendered when the version is registered: a failure blocks activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::optional_free_form_object")]
    pub sample_context: Option<serde_json::Value>,
    /// Sandbox limits applied to every render of this template.
    #[serde(default)]
    pub limits: TemplateLimits,
    /// Activate this stored version instead of the newest one (roll back without editing `source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub pinned_version: Option<i64>,
    /// Whether the stored versions are retired when the Template is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Output format of a template.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum TemplateFormat {
    /// Plain text, no escaping.
    #[default]
    Text,
    /// HTML with auto-escaping of every interpolated value.
    Html,
    /// Markdown text (no escaping; `markdown` filter renders it to HTML).
    Markdown,
    /// JSON; values are JSON-encoded and the output must parse.
    Json,
}

/// Sandbox limits of the template engine.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateLimits {
    /// Instructions a render may execute before it is stopped.
    #[serde(default = "default_fuel")]
    #[schemars(range(min = 1_000, max = 1_000_000_000))]
    pub fuel: i64,
    /// Maximum nesting of includes, macros and recursion.
    #[serde(default = "default_depth")]
    #[schemars(range(min = 1, max = 500))]
    pub max_recursion_depth: i32,
    /// Largest output a render may produce.
    #[serde(default = "default_output")]
    #[schemars(range(min = 1_024, max = 67_108_864))]
    pub max_output_bytes: i64,
}

impl Default for TemplateLimits {
    fn default() -> Self {
        Self {
            fuel: default_fuel(),
            max_recursion_depth: default_depth(),
            max_output_bytes: default_output(),
        }
    }
}

fn default_fuel() -> i64 {
    1_000_000
}

fn default_depth() -> i32 {
    64
}

fn default_output() -> i64 {
    1_048_576
}

/// Observed state of a Template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateStatus {
    /// Observed generation and conditions.
    #[serde(flatten)]
    pub observed: ObservedState,
    /// Identifier of the template in the template service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// Version clients render now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_version: Option<i64>,
    /// Newest stored version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_version: Option<i64>,
    /// SHA-256 of the active version's source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Where the last compile failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_error: Option<CompileError>,
}

/// A compile error at a position of the source.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompileError {
    /// 1-based line.
    pub line: i32,
    /// 1-based column, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<i32>,
    /// What is wrong.
    pub message: String,
}
