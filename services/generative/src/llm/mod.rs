//! An OpenAI-compatible chat-completions client.
//!
//! One call ([`LlmClient::complete`]) tries the primary endpoint, retrying timeouts,
//! connection errors, 429 and 5xx with exponential backoff and jitter (honouring
//! `Retry-After`), then the fallback endpoint the same way when the primary gave up. The
//! [`Completion`] carries token usage and the cost computed from the endpoint's prices.
//! [`LlmClient::complete_stream`] streams the answer (server-sent events) as text deltas.

mod backoff;
mod client;
pub mod protocol;
mod secret;
mod stream;

pub use backoff::{RetryPolicy, parse_retry_after};
pub use client::LlmClient;
pub use protocol::Usage;
pub use secret::Secret;
pub use stream::{CompletionStream, StreamEvent};

use machina_crds::content_pipeline::LlmProvider;
use std::time::Duration;

/// One OpenAI-compatible endpoint and the model asked there.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Base URL, the part before `/v1/chat/completions`.
    pub base_url: String,
    /// Model.
    pub model: String,
    /// Bearer token, when the endpoint needs one.
    pub api_key: Option<Secret>,
    /// Price of one million prompt tokens.
    pub input_cost_per_million_tokens: Option<f64>,
    /// Price of one million completion tokens.
    pub output_cost_per_million_tokens: Option<f64>,
}

impl Endpoint {
    /// An endpoint without key or prices.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            input_cost_per_million_tokens: None,
            output_cost_per_million_tokens: None,
        }
    }

    /// The cost of `usage` at this endpoint's prices; `None` when it has none.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        let (input, output) = (
            self.input_cost_per_million_tokens,
            self.output_cost_per_million_tokens,
        );
        if input.is_none() && output.is_none() {
            return None;
        }
        let per_token =
            |price: Option<f64>, tokens: u64| price.unwrap_or(0.0) * tokens as f64 / 1e6;
        Some(per_token(input, usage.prompt_tokens) + per_token(output, usage.completion_tokens))
    }
}

/// Configuration of an [`LlmClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The endpoint tried first.
    pub primary: Endpoint,
    /// The endpoint tried when the primary fails.
    pub fallback: Option<Endpoint>,
    /// Timeout of one HTTP call.
    pub timeout: Duration,
    /// Retries of each endpoint.
    pub retry: RetryPolicy,
}

impl LlmConfig {
    /// The configuration `spec.llm` describes, with the API key read from its Secret.
    pub fn from_provider(provider: &LlmProvider, api_key: Option<Secret>) -> Self {
        let primary = Endpoint {
            base_url: provider.base_url.clone(),
            model: provider.model.clone(),
            api_key,
            input_cost_per_million_tokens: provider.input_cost_per_million_tokens,
            output_cost_per_million_tokens: provider.output_cost_per_million_tokens,
        };
        Self {
            primary,
            fallback: None,
            timeout: Duration::from_secs(
                u64::try_from(provider.timeout_seconds).unwrap_or(1).max(1),
            ),
            retry: RetryPolicy {
                max_retries: u32::try_from(provider.max_retries).unwrap_or(0),
                ..RetryPolicy::default()
            },
        }
    }

    /// This configuration with `fallback` as the fallback endpoint.
    pub fn with_fallback(mut self, fallback: Endpoint) -> Self {
        self.fallback = Some(fallback);
        self
    }
}

/// What to ask.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// System prompt.
    pub system: Option<String>,
    /// User prompt.
    pub prompt: String,
    /// Model at the primary endpoint, instead of its configured one.
    pub model: Option<String>,
    /// Largest completion, in tokens.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f64,
    /// Ask for a JSON object.
    pub json_mode: bool,
}

impl ChatRequest {
    /// A request for `prompt` with defaults (512 tokens, temperature 0.7).
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            system: None,
            prompt: prompt.into(),
            model: None,
            max_tokens: 512,
            temperature: 0.7,
            json_mode: false,
        }
    }
}

/// A completion and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The answer's text.
    pub content: String,
    /// Model that answered.
    pub model: String,
    /// Tokens used by the successful call.
    pub usage: Usage,
    /// Cost of the successful call, when the endpoint has prices.
    pub cost: Option<f64>,
    /// HTTP calls made, over both endpoints.
    pub attempts: u32,
    /// Whether the fallback endpoint answered.
    pub fallback_used: bool,
}

/// Why a completion failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The call timed out.
    #[error("the call to {url} timed out after {timeout:?}")]
    Timeout {
        /// The URL called.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The endpoint answered with an error status.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// The URL called.
        url: String,
        /// HTTP status.
        status: u16,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
        /// The start of the body.
        body: String,
    },
    /// The call failed below HTTP (connection refused, TLS, ...).
    #[error("the call to {url} failed: {source}")]
    Transport {
        /// The URL called.
        url: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The answer is not a chat completion.
    #[error("{url} sent an invalid completion: {message}")]
    InvalidResponse {
        /// The URL called.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// Every endpoint failed; `last` is the last error.
    #[error("the LLM call failed after {attempts} attempts: {last}")]
    Exhausted {
        /// HTTP calls made.
        attempts: u32,
        /// The last error.
        #[source]
        last: Box<LlmError>,
    },
}

impl LlmError {
    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::InvalidResponse { .. } | Self::Exhausted { .. } => false,
        }
    }

    /// The wait the server asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
