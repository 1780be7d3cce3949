//! Checkpoints: the outputs of a run's completed components, saved as the run goes so a
//! run that crashed resumes from its last completed component instead of redoing costly
//! LLM calls. The service stores them in MongoDB; tests use
//! [`crate::testing::MemoryCheckpoints`].

use crate::backends::BackendError;
use crate::components::ComponentInfo;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// The saved result of one completed component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Its output.
    pub output: Value,
    /// Its trace information (tokens and cost stay accounted for after a resume).
    pub info: ComponentInfo,
}

/// Where checkpoints are kept.
#[async_trait]
pub trait Checkpoints: Send + Sync + std::fmt::Debug {
    /// The checkpoints of run `run_id`, by component name.
    async fn load(&self, run_id: &str) -> Result<HashMap<String, Checkpoint>, BackendError>;

    /// Saves the checkpoint of `component` in run `run_id`.
    async fn save(
        &self,
        run_id: &str,
        component: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), BackendError>;

    /// Forgets the checkpoints of run `run_id` (once its result is stored).
    async fn clear(&self, run_id: &str) -> Result<(), BackendError>;
}
