//! Pipeline components: the [`Component`] trait, what a component returns, and
//! [`build`], which turns a spec component into its implementation.
//!
//! One module per component type. A component receives its input (the output of its single
//! input, an object of its inputs' outputs keyed by name, or the request context when it
//! has none) and returns a JSON output plus [`ComponentInfo`] for the trace.

mod cache;
mod llm;
mod lookup;
mod publish;
mod render;
mod store;
mod transform;
mod validate;

pub use cache::CacheComponent;
pub use llm::LlmComponent;
pub use lookup::LookupComponent;
pub use publish::PublishComponent;
pub use render::RenderComponent;
pub use store::StoreComponent;
pub use transform::TransformComponent;
pub use validate::{ValidateComponent, Violation};

use crate::backends::{BackendError, Cache, DocumentStore, Publisher};
use crate::llm::{LlmClient, LlmError, Usage};
use crate::render::{RenderError, Renderer};
use async_trait::async_trait;
use machina_crds::content_pipeline::{Component as ComponentSpec, ComponentType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// Text an LlmCompletion component received, streamed while the run goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// The component.
    pub component: String,
    /// The new text.
    pub text: String,
}

/// Where streamed [`Delta`]s go; bounded by the components' `maxTokens`.
pub type DeltaSink = tokio::sync::mpsc::UnboundedSender<Delta>;

/// What a component knows about the run it is part of.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Id of the run (the job id for asynchronous jobs); stable across resumes.
    pub run_id: String,
    /// Name of the pipeline.
    pub pipeline: String,
    /// Version of the definition (its short checksum).
    pub version: String,
    /// The request context as the client sent it.
    pub request: Value,
    /// When set, LlmCompletion components stream their answers here as they come.
    pub deltas: Option<DeltaSink>,
}

/// Whether a Cache component found a fresh result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum CacheOutcome {
    /// Served from the cache: the components that depend on this one are skipped.
    Hit,
    /// Not cached: the pipeline's result is stored under `key` for `ttl_seconds`.
    #[serde(rename_all = "camelCase")]
    Miss {
        /// Cache key.
        key: String,
        /// Time to live.
        ttl_seconds: u64,
    },
}

/// What a component reports for the trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentInfo {
    /// Cache lookup outcome (Cache components).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheOutcome>,
    /// Tokens used (LlmCompletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Cost of the tokens (LlmCompletion with prices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Model that answered (LlmCompletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// HTTP calls made (LlmCompletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Whether the fallback endpoint answered (LlmCompletion).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fallback_used: bool,
    /// Template version rendered (RenderTemplate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_version: Option<i64>,
    /// Id of the stored document (Store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// Iterations run (Repeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u32>,
    /// Whether the loop's `until` condition held, or it stopped at its cap (Repeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_met: Option<bool>,
}

/// A component's result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentOutput {
    /// The output its dependents receive.
    pub value: Value,
    /// Trace information.
    pub info: ComponentInfo,
}

impl ComponentOutput {
    /// An output without trace information.
    pub fn new(value: Value) -> Self {
        Self {
            value,
            info: ComponentInfo::default(),
        }
    }
}

