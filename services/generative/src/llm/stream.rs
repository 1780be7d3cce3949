//! Streamed completions: the server-sent events of a `stream: true` call turned into a
//! stream of text deltas ending with the whole [`Completion`].

use super::client::{Answer, completion};
use super::protocol::{ChatCompletionChunk, Usage};
use super::{Completion, Endpoint, LlmError};
use futures::Stream;
use std::collections::VecDeque;
use std::pin::Pin;

/// One event of a streamed completion.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// New text.
    Delta(String),
    /// The end: the whole completion, with usage and cost.
    Done(Completion),
}

/// Events of a streamed completion; an error ends it.
pub type CompletionStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>;

/// A stream of an answer that came whole: one delta, then the end.
pub(super) fn finished(done: Completion) -> CompletionStream {
    let events = vec![
        Ok(StreamEvent::Delta(done.content.clone())),
        Ok(StreamEvent::Done(done)),
    ];
    Box::pin(futures::stream::iter(events))
}

/// The events of the server-sent events in `response`.
pub(super) fn sse_stream(
    response: reqwest::Response,
    endpoint: Endpoint,
    model: String,
    attempts: u32,
    fallback_used: bool,
) -> CompletionStream {
    let state = SseState {
        url: response.url().to_string(),
        response: Some(response),
        buffer: Vec::new(),
        pending: VecDeque::new(),
        content: String::new(),
        usage: Usage::default(),
        model,
        endpoint,
        attempts,
        fallback_used,
        finished: false,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        let item = state.next_event().await?;
        Some((item, state))
    }))
}

/// Parser state of one streamed response.
struct SseState {
    url: String,
    response: Option<reqwest::Response>,
    buffer: Vec<u8>,
    pending: VecDeque<Result<StreamEvent, LlmError>>,
    content: String,
    usage: Usage,
    model: String,
    endpoint: Endpoint,
    attempts: u32,
    fallback_used: bool,
    finished: bool,
}

impl SseState {
    async fn next_event(&mut self) -> Option<Result<StreamEvent, LlmError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let response = self.response.as_mut().filter(|_| !self.finished)?;
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    self.buffer.extend_from_slice(&bytes);
                    self.drain_lines();
                }
                // A stream that ends without `[DONE]` is still a complete answer.
                Ok(None) => self.finish(),
                Err(source) => self.fail(LlmError::Transport {
                    url: self.url.clone(),
                    source,
                }),
            }
        }
    }

    fn drain_lines(&mut self) {
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            if let Some(data) = line.trim().strip_prefix("data:") {
                self.on_data(data.trim());
            }
            if self.finished {
                return;
            }
        }
    }

    fn on_data(&mut self, data: &str) {
        if data == "[DONE]" {
            return self.finish();
        }
        let chunk: ChatCompletionChunk = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(e) => {
                return self.fail(LlmError::InvalidResponse {
                    url: self.url.clone(),
                    message: format!("invalid stream chunk: {e}"),
                });
            }
        };
        if let Some(model) = chunk.model {
            self.model = model;
        }
        if let Some(usage) = chunk.usage {
            self.usage = usage;
        }
        let texts = chunk.choices.into_iter().filter(|c| c.index == 0);
        for text in texts
            .filter_map(|c| c.delta.content)
            .filter(|t| !t.is_empty())
        {
            self.content.push_str(&text);
            self.pending.push_back(Ok(StreamEvent::Delta(text)));
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        self.response = None;
        let answer = Answer {
            content: std::mem::take(&mut self.content),
            model: self.model.clone(),
            usage: self.usage,
        };
        let done = completion(&self.endpoint, answer, self.attempts, self.fallback_used);
        self.pending.push_back(Ok(StreamEvent::Done(done)));
    }

    fn fail(&mut self, err: LlmError) {
        self.finished = true;
        self.response = None;
        self.pending.push_back(Err(err));
    }
}
