//! The HTTP calls of [`LlmClient`]: one attempt, retries of an endpoint, fallback.
//!
//! A streamed call is retried and falls back the same way until the endpoint answers with
//! a success status; once the stream has started, errors end the stream.

use super::protocol::{
    ChatCompletionRequest, ChatCompletionResponse, ChatMessage, ResponseFormat, StreamOptions,
    Usage,
};
use super::stream::{CompletionStream, sse_stream};
use super::{ChatRequest, Completion, Endpoint, LlmConfig, LlmError, parse_retry_after};
use reqwest::header::RETRY_AFTER;

/// Longest error body kept in an [`LlmError::Status`].
const MAX_ERROR_BODY: usize = 512;

/// A chat-completions client over one primary and an optional fallback endpoint.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    config: LlmConfig,
}

/// A successful call, before it becomes a [`Completion`].
pub(super) struct Answer {
    pub(super) content: String,
    pub(super) model: String,
    pub(super) usage: Usage,
}

/// What a successful attempt returns.
enum Reply {
    /// The whole answer.
    Answer(Answer),
    /// The response of a streamed call, its status checked.
    Stream(reqwest::Response),
}

/// A successful attempt and how it was reached.
struct Success<'a> {
    reply: Reply,
    endpoint: &'a Endpoint,
    model: String,
    attempts: u32,
    fallback_used: bool,
}

