//! The component graph of a pipeline: one typed configuration block per component type.

pub use super::repeat::{BodyComponent, BodyComponentType, OnCapReached, Repeat};

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One step of the pipeline; exactly the block matching `type` is set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(self.type == 'ValidateContext') == has(self.validateContext)").message("validateContext is set exactly when type is ValidateContext"))]
#[x_kube(validation = Rule::new("(self.type == 'LookupDocument') == has(self.lookupDocument)").message("lookupDocument is set exactly when type is LookupDocument"))]
#[x_kube(validation = Rule::new("(self.type == 'RenderTemplate') == has(self.renderTemplate)").message("renderTemplate is set exactly when type is RenderTemplate"))]
#[x_kube(validation = Rule::new("(self.type == 'LlmCompletion') == has(self.llmCompletion)").message("llmCompletion is set exactly when type is LlmCompletion"))]
#[x_kube(validation = Rule::new("(self.type == 'TransformJson') == has(self.transformJson)").message("transformJson is set exactly when type is TransformJson"))]
#[x_kube(validation = Rule::new("(self.type == 'Cache') == has(self.cache)").message("cache is set exactly when type is Cache"))]
#[x_kube(validation = Rule::new("(self.type == 'Publish') == has(self.publish)").message("publish is set exactly when type is Publish"))]
#[x_kube(validation = Rule::new("(self.type == 'Store') == has(self.store)").message("store is set exactly when type is Store"))]
#[x_kube(validation = Rule::new("(self.type == 'Repeat') == has(self.repeat)").message("repeat is set exactly when type is Repeat"))]
#[x_kube(validation = Rule::new("!has(self.inputs) || !(self.name in self.inputs)").message("a component cannot be its own input").field_path(".inputs"))]
pub struct Component {
    /// Name, unique in the pipeline; other components list it in `inputs`.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// What the component does.
    #[serde(rename = "type")]
    pub type_: ComponentType,
    /// Components whose outputs this one reads; empty means the request context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), inner(length(min = 1, max = 63)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub inputs: Vec<String>,
    /// Configuration of a ValidateContext component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_context: Option<ValidateContext>,
    /// Configuration of a LookupDocument component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_document: Option<LookupDocument>,
    /// Configuration of a RenderTemplate component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_template: Option<RenderTemplate>,
    /// Configuration of an LlmCompletion component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_completion: Option<LlmCompletion>,
    /// Configuration of a TransformJson component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform_json: Option<TransformJson>,
    /// Configuration of a Cache component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<Cache>,
    /// Configuration of a Publish component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Publish>,
    /// Configuration of a Store component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Store>,
    /// Configuration of a Repeat component: a loop running a body of components again until
    /// `until` holds over an iteration's outputs, at most `maxIterations` times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
}

/// Kinds of pipeline component.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ComponentType {
    /// Check the request context against a JSON Schema and fill defaults.
    ValidateContext,
    /// Load a document from MongoDB into the context.
    LookupDocument,
    /// Render one of the pipeline's templates.
    RenderTemplate,
    /// Ask an OpenAI-compatible model for a completion.
    LlmCompletion,
    /// Reshape JSON with a JMESPath expression.
    TransformJson,
    /// Serve the result of its inputs from Redis while fresh.
    Cache,
    /// Publish the result as a message to RabbitMQ.
    Publish,
    /// Store the result in the pipeline's MongoDB database.
    Store,
    /// A loop: run a body of components again until a condition holds, at most
    /// `maxIterations` times.
    Repeat,
}

/// Context validation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidateContext {
    /// JSON Schema of the request context.
    #[schemars(schema_with = "crate::common::free_form_object")]
    pub schema: serde_json::Value,
    /// Values merged under the context before validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::optional_free_form_object")]
    pub defaults: Option<serde_json::Value>,
}

/// Document lookup in MongoDB.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LookupDocument {
    /// Database to read; defaults to the pipeline's own (others must be in `mongodb.readDatabases`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), pattern(r"^[A-Za-z0-9_-]+$"))]
    pub database: Option<String>,
    /// Collection to read.
    #[schemars(length(min = 1, max = 120), pattern(r"^[A-Za-z_][A-Za-z0-9_.-]*$"))]
    pub collection: String,
    /// Query filter; string values may reference the context as `{{ context.path }}`.
    #[schemars(schema_with = "crate::common::free_form_object")]
    pub filter: serde_json::Value,
    /// Context key the document is stored under.
    #[schemars(length(min = 1, max = 63), pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub into: String,
    /// Fail the request when no document matches (otherwise the key is null).
    #[serde(default = "default_true")]
    pub required: bool,
}

fn default_true() -> bool {
    true
}

/// Template rendering.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenderTemplate {
    /// Local name of a template in `spec.templates`.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub template: String,
}

/// LLM completion.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmCompletion {
    /// Model; defaults to `spec.llm.model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub model: Option<String>,
    /// System prompt (a template string over the context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32_768))]
    pub system_prompt: Option<String>,
    /// Largest completion, in tokens.
    #[serde(default = "default_max_tokens")]
    #[schemars(range(min = 1, max = 200_000))]
    pub max_tokens: i32,
    /// Sampling temperature.
    #[serde(default = "default_temperature")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: f64,
    /// Ask for a JSON object as the answer.
    #[serde(default)]
    pub json_mode: bool,
}

fn default_max_tokens() -> i32 {
    512
}

fn default_temperature() -> f64 {
    0.7
}

/// JSON transform.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransformJson {
    /// JMESPath expression applied to the inputs.
    #[schemars(length(min = 1, max = 4_096))]
    pub expression: String,
}

/// Result cache in the pipeline's Redis.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cache {
    /// How long a cached result is served.
    #[serde(default = "default_ttl")]
    #[schemars(range(min = 1, max = 2_592_000))]
    pub ttl_seconds: i32,
    /// Context paths the cache key is built from; empty means the whole context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), inner(length(min = 1, max = 256)))]
    pub key: Vec<String>,
}

fn default_ttl() -> i32 {
    3_600
}

/// Publication of the result to RabbitMQ.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Publish {
    /// Exchange; defaults to the Platform's events exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9_.:-]+$"))]
    pub exchange: Option<String>,
    /// Routing key of the message.
    #[schemars(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9_.:-]+$"))]
    pub routing_key: String,
}

/// Storage of the result in MongoDB.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    /// Collection in the pipeline's database.
    #[schemars(length(min = 1, max = 120), pattern(r"^[A-Za-z_][A-Za-z0-9_.-]*$"))]
    pub collection: String,
}
