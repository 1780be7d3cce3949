//! The analytics event every generation emits to the events exchange: pipeline, version,
//! template versions, latency, cache hit, tokens, cost and outcome.

use crate::backends::Message;
use crate::components::ComponentError;
use crate::executor::{RunError, RunResult, Status};
use crate::llm::Usage;
use machina_crds::content_pipeline::ComponentType;
use serde::Serialize;
use std::collections::BTreeMap;

/// Routing key of generation events unless the service configures another.
pub const GENERATION_ROUTING_KEY: &str = "analytics.generation";

/// How a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The content was generated (or served from the cache).
    Succeeded,
    /// The request was invalid.
    Rejected,
    /// A component or a dependency failed.
    Failed,
}

/// One generation, for analytics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationEvent {
    /// The run.
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Definition version.
    pub version: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The component that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_component: Option<String>,
    /// Wall time.
    pub latency_ms: f64,
    /// Whether the cache served the result.
    pub cache_hit: bool,
    /// Whether the run resumed from checkpoints.
    pub resumed: bool,
    /// Template version rendered, by RenderTemplate component.
    pub template_versions: BTreeMap<String, i64>,
    /// Tokens used.
    pub usage: Usage,
    /// Cost of the tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl GenerationEvent {
    /// The event of a successful run.
    pub fn succeeded(result: &RunResult) -> Self {
        let template_versions = result
            .trace
            .iter()
            .filter(|e| e.kind == ComponentType::RenderTemplate && e.status != Status::Skipped)
            .filter_map(|e| Some((e.name.clone(), e.info.template_version?)))
            .collect();
        Self {
            run_id: result.run_id.clone(),
            pipeline: result.pipeline.clone(),
            version: result.version.clone(),
            outcome: Outcome::Succeeded,
            failed_component: None,
            latency_ms: result.duration_ms,
            cache_hit: result.cache_hit,
            resumed: result.resumed,
            template_versions,
            usage: result.usage,
            cost: result.cost,
        }
    }

    /// The event of a failed run of `pipeline` at `version`.
    pub fn failed(
        run_id: &str,
        pipeline: &str,
        version: &str,
        error: &RunError,
        latency_ms: f64,
    ) -> Self {
        let (outcome, failed_component) = match error {
            RunError::Component {
                component,
                source: ComponentError::InvalidContext { .. },
                ..
            } => (Outcome::Rejected, Some(component.clone())),
            RunError::Component { component, .. } | RunError::LoopCapReached { component, .. } => {
                (Outcome::Failed, Some(component.clone()))
            }
            RunError::Checkpoint { .. } => (Outcome::Failed, None),
        };
        Self {
            run_id: run_id.to_owned(),
            pipeline: pipeline.to_owned(),
            version: version.to_owned(),
            outcome,
            failed_component,
            latency_ms,
            cache_hit: false,
            resumed: false,
            template_versions: BTreeMap::new(),
            usage: Usage::default(),
            cost: None,
        }
    }

    /// The event as a message to the events exchange with `routing_key`.
    pub fn message(&self, routing_key: &str) -> Message {
        Message {
            exchange: None,
            routing_key: routing_key.to_owned(),
            message_id: format!("{}:generation", self.run_id),
            payload: serde_json::to_value(self).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::ComponentInfo;
    use crate::executor::TraceEntry;
    use serde_json::json;

    fn mk_entry(
        name: &str,
        kind: ComponentType,
        status: Status,
        version: Option<i64>,
    ) -> TraceEntry {
        TraceEntry {
            name: name.into(),
            kind,
            status,
            duration_ms: 1.0,
            loop_name: None,
            iteration: None,
            info: ComponentInfo {
                template_version: version,
                ..ComponentInfo::default()
            },
        }
    }

    #[test]
    fn a_success_carries_template_versions_and_accounting() {
        let result = RunResult {
            run_id: "r".into(),
            pipeline: "p".into(),
            version: "v".into(),
            output: json!("x"),
            cache_hit: false,
            resumed: true,
            usage: Usage {
                prompt_tokens: 1,
                completion_tokens: 2,
                total_tokens: 3,
            },
            cost: Some(0.5),
            duration_ms: 12.0,
            trace: vec![
                mk_entry(
                    "prompt",
                    ComponentType::RenderTemplate,
                    Status::Resumed,
                    Some(3),
                ),
                mk_entry("page", ComponentType::RenderTemplate, Status::Ran, Some(7)),
                mk_entry(
                    "other",
                    ComponentType::RenderTemplate,
                    Status::Skipped,
                    None,
                ),
            ],
        };
        let event = GenerationEvent::succeeded(&result);
        assert_eq!(event.outcome, Outcome::Succeeded);
        assert_eq!(
            event.template_versions,
            BTreeMap::from([("page".into(), 7), ("prompt".into(), 3)])
        );
        let message = event.message(GENERATION_ROUTING_KEY);
        assert_eq!(message.message_id, "r:generation");
        assert_eq!(message.payload["templateVersions"]["page"], 7);
        assert_eq!(message.payload["cost"], 0.5);
    }

    #[test]
    fn an_invalid_context_is_rejected_and_other_failures_failed() {
        let invalid = RunError::Component {
            component: "request".into(),
            kind: ComponentType::ValidateContext,
            source: ComponentError::InvalidContext { violations: vec![] },
        };
        let event = GenerationEvent::failed("r", "p", "v", &invalid, 1.0);
        assert_eq!(
            (event.outcome, event.failed_component.as_deref()),
            (Outcome::Rejected, Some("request"))
        );
        let failed = RunError::Component {
            component: "copy".into(),
            kind: ComponentType::LlmCompletion,
            source: ComponentError::Config("x".into()),
        };
        let event = GenerationEvent::failed("r", "p", "v", &failed, 1.0);
        assert_eq!(event.outcome, Outcome::Failed);
        assert_eq!(event.message("k").payload["failedComponent"], "copy");
    }
}
