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

mod checkpoints;
mod run;

pub use checkpoints::{Checkpoint, Checkpoints};

use crate::backends::{BackendError, Cache};
use crate::components::{self, Backends, Component, ComponentError, ComponentInfo};
use crate::definition::Definition;
use crate::graph::Graph;
use crate::llm::Usage;
use machina_crds::content_pipeline::ComponentType;
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
}

/// How a component took part in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    /// Component name.
    pub name: String,
    /// Component type.
    #[serde(rename = "type")]
    pub kind: ComponentType,
    /// Ran, resumed or skipped.
    pub status: Status,
    /// Time spent running it.
    pub duration_ms: f64,
    /// What it reported.
    #[serde(flatten)]
    pub info: ComponentInfo,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    /// The run's id.
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Definition version.
    pub version: String,
    /// The output component's output (or the cached result).
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
    /// Per-component trace, in execution order.
    pub trace: Vec<TraceEntry>,
}

/// Runs one pipeline definition; built once per definition, shared by requests.
#[derive(Debug)]
pub struct Executor {
    definition: Arc<Definition>,
    pipeline: String,
    graph: Graph,
    components: Vec<Box<dyn Component>>,
    cache: Option<Arc<dyn Cache>>,
    checkpoints: Option<Arc<dyn Checkpoints>>,
}

impl Executor {
    /// Validates the graph of `definition` and builds its components with `backends`.
    pub fn new(definition: Arc<Definition>, backends: &Backends) -> crate::Result<Self> {
        let spec = &definition.spec;
        let graph = Graph::build(&spec.components, spec.output.as_deref())?;
        let components = spec
            .components
            .iter()
            .map(|c| {
                components::build(c, backends).map_err(|source| crate::Error::Build {
                    component: c.name.clone(),
                    source: Box::new(source),
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(Self {
            pipeline: definition
                .name
                .clone()
                .unwrap_or_else(|| "pipeline".to_owned()),
            definition,
            graph,
            components,
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

    fn kind(&self, i: usize) -> ComponentType {
        self.definition.spec.components[i].type_
    }
}

#[cfg(test)]
mod tests;