impl LlmClient {
    /// A client for `config`.
    pub fn new(config: LlmConfig) -> Self {
        Self {
            // Cluster names resolve through the kit's hosts file where one is configured.
            http: machina_kit::hosts::apply(reqwest::Client::builder())
                .build()
                .unwrap_or_default(),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Asks for a completion: the primary endpoint with retries, then the fallback.
    #[tracing::instrument(skip_all)]
    pub async fn complete(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        let success = self.attempt_all(request, false).await?;
        match success.reply {
            Reply::Answer(answer) => Ok(completion(
                success.endpoint,
                answer,
                success.attempts,
                success.fallback_used,
            )),
            Reply::Stream(_) => Err(LlmError::InvalidResponse {
                url: success.endpoint.base_url.clone(),
                message: "a stream to a plain call".to_owned(),
            }),
        }
    }

    /// Asks for a streamed completion: text deltas as they come, then the [`Completion`].
    #[tracing::instrument(skip_all)]
    pub async fn complete_stream(
        &self,
        request: &ChatRequest,
    ) -> Result<CompletionStream, LlmError> {
        let success = self.attempt_all(request, true).await?;
        match success.reply {
            Reply::Stream(response) => Ok(sse_stream(
                response,
                success.endpoint.clone(),
                success.model,
                success.attempts,
                success.fallback_used,
            )),
            Reply::Answer(answer) => {
                let done = completion(
                    success.endpoint,
                    answer,
                    success.attempts,
                    success.fallback_used,
                );
                Ok(super::stream::finished(done))
            }
        }
    }

    /// The primary endpoint with retries, then the fallback the same way.
    async fn attempt_all(
        &self,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<Success<'_>, LlmError> {
        let mut attempts = 0;
        let primary = &self.config.primary;
        let model = request.model.as_deref().unwrap_or(&primary.model);
        let err = match self
            .with_retries(primary, model, request, stream, &mut attempts)
            .await
        {
            Ok(reply) => return Ok(success(reply, primary, model, attempts, false)),
            Err(err) => err,
        };
        let Some(fallback) = &self.config.fallback else {
            return Err(exhausted(attempts, err));
        };
        tracing::warn!(error = %err, fallback = %fallback.base_url, "primary LLM endpoint failed, trying the fallback");
        let model = &fallback.model;
        match self
            .with_retries(fallback, model, request, stream, &mut attempts)
            .await
        {
            Ok(reply) => Ok(success(reply, fallback, model, attempts, true)),
            Err(err) => Err(exhausted(attempts, err)),
        }
    }

    /// Calls `endpoint` until it answers, a non-retryable error, or retries run out.
    async fn with_retries(
        &self,
        endpoint: &Endpoint,
        model: &str,
        request: &ChatRequest,
        stream: bool,
        attempts: &mut u32,
    ) -> Result<Reply, LlmError> {
        let policy = self.config.retry;
        let mut retry = 0;
        loop {
            *attempts += 1;
            let err = match self.call(endpoint, model, request, stream).await {
                Ok(reply) => return Ok(reply),
                Err(err) => err,
            };
            if !err.is_retryable() || retry >= policy.max_retries {
                return Err(err);
            }
            let delay = policy.delay(retry, err.retry_after());
            tracing::info!(error = %err, retry, delay_ms = delay.as_millis() as u64, "retrying the LLM call");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    /// One HTTP call.
    async fn call(
        &self,
        endpoint: &Endpoint,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<Reply, LlmError> {
        let url = format!(
            "{}/v1/chat/completions",
            endpoint.base_url.trim_end_matches('/')
        );
        let mut builder = self
            .http
            .post(&url)
            .timeout(self.config.timeout)
            .json(&wire_request(model, request, stream));
        if let Some(key) = &endpoint.api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let response = builder.send().await.map_err(|e| self.transport(&url, e))?;
        let response = check_status(&url, response).await?;
        if stream {
            return Ok(Reply::Stream(response));
        }
        let body: ChatCompletionResponse = response.json().await.map_err(|e| {
            if e.is_timeout() {
                self.transport(&url, e)
            } else {
                LlmError::InvalidResponse {
                    url: url.clone(),
                    message: e.to_string(),
                }
            }
        })?;
        answer(url, model, body).map(Reply::Answer)
    }

    fn transport(&self, url: &str, source: reqwest::Error) -> LlmError {
        if source.is_timeout() {
            LlmError::Timeout {
                url: url.to_owned(),
                timeout: self.config.timeout,
            }
        } else {
            LlmError::Transport {
                url: url.to_owned(),
                source,
            }
        }
    }
}

/// The response when its status is a success, else an [`LlmError::Status`].
async fn check_status(
    url: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response, LlmError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = response.text().await.unwrap_or_default();
    Err(LlmError::Status {
        url: url.to_owned(),
        status: status.as_u16(),
        retry_after,
        body: truncate(body),
    })
}

fn wire_request(model: &str, request: &ChatRequest, stream: bool) -> ChatCompletionRequest {
    let message = |role: &str, content: &str| ChatMessage {
        role: role.to_owned(),
        content: content.to_owned(),
    };
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = &request.system {
        messages.push(message("system", system));
    }
    messages.push(message("user", &request.prompt));
    ChatCompletionRequest {
        model: model.to_owned(),
        messages,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        response_format: request.json_mode.then(|| ResponseFormat {
            type_: "json_object".to_owned(),
        }),
        stream,
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
    }
}

fn answer(url: String, model: &str, body: ChatCompletionResponse) -> Result<Answer, LlmError> {
    let content = body
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message.content)
        .ok_or_else(|| LlmError::InvalidResponse {
            url,
            message: "no choice with content".to_owned(),
        })?;
    Ok(Answer {
        content,
        model: body.model.unwrap_or_else(|| model.to_owned()),
        usage: body.usage.unwrap_or_default(),
    })
}

fn success<'a>(
    reply: Reply,
    endpoint: &'a Endpoint,
    model: &str,
    attempts: u32,
    fallback_used: bool,
) -> Success<'a> {
    Success {
        reply,
        endpoint,
        model: model.to_owned(),
        attempts,
        fallback_used,
    }
}

/// The [`Completion`] of `answer` from `endpoint`.
pub(super) fn completion(
    endpoint: &Endpoint,
    answer: Answer,
    attempts: u32,
    fallback_used: bool,
) -> Completion {
    Completion {
        cost: endpoint.cost(&answer.usage),
        content: answer.content,
        model: answer.model,
        usage: answer.usage,
        attempts,
        fallback_used,
    }
}

fn exhausted(attempts: u32, last: LlmError) -> LlmError {
    LlmError::Exhausted {
        attempts,
        last: Box::new(last),
    }
}

fn truncate(mut body: String) -> String {
    if body.len() > MAX_ERROR_BODY {
        let mut end = MAX_ERROR_BODY;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    body
}
