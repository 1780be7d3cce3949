//! [`MockOpenAi`]: a scriptable chat-completions server on `127.0.0.1:<free port>`.

use super::lock;
use crate::llm::protocol::{ChatCompletionRequest, Usage};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the mock answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum MockReply {
    /// A completion with this content.
    Content(String),
    /// An error status, with an optional `Retry-After` in seconds.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` header value.
        retry_after: Option<u64>,
    },
    /// The reply after a delay (longer than the client's timeout to simulate one).
    Delayed(Duration, Box<MockReply>),
}

/// A request the mock received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The body.
    pub body: Value,
}

#[derive(Debug)]
struct MockState {
    script: Mutex<VecDeque<MockReply>>,
    default: Mutex<MockReply>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// A local chat-completions server. Replies come from a FIFO script, then the default
/// reply (`Content("mock completion")` unless changed). Stops when dropped.
#[derive(Debug)]
pub struct MockOpenAi {
    addr: SocketAddr,
    state: Arc<MockState>,
    server: tokio::task::JoinHandle<()>,
}

impl MockOpenAi {
    /// Starts the server on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0".parse().map_err(std::io::Error::other)?).await
    }

    /// Starts the server on `addr`; `GET /healthz` answers 200 for probes.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(MockState {
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(MockReply::Content("mock completion".to_owned())),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "mock OpenAI server stopped");
            }
        });
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// Base URL to configure a client with.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Appends `reply` to the script.
    pub fn push(&self, reply: MockReply) {
        lock(&self.state.script).push_back(reply);
    }

    /// Scripts `times` failures with `status`.
    pub fn fail(&self, times: usize, status: u16) {
        for _ in 0..times {
            self.push(MockReply::Status {
                status,
                retry_after: None,
            });
        }
    }

    /// Sets the reply used once the script is empty.
    pub fn set_default(&self, reply: MockReply) {
        *lock(&self.state.default) = reply;
    }

    /// Number of requests received.
    pub fn request_count(&self) -> usize {
        lock(&self.state.requests).len()
    }

    /// The requests received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }
}

impl Drop for MockOpenAi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn chat_completions(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    lock(&state.requests).push(RecordedRequest {
        authorization,
        body: body.clone(),
    });
    let scripted = lock(&state.script).pop_front();
    let mut reply = scripted.unwrap_or_else(|| lock(&state.default).clone());
    while let MockReply::Delayed(delay, next) = reply {
        tokio::time::sleep(delay).await;
        reply = *next;
    }
    match reply {
        MockReply::Content(content) => completion(&body, content),
        MockReply::Status {
            status,
            retry_after,
        } => failure(status, retry_after),
        MockReply::Delayed(..) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn completion(body: &Value, content: String) -> Response {
    let request: Option<ChatCompletionRequest> = serde_json::from_value(body.clone()).ok();
    let Some(request) = request else {
        let error = json!({"error": {"message": "invalid chat-completions request", "type": "invalid_request_error"}});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    };
    let usage = usage(&request, &content);
    if request.stream {
        return stream(&request, &content, usage);
    }
    Json(json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "model": request.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": usage,
    }))
    .into_response()
}

/// One token per word.
fn usage(request: &ChatCompletionRequest, content: &str) -> Usage {
    let words = |text: &str| text.split_whitespace().count() as u64;
    let prompt_tokens = request.messages.iter().map(|m| words(&m.content)).sum();
    let completion_tokens = words(content);
    Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
    }
}

/// The answer as server-sent events: one chunk per word, the usage chunk when asked
/// for, then `[DONE]`.
fn stream(request: &ChatCompletionRequest, content: &str, usage: Usage) -> Response {
    let mut body = String::new();
    let mut event = |chunk: Value| body.push_str(&format!("data: {chunk}\n\n"));
    for word in content.split_inclusive(' ') {
        event(
            json!({"object": "chat.completion.chunk", "model": request.model,
            "choices": [{"index": 0, "delta": {"content": word}}]}),
        );
    }
    if request.stream_options.is_some_and(|o| o.include_usage) {
        event(
            json!({"object": "chat.completion.chunk", "model": request.model, "choices": [], "usage": usage}),
        );
    }
    body.push_str("data: [DONE]\n\n");
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}

fn failure(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let error = json!({"error": {"message": "mock failure", "type": "server_error"}});
    let mut response = (status, Json(error)).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}
