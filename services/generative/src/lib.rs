//! The generative worker's library: it runs one ContentPipeline definition.
//!
//! # Layout
//!
//! - [`definition`]: loads the pipeline definition (a `ContentPipelineSpec`, YAML or JSON)
//!   from the file the operator mounts, with its checksum; [`watch`] reloads it on change.
//! - [`graph`]: the component graph built from `spec.components` (edges are `inputs`):
//!   unknown inputs, duplicate names and cycles rejected, topological order, output; the
//!   body graph of each loop (Repeat component) built and checked the same way.
//! - [`render`]: the [`Renderer`] trait the template engine implements.
//! - [`backends`]: the I/O the components need ([`DocumentStore`], [`Cache`],
//!   [`Publisher`]) as traits; MongoDB, Redis and RabbitMQ implement them.
//! - [`llm`]: an OpenAI-compatible chat-completions client with timeouts, retries with
//!   backoff, a fallback endpoint and token/cost accounting.
//! - [`components`]: the [`Component`] trait and one implementation per component type.
//! - [`executor`]: runs the graph for one request, with a per-component trace and
//!   [`Checkpoints`] so a resumed run skips the components it already completed; loops
//!   run their body per iteration until their condition holds or their run cap is hit.
//! - [`events`]: the analytics event every generation emits.
//! - [`json`]: small JSON helpers (dotted paths, `{{ path }}` interpolation, merging).
//! - [`adapters`]: the real backends: MongoDB documents, checkpoints, jobs and results;
//!   the Redis cache; the RabbitMQ publisher (confirms) and job queue topology.
//! - [`templates`]: [`templates::TemplateCatalog`], the [`Renderer`] over the template
//!   engine, compiled from the template service's bundles.
//! - [`service`]: the worker service: configuration, HTTP API, asynchronous jobs.
//! - [`testing`]: in-memory backends, a trivial renderer and [`testing::MockOpenAi`], a local
//!   chat-completions server, for this crate's tests and the service's.

#![forbid(unsafe_code)]

pub mod adapters;
pub mod backends;
pub mod components;
pub mod definition;
pub mod events;
pub mod executor;
pub mod graph;
pub mod json;
pub mod llm;
pub mod render;
pub mod service;
pub mod templates;
pub mod testing;
pub mod watch;

pub use backends::{BackendError, Cache, DocumentStore, Message, Publisher};
pub use components::{
    Backends, Component, ComponentError, ComponentInfo, ComponentOutput, Delta, DeltaSink,
    RunContext,
};
pub use definition::{Definition, DefinitionError};
pub use events::GenerationEvent;
pub use executor::{Checkpoint, Checkpoints, Executor, RunError, RunResult, TraceEntry};
pub use graph::{Graph, GraphError};
pub use llm::{LlmClient, LlmConfig, LlmError, Secret};
pub use render::{RenderError, Rendered, Renderer};

/// Every error the library returns, for callers that handle them together.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline definition could not be loaded.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// The component graph is invalid.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A component of the definition cannot be built (bad configuration, missing backend).
    #[error("component {component} cannot be built")]
    Build {
        /// Name of the component.
        component: String,
        /// What is wrong with it (boxed: component errors are large).
        #[source]
        source: Box<ComponentError>,
    },
    /// A pipeline run failed.
    #[error(transparent)]
    Run(Box<RunError>),
}

impl From<RunError> for Error {
    fn from(e: RunError) -> Self {
        Error::Run(Box::new(e))
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
