//! The client against [`MockOpenAi`]: retries, backoff, `Retry-After`, timeouts, fallback.

use super::*;
use crate::testing::{MockOpenAi, MockReply};
use std::time::Instant;

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
    }
}

fn mk_config(mock: &MockOpenAi, max_retries: u32) -> LlmConfig {
    LlmConfig {
        primary: Endpoint::new(mock.base_url(), "primary-model"),
        fallback: None,
        timeout: Duration::from_secs(5),
        retry: fast_retries(max_retries),
    }
}

async fn mock() -> MockOpenAi {
    MockOpenAi::start().await.expect("mock starts")
}

#[tokio::test]
async fn completes_with_usage_cost_and_the_bearer_key() {
    let mock = mock().await;
    mock.push(MockReply::Content("three word answer".into()));
    let mut config = mk_config(&mock, 0);
    config.primary.api_key = Some(Secret::new("sk-test".into()));
    config.primary.input_cost_per_million_tokens = Some(0.15);
    config.primary.output_cost_per_million_tokens = Some(0.6);
    let mut request = ChatRequest::new("say something nice");
    request.system = Some("be brief".into());
    let completion = LlmClient::new(config)
        .complete(&request)
        .await
        .expect("completes");
    assert_eq!(completion.content, "three word answer");
    assert_eq!(completion.model, "primary-model");
    assert_eq!(
        completion.usage,
        Usage {
            prompt_tokens: 5,
            completion_tokens: 3,
            total_tokens: 8
        }
    );
    let cost = completion.cost.expect("priced");
    assert!(
        (cost - (5.0 * 0.15 + 3.0 * 0.6) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!((completion.attempts, completion.fallback_used), (1, false));
    let recorded = &mock.requests()[0];
    assert_eq!(recorded.authorization.as_deref(), Some("Bearer sk-test"));
    assert_eq!(recorded.body["model"], "primary-model");
    assert_eq!(recorded.body["messages"][0]["role"], "system");
    assert!(recorded.body.get("response_format").is_none());
}

#[tokio::test]
async fn retries_5xx_and_429_then_succeeds() {
    let mock = mock().await;
    mock.fail(1, 500);
    mock.fail(1, 429);
    mock.fail(1, 503);
    let completion = LlmClient::new(mk_config(&mock, 3))
        .complete(&ChatRequest::new("hi"))
        .await
        .expect("fourth attempt succeeds");
    assert_eq!(completion.attempts, 4);
    assert_eq!(mock.request_count(), 4);
}

#[tokio::test]
async fn gives_up_after_max_retries_naming_the_last_error() {
    let mock = mock().await;
    mock.set_default(MockReply::Status {
        status: 502,
        retry_after: None,
    });
    let err = LlmClient::new(mk_config(&mock, 2))
        .complete(&ChatRequest::new("hi"))
        .await
        .expect_err("always fails");
    let LlmError::Exhausted { attempts, last } = err else {
        panic!("unexpected {err}");
    };
    assert_eq!(attempts, 3);
    assert!(
        matches!(*last, LlmError::Status { status: 502, .. }),
        "{last}"
    );
    assert_eq!(mock.request_count(), 3);
}

#[tokio::test]
async fn does_not_retry_a_client_error() {
    let mock = mock().await;
    mock.fail(1, 400);
    let err = LlmClient::new(mk_config(&mock, 3))
        .complete(&ChatRequest::new("hi"))
        .await
        .expect_err("bad request");
    assert!(err.to_string().contains("400"), "{err}");
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn honours_retry_after() {
    let mock = mock().await;
    mock.push(MockReply::Status {
        status: 429,
        retry_after: Some(1),
    });
    let started = Instant::now();
    let completion = LlmClient::new(mk_config(&mock, 1))
        .complete(&ChatRequest::new("hi"))
        .await
        .expect("second attempt succeeds");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(completion.attempts, 2);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let mock = mock().await;
    mock.push(MockReply::Delayed(
        Duration::from_millis(500),
        Box::new(MockReply::Content("too late".into())),
    ));
    mock.push(MockReply::Content("in time".into()));
    let mut config = mk_config(&mock, 1);
    config.timeout = Duration::from_millis(100);
    let client = LlmClient::new(config);
    let completion = client
        .complete(&ChatRequest::new("hi"))
        .await
        .expect("retry succeeds");
    assert_eq!(
        (completion.content.as_str(), completion.attempts),
        ("in time", 2)
    );

    mock.set_default(MockReply::Delayed(
        Duration::from_millis(500),
        Box::new(MockReply::Content("too late".into())),
    ));
    let err = client
        .complete(&ChatRequest::new("hi"))
        .await
        .expect_err("times out");
    let LlmError::Exhausted { last, .. } = err else {
        panic!("unexpected {err}");
    };
    assert!(matches!(*last, LlmError::Timeout { .. }), "{last}");
}

#[tokio::test]
async fn falls_back_to_the_other_endpoint_and_its_prices() {
    let primary = mock().await;
    primary.set_default(MockReply::Status {
        status: 503,
        retry_after: None,
    });
    let fallback = mock().await;
    fallback.push(MockReply::Content("from the fallback".into()));
    let mut backup = Endpoint::new(fallback.base_url(), "fallback-model");
    backup.output_cost_per_million_tokens = Some(1e6);
    let config = mk_config(&primary, 1).with_fallback(backup);
    let mut request = ChatRequest::new("hi");
    request.json_mode = true;
    let completion = LlmClient::new(config)
        .complete(&request)
        .await
        .expect("fallback answers");
    assert!(completion.fallback_used);
    assert_eq!(completion.model, "fallback-model");
    assert_eq!(completion.attempts, 3);
    assert_eq!(completion.cost, Some(3.0));
    assert_eq!((primary.request_count(), fallback.request_count()), (2, 1));
    let body = &fallback.requests()[0].body;
    assert_eq!(body["model"], "fallback-model");
    assert_eq!(body["response_format"]["type"], "json_object");
}

#[tokio::test]
async fn an_unreachable_primary_falls_back() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let dead_url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let fallback = mock().await;
    let config = LlmConfig {
        primary: Endpoint::new(dead_url, "primary-model"),
        fallback: Some(Endpoint::new(fallback.base_url(), "fallback-model")),
        timeout: Duration::from_secs(5),
        retry: fast_retries(1),
    };
    let completion = LlmClient::new(config)
        .complete(&ChatRequest::new("hi"))
        .await
        .expect("fallback answers");
    assert_eq!(
        (completion.content.as_str(), completion.attempts),
        ("mock completion", 3)
    );
}

#[test]
fn config_from_the_provider_spec() {
    let provider: LlmProvider = serde_json::from_value(serde_json::json!({
        "baseUrl": "http://llm:8080", "model": "gpt-4o-mini", "timeoutSeconds": 30, "maxRetries": 4,
        "inputCostPerMillionTokens": 0.15
    }))
    .expect("provider");
    let config = LlmConfig::from_provider(&provider, Some(Secret::new("k".into())));
    assert_eq!(config.timeout, Duration::from_secs(30));
    assert_eq!(config.retry.max_retries, 4);
    assert_eq!(config.primary.input_cost_per_million_tokens, Some(0.15));
    assert!(!format!("{config:?}").contains("\"k\""));
}

async fn collect(stream: CompletionStream) -> (Vec<String>, Completion) {
    use futures::StreamExt;
    let events: Vec<StreamEvent> = stream
        .map(|event| event.expect("no stream error"))
        .collect()
        .await;
    let mut deltas = Vec::new();
    let mut done = None;
    for event in events {
        match event {
            StreamEvent::Delta(text) => deltas.push(text),
            StreamEvent::Done(completion) => done = Some(completion),
        }
    }
    (deltas, done.expect("a Done event ends the stream"))
}

#[tokio::test]
async fn streams_deltas_then_the_completion_with_usage() {
    let mock = mock().await;
    mock.push(MockReply::Content("a streamed answer".into()));
    let mut config = mk_config(&mock, 0);
    config.primary.output_cost_per_million_tokens = Some(1e6);
    let stream = LlmClient::new(config)
        .complete_stream(&ChatRequest::new("hi there"))
        .await
        .expect("stream starts");
    let (deltas, done) = collect(stream).await;
    assert_eq!(deltas, ["a ", "streamed ", "answer"]);
    assert_eq!(done.content, "a streamed answer");
    assert_eq!(done.usage.completion_tokens, 3);
    assert_eq!(done.cost, Some(3.0));
    let body = &mock.requests()[0].body;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn a_stream_is_retried_and_falls_back_before_it_starts() {
    let primary = mock().await;
    primary.set_default(MockReply::Status {
        status: 500,
        retry_after: None,
    });
    let fallback = mock().await;
    fallback.push(MockReply::Content("backup words".into()));
    let config = mk_config(&primary, 1).with_fallback(Endpoint::new(fallback.base_url(), "fb"));
    let stream = LlmClient::new(config)
        .complete_stream(&ChatRequest::new("hi"))
        .await
        .expect("fallback streams");
    let (deltas, done) = collect(stream).await;
    assert_eq!(deltas.concat(), "backup words");
    assert_eq!(
        (done.model.as_str(), done.attempts, done.fallback_used),
        ("fb", 3, true)
    );
}