/// Why a component failed.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// The request context does not match the schema (a client error).
    #[error("the context is invalid: {}", .violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidContext {
        /// Every violation, with its path.
        violations: Vec<Violation>,
    },
    /// The component's configuration is unusable (caught when the executor is built).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A backend the component needs was not provided.
    #[error("no {0} backend is configured")]
    MissingBackend(&'static str),
    /// A required document was not found.
    #[error("no document in {collection} matches {filter}")]
    NotFound {
        /// Collection searched.
        collection: String,
        /// The filter, after interpolation.
        filter: Value,
    },
    /// The JMESPath expression failed on the input.
    #[error("the transform failed: {0}")]
    Transform(String),
    /// An answer that should be JSON is not.
    #[error("the output is not valid JSON: {0}")]
    InvalidJson(String),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The LLM call failed.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// A backend call failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// One step of a pipeline.
#[async_trait]
pub trait Component: Send + Sync + std::fmt::Debug {
    /// Runs the component on `input` within the run `ctx`.
    async fn run(&self, ctx: &RunContext, input: Value) -> Result<ComponentOutput, ComponentError>;
}

/// The services components are built with; each is needed only by the component types
/// that use it.
#[derive(Debug, Clone, Default)]
pub struct Backends {
    /// Documents (LookupDocument, Store).
    pub documents: Option<Arc<dyn DocumentStore>>,
    /// Cache (Cache).
    pub cache: Option<Arc<dyn Cache>>,
    /// Publisher (Publish).
    pub publisher: Option<Arc<dyn Publisher>>,
    /// Renderer (RenderTemplate, system prompts).
    pub renderer: Option<Arc<dyn Renderer>>,
    /// LLM client (LlmCompletion).
    pub llm: Option<Arc<LlmClient>>,
}

fn need<T: ?Sized>(backend: &Option<Arc<T>>, name: &'static str) -> Result<Arc<T>, ComponentError> {
    backend.clone().ok_or(ComponentError::MissingBackend(name))
}

fn block<T: Clone>(block: &Option<T>, ty: ComponentType) -> Result<T, ComponentError> {
    block
        .clone()
        .ok_or_else(|| ComponentError::Config(format!("the {ty:?} block is missing")))
}

/// Builds the implementation of `spec` with `backends` (any type but Repeat).
pub fn build(
    spec: &ComponentSpec,
    backends: &Backends,
) -> Result<Box<dyn Component>, ComponentError> {
    let ty = spec.type_;
    Ok(match ty {
        ComponentType::ValidateContext => {
            Box::new(ValidateComponent::new(&block(&spec.validate_context, ty)?)?)
        }
        ComponentType::TransformJson => {
            Box::new(TransformComponent::new(&block(&spec.transform_json, ty)?)?)
        }
        ComponentType::RenderTemplate => Box::new(RenderComponent::new(
            block(&spec.render_template, ty)?,
            need(&backends.renderer, "renderer")?,
        )),
        ComponentType::LlmCompletion => Box::new(LlmComponent::new(
            &spec.name,
            block(&spec.llm_completion, ty)?,
            need(&backends.llm, "LLM")?,
            backends.renderer.clone(),
        )),
        ComponentType::LookupDocument => Box::new(LookupComponent::new(
            block(&spec.lookup_document, ty)?,
            need(&backends.documents, "document store")?,
        )),
        ComponentType::Cache => Box::new(
            CacheComponent::new(
                &spec.name,
                block(&spec.cache, ty)?,
                need(&backends.cache, "cache")?,
            )
            .with_renderer(backends.renderer.clone()),
        ),
        ComponentType::Store => Box::new(StoreComponent::new(
            &spec.name,
            block(&spec.store, ty)?,
            need(&backends.documents, "document store")?,
        )),
        ComponentType::Publish => Box::new(PublishComponent::new(
            &spec.name,
            block(&spec.publish, ty)?,
            need(&backends.publisher, "publisher")?,
        )),
        ComponentType::Repeat => {
            // A loop drives other components; the executor runs it (see executor::repeat).
            return Err(ComponentError::Config(
                "a Repeat component is run by the executor".to_owned(),
            ));
        }
    })
}

/// The document Store and Publish send: the content and where it came from.
fn envelope(ctx: &RunContext, component: &str, content: &Value) -> Value {
    serde_json::json!({
        "runId": ctx.run_id,
        "pipeline": ctx.pipeline,
        "version": ctx.version,
        "component": component,
        "content": content,
    })
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::RunContext;
    use serde_json::Value;

    /// A run context for component tests.
    pub fn mk_ctx(request: Value) -> RunContext {
        RunContext {
            run_id: "run-1".into(),
            pipeline: "product-copy".into(),
            version: "abc123".into(),
            request,
            deltas: None,
        }
    }
}
