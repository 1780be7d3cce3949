//! The executor: runs a pipeline's components in topological order for one request.
//!
//! It goes in waves: every component whose inputs are settled runs in the same wave,
//! concurrently (within the request's task), so independent branches overlap.
//!
//! Each component receives the output of its single input, an object of its inputs'
//! outputs keyed by input name, or the request context when it has no inputs. The run
//! records a [`TraceEntry`] per component. With [`Checkpoints`], every completed component
//! (but Cache, which is cheap and must be re-evaluated) is saved, and a run with the same
//! id resumes: saved components are not run again. A Cache hit skips every component that
//! depends on the Cache component; on a miss the result is cached once the run completes.
//!
//! A Repeat component (a loop) runs its body the same way, once per iteration, until its
//! `until` condition holds or its cap is reached ([`repeat`]). Body components are traced
//! and checkpointed per iteration (`<loop>[<n>].<component>`), so a resumed run replays the
//! completed iterations from their checkpoints and goes on where the crash happened.

mod checkpoints;
mod repeat;
mod run;

pub use checkpoints::{Checkpoint, Checkpoints};

use crate::backends::{BackendError, Cache};
use crate::components::{self, Backends, Component, ComponentError, ComponentInfo};
use crate::definition::Definition;
use crate::graph::Graph;
use crate::llm::Usage;
use machina_crds::content_pipeline::ComponentType;
use repeat::RepeatNode;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A component failed.
    #[error("component {component} failed: {source}")]
    Component {
        /// Its name.
        component: String,
        /// Its type.
        kind: ComponentType,
        /// What went wrong.
        #[source]
        source: ComponentError,
    },
    /// A loop reached its cap without its condition holding (and `onCapReached: Fail`).
    #[error(
        "loop {component} reached its cap of {max_iterations} iterations without its until condition holding"
    )]
    LoopCapReached {
        /// The Repeat component.
        component: String,
        /// Its `maxIterations`.
        max_iterations: u32,
    },
    /// Checkpoints could not be loaded or saved.
    #[error("checkpoints of run {run_id} failed: {source}")]
    Checkpoint {
        /// The run.
        run_id: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },
}

impl RunError {
    /// Whether the client caused the failure (an invalid context), as opposed to the
    /// pipeline or a dependency.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Self::Component {
                source: ComponentError::InvalidContext { .. },
                ..
            }
        )
    }

    /// Whether running again cannot succeed: an invalid context, or a loop at its cap (a
    /// resumed run replays the same iterations from their checkpoints).
    pub fn is_permanent(&self) -> bool {
        self.is_client_error() || matches!(self, Self::LoopCapReached { .. })
    }
}

/// How a component took part in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// It ran.
    Ran,
    /// Its output came from a checkpoint of an earlier attempt of the run.
    Resumed,
    /// It was skipped because a Cache component it depends on hit.
    Skipped,
}

/// One component's part in a run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    /// Component name.
    pub name: String,
    /// Component type.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "LlmCompletion")]
    pub kind: ComponentType,
    /// Ran, resumed or skipped.
    pub status: Status,
    /// Time spent running it.
    pub duration_ms: f64,
    /// The loop (Repeat component) whose body it belongs to.
    #[serde(rename = "loop", skip_serializing_if = "Option::is_none")]
    pub loop_name: Option<String>,
    /// The loop's iteration it ran in (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u32>,
    /// What it reported.
    #[serde(flatten)]
    pub info: ComponentInfo,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    /// The run's id.
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Definition version.
    pub version: String,
    /// The output component's output (or the cached result): any JSON.
    pub output: Value,
    /// Whether a Cache component served the result.
    pub cache_hit: bool,
    /// Whether some components were resumed from checkpoints.
    pub resumed: bool,
    /// Tokens of all LLM calls of the run (resumed ones included).
    pub usage: Usage,
    /// Cost of those tokens, when the provider has prices.
    pub cost: Option<f64>,
    /// Wall time of this attempt.
    pub duration_ms: f64,
    /// Per-component trace, in execution order; a loop's body components appear once per
    /// iteration (with `loop` and `iteration`), before the loop's own entry.
    pub trace: Vec<TraceEntry>,
}

/// Runs one pipeline definition; built once per definition, shared by requests.
#[derive(Debug)]
pub struct Executor {
    definition: Arc<Definition>,
    pipeline: String,
    graph: Graph,
    nodes: Vec<Node>,
    kinds: Vec<ComponentType>,
    cache: Option<Arc<dyn Cache>>,
    checkpoints: Option<Arc<dyn Checkpoints>>,
}

impl Executor {
    /// Validates the graph of `definition` and builds its components with `backends`.
    pub fn new(definition: Arc<Definition>, backends: &Backends) -> crate::Result<Self> {
        let spec = &definition.spec;
        let graph = Graph::build(&spec.components, spec.output.as_deref())?;
        let nodes = spec
            .components
            .iter()
            .map(|c| Node::build(c, backends))
            .collect::<crate::Result<Vec<_>>>()?;
        let kinds = spec.components.iter().map(|c| c.type_).collect();
        Ok(Self {
            pipeline: definition
                .name
                .clone()
                .unwrap_or_else(|| "pipeline".to_owned()),
            definition,
            graph,
            nodes,
            kinds,
            cache: backends.cache.clone(),
            checkpoints: None,
        })
    }

    /// This executor, saving and resuming runs with `checkpoints`.
    pub fn with_checkpoints(mut self, checkpoints: Arc<dyn Checkpoints>) -> Self {
        self.checkpoints = Some(checkpoints);
        self
    }

    /// This executor, naming the pipeline `name` (when the definition does not).
    pub fn with_pipeline_name(mut self, name: impl Into<String>) -> Self {
        self.pipeline = name.into();
        self
    }

    /// The pipeline's name.
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// The definition it runs.
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// The component graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
}

/// How one component of a graph runs.
#[derive(Debug)]
enum Node {
    /// A component that runs once per pass over its graph.
    Step(Box<dyn Component>),
    /// A loop over a body of nodes.
    Repeat(RepeatNode),
}

impl Node {
    /// The node of `spec`, built with `backends`.
    fn build(
        spec: &machina_crds::content_pipeline::Component,
        backends: &Backends,
    ) -> crate::Result<Self> {
        if spec.type_ == ComponentType::Repeat {
            return RepeatNode::build(spec, backends).map(Node::Repeat);
        }
        components::build(spec, backends)
            .map(Node::Step)
            .map_err(|source| crate::Error::Build {
                component: spec.name.clone(),
                source: Box::new(source),
            })
    }
}

#[cfg(test)]
mod repeat_tests;
#[cfg(test)]
mod tests;
