//! Wire types of the OpenAI chat-completions protocol (the subset the worker uses).

use serde::{Deserialize, Serialize};

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// `response_format` of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFormat {
    /// `json_object` in JSON mode.
    #[serde(rename = "type")]
    pub type_: String,
}

/// Body of `POST /v1/chat/completions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// Model.
    pub model: String,
    /// Conversation.
    pub messages: Vec<ChatMessage>,
    /// Largest completion.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f64,
    /// JSON mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Streamed answer (server-sent events).
    #[serde(default)]
    pub stream: bool,
    /// Options of a streamed answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
}

/// `stream_options` of a streamed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Ask for a last chunk with the token usage.
    pub include_usage: bool,
}

/// Token usage of a completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the completion.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// A choice's message in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// Role (`assistant`).
    #[serde(default)]
    pub role: Option<String>,
    /// The completion; `null` for tool calls, which the worker does not use.
    #[serde(default)]
    pub content: Option<String>,
}

/// One choice of a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Index of the choice.
    #[serde(default)]
    pub index: u32,
    /// The message.
    pub message: ResponseMessage,
    /// Why generation stopped.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Body of a successful response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionResponse {
    /// Model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// Choices; the worker reads the first.
    pub choices: Vec<Choice>,
    /// Token usage, when the server reports it.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// The new text of a streamed choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Text added by this chunk.
    #[serde(default)]
    pub content: Option<String>,
}

/// One choice of a streamed chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Index of the choice.
    #[serde(default)]
    pub index: u32,
    /// The new text.
    #[serde(default)]
    pub delta: Delta,
}

/// One `data:` event of a streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// Model that answers.
    #[serde(default)]
    pub model: Option<String>,
    /// Choices (empty in the final usage chunk).
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Token usage, in the final chunk when asked for.
    #[serde(default)]
    pub usage: Option<Usage>,
}
