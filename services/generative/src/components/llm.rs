//! LlmCompletion: asks the model with the input as the user prompt.
//!
//! A string input is the prompt as it is; any other input is sent as JSON text. The system
//! prompt is a template over `{context: <input>, request: <request context>}`. In JSON mode
//! the answer is parsed, so dependents receive an object. When the run has a delta sink,
//! the answer is streamed and its text forwarded to the sink as it comes.

use super::{Component, ComponentError, ComponentOutput, Delta, DeltaSink, RunContext};
use crate::llm::{ChatRequest, Completion, LlmClient, LlmError, StreamEvent};
use crate::render::Renderer;
use async_trait::async_trait;
use futures::StreamExt;
use machina_crds::content_pipeline::components::LlmCompletion;
use serde_json::{Value, json};
use std::sync::Arc;

/// The LlmCompletion component.
#[derive(Debug)]
pub struct LlmComponent {
    name: String,
    spec: LlmCompletion,
    client: Arc<LlmClient>,
    renderer: Option<Arc<dyn Renderer>>,
}

impl LlmComponent {
    /// A component named `name` asking `client` as `spec` says; `renderer` renders the
    /// system prompt.
    pub fn new(
        name: &str,
        spec: LlmCompletion,
        client: Arc<LlmClient>,
        renderer: Option<Arc<dyn Renderer>>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            spec,
            client,
            renderer,
        }
    }

    fn request(&self, ctx: &RunContext, input: &Value) -> Result<ChatRequest, ComponentError> {
        let system = match (&self.spec.system_prompt, &self.renderer) {
            (Some(source), Some(renderer)) => Some(
                renderer.render_str(source, &json!({"context": input, "request": ctx.request}))?,
            ),
            (system, None) => system.clone(),
            (None, Some(_)) => None,
        };
        let prompt = match input {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        Ok(ChatRequest {
            system,
            prompt,
            model: self.spec.model.clone(),
            max_tokens: u32::try_from(self.spec.max_tokens).unwrap_or(1).max(1),
            temperature: self.spec.temperature,
            json_mode: self.spec.json_mode,
        })
    }

    /// Streams the answer, forwarding its text to `sink`.
    async fn stream(
        &self,
        request: &ChatRequest,
        sink: &DeltaSink,
    ) -> Result<Completion, ComponentError> {
        let mut stream = self.client.complete_stream(request).await?;
        while let Some(event) = stream.next().await {
            match event? {
                StreamEvent::Delta(text) => {
                    // A gone receiver (client disconnected) must not fail the run.
                    let _ = sink.send(Delta {
                        component: self.name.clone(),
                        text,
                    });
                }
                StreamEvent::Done(completion) => return Ok(completion),
            }
        }
        Err(ComponentError::Llm(LlmError::InvalidResponse {
            url: self.client.config().primary.base_url.clone(),
            message: "the stream ended without a completion".to_owned(),
        }))
    }
}

#[async_trait]
impl Component for LlmComponent {
    async fn run(&self, ctx: &RunContext, input: Value) -> Result<ComponentOutput, ComponentError> {
        let request = self.request(ctx, &input)?;
        let completion = match &ctx.deltas {
            Some(sink) => self.stream(&request, sink).await?,
            None => self.client.complete(&request).await?,
        };
        let value = if self.spec.json_mode {
            serde_json::from_str(&completion.content)
                .map_err(|e| ComponentError::InvalidJson(e.to_string()))?
        } else {
            Value::String(completion.content)
        };
        let mut output = ComponentOutput::new(value);
        output.info.usage = Some(completion.usage);
        output.info.cost = completion.cost;
        output.info.model = Some(completion.model);
        output.info.attempts = Some(completion.attempts);
        output.info.fallback_used = completion.fallback_used;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::test_support::mk_ctx;
    use crate::llm::{Endpoint, LlmConfig, RetryPolicy};
    use crate::testing::{MockOpenAi, MockReply, TestRenderer};
    use std::time::Duration;

    fn mk_spec(json_mode: bool) -> LlmCompletion {
        LlmCompletion {
            model: None,
            system_prompt: Some("Write for {{ context.sku }}.".into()),
            max_tokens: 100,
            temperature: 0.2,
            json_mode,
        }
    }

    fn mk_client(mock: &MockOpenAi) -> Arc<LlmClient> {
        let mut primary = Endpoint::new(mock.base_url(), "gpt-test");
        primary.input_cost_per_million_tokens = Some(1_000_000.0);
        Arc::new(LlmClient::new(LlmConfig {
            primary,
            fallback: None,
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }))
    }

    #[tokio::test]
    async fn sends_the_prompts_and_parses_json_answers() {
        let mock = MockOpenAi::start().await.expect("mock starts");
        mock.push(MockReply::Content(r#"{"title": "Lamp"}"#.into()));
        let renderer: Arc<dyn Renderer> = Arc::new(TestRenderer::new());
        let component = LlmComponent::new("copy", mk_spec(true), mk_client(&mock), Some(renderer));
        let out = component
            .run(&mk_ctx(json!({})), json!({"sku": "ABC-123"}))
            .await
            .expect("completes");
        assert_eq!(out.value, json!({"title": "Lamp"}));
        assert_eq!(out.info.model.as_deref(), Some("gpt-test"));
        let usage = out.info.usage.expect("usage");
        assert_eq!(out.info.cost, Some(usage.prompt_tokens as f64));
        let body = &mock.requests()[0].body;
        assert_eq!(body["messages"][0]["content"], "Write for ABC-123.");
        assert_eq!(body["messages"][1]["content"], r#"{"sku":"ABC-123"}"#);
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["max_tokens"], 100);
    }

    #[tokio::test]
    async fn a_non_json_answer_in_json_mode_fails() {
        let mock = MockOpenAi::start().await.expect("mock starts");
        mock.push(MockReply::Content("not json".into()));
        let component = LlmComponent::new("copy", mk_spec(true), mk_client(&mock), None);
        let err = component
            .run(&mk_ctx(json!({})), json!("prompt"))
            .await
            .expect_err("not json");
        assert!(matches!(err, ComponentError::InvalidJson(_)), "{err}");
    }
}
