//! Loops in the pipeline graph: a `Repeat` component runs a small body of components again
//! and again until a JMESPath condition over an iteration's outputs holds, at most
//! `maxIterations` times (the run cap), for "generate, check, regenerate" pipelines.
//!
//! (The block is `repeat`, not `loop`: `loop` is a reserved word of CEL, the language of the
//! CRD's validation rules, where it could only be spelled `__loop__`.)

use super::components::{
    Component, ComponentType, LlmCompletion, LookupDocument, Publish, RenderTemplate, Store,
    TransformJson, ValidateContext,
};
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A loop over a body of components.
///
/// Every iteration runs the whole body in dependency order. A body component's `inputs` may
/// name other body components (this iteration's outputs), components of the pipeline (which
/// then run before the loop), or the Repeat component itself: the previous iteration, as
/// `{iteration: n, <body component>: <its output>, ...}` (only `{iteration: 0}` before the
/// first). A body component without inputs receives the Repeat component's input.
///
/// After each iteration `until` is evaluated over that same object for this iteration; the
/// loop ends when it is true. The Repeat component's output is
/// `{output: <the output component's last output>, iterations: n, conditionMet: bool}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.output) || self.components.exists(c, c.name == self.output)").message("repeat.output must name a component of the loop's body").field_path(".output"))]
pub struct Repeat {
    /// The body, run once per iteration; names are unique in the whole pipeline.
    #[schemars(length(min = 1, max = 8))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub components: Vec<BodyComponent>,
    /// Body component whose output is an iteration's output; defaults to the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub output: Option<String>,
    /// JMESPath condition over `{iteration: n, <body component>: <its output>, ...}`; the loop
    /// stops after the first iteration where it is true (JMESPath truthiness).
    #[schemars(length(min = 1, max = 4_096))]
    pub until: String,
    /// The run cap: iterations at most.
    #[serde(default = "default_max_iterations")]
    #[schemars(range(min = 1, max = 20))]
    pub max_iterations: i32,
    /// What happens when the cap is reached and `until` never held.
    #[serde(default)]
    pub on_cap_reached: OnCapReached,
}

fn default_max_iterations() -> i32 {
    3
}

/// What a loop does when it reaches `maxIterations` without its condition holding.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum OnCapReached {
    /// The run fails, naming the loop and its cap.
    #[default]
    Fail,
    /// The last iteration's output is used (`conditionMet` is false).
    UseLast,
}

/// A component of a loop's body: the pipeline's component types but Cache (it caches the
/// pipeline's result) and Repeat (loops do not nest).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(self.type == 'ValidateContext') == has(self.validateContext)").message("validateContext is set exactly when type is ValidateContext"))]
#[x_kube(validation = Rule::new("(self.type == 'LookupDocument') == has(self.lookupDocument)").message("lookupDocument is set exactly when type is LookupDocument"))]
#[x_kube(validation = Rule::new("(self.type == 'RenderTemplate') == has(self.renderTemplate)").message("renderTemplate is set exactly when type is RenderTemplate"))]
#[x_kube(validation = Rule::new("(self.type == 'LlmCompletion') == has(self.llmCompletion)").message("llmCompletion is set exactly when type is LlmCompletion"))]
#[x_kube(validation = Rule::new("(self.type == 'TransformJson') == has(self.transformJson)").message("transformJson is set exactly when type is TransformJson"))]
#[x_kube(validation = Rule::new("(self.type == 'Publish') == has(self.publish)").message("publish is set exactly when type is Publish"))]
#[x_kube(validation = Rule::new("(self.type == 'Store') == has(self.store)").message("store is set exactly when type is Store"))]
#[x_kube(validation = Rule::new("!has(self.inputs) || !(self.name in self.inputs)").message("a component cannot be its own input").field_path(".inputs"))]
#[x_kube(validation = Rule::new("self.name != 'iteration'").message("iteration is reserved in a loop's body (the iteration number)").field_path(".name"))]
pub struct BodyComponent {
    /// Name, unique in the pipeline; other body components list it in `inputs`.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// What the component does.
    #[serde(rename = "type")]
    pub type_: BodyComponentType,
    /// Body components, pipeline components or the loop itself (the previous iteration)
    /// whose outputs this one reads; empty means the loop's input.
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
    /// Configuration of a Publish component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Publish>,
    /// Configuration of a Store component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Store>,
}

/// Kinds of loop body component: those of the pipeline but Cache and Repeat.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum BodyComponentType {
    /// Check the input against a JSON Schema and fill defaults.
    ValidateContext,
    /// Load a document from MongoDB into the input.
    LookupDocument,
    /// Render one of the pipeline's templates.
    RenderTemplate,
    /// Ask an OpenAI-compatible model for a completion.
    LlmCompletion,
    /// Reshape JSON with a JMESPath expression.
    TransformJson,
    /// Publish the result as a message to RabbitMQ.
    Publish,
    /// Store the result in the pipeline's MongoDB database.
    Store,
}

impl From<BodyComponentType> for ComponentType {
    fn from(t: BodyComponentType) -> Self {
        match t {
            BodyComponentType::ValidateContext => Self::ValidateContext,
            BodyComponentType::LookupDocument => Self::LookupDocument,
            BodyComponentType::RenderTemplate => Self::RenderTemplate,
            BodyComponentType::LlmCompletion => Self::LlmCompletion,
            BodyComponentType::TransformJson => Self::TransformJson,
            BodyComponentType::Publish => Self::Publish,
            BodyComponentType::Store => Self::Store,
        }
    }
}

impl From<&BodyComponent> for Component {
    /// The body component as a pipeline component (same name, type, inputs and block), so
    /// the worker builds both the same way.
    fn from(b: &BodyComponent) -> Self {
        Component {
            name: b.name.clone(),
            type_: b.type_.into(),
            inputs: b.inputs.clone(),
            validate_context: b.validate_context.clone(),
            lookup_document: b.lookup_document.clone(),
            render_template: b.render_template.clone(),
            llm_completion: b.llm_completion.clone(),
            transform_json: b.transform_json.clone(),
            cache: None,
            publish: b.publish.clone(),
            store: b.store.clone(),
            repeat: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_the_cap_and_converts_body_components() {
        let repeat: Repeat = serde_json::from_value(json!({
            "until": "check.ok",
            "components": [{"name": "draft", "type": "TransformJson", "inputs": ["refine"],
                            "transformJson": {"expression": "@"}}]
        }))
        .expect("a Repeat");
        assert_eq!(repeat.max_iterations, 3);
        assert_eq!(repeat.on_cap_reached, OnCapReached::Fail);
        let component = Component::from(&repeat.components[0]);
        assert_eq!(component.type_, ComponentType::TransformJson);
        assert_eq!(component.inputs, ["refine"]);
        assert!(component.transform_json.is_some() && component.repeat.is_none());
    }
}
