//! OpenTelemetry: the caller's trace is continued, its id is logged, and
//! spans reach an OTLP/HTTP collector.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use machina_kit::{LogFormat, telemetry};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::Value;

use crate::{helpers::spawn_app, telemetry::Capture};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Installs a JSON + OpenTelemetry subscriber for this (current-thread) test.
fn capture_traces(provider: &SdkTracerProvider) -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = telemetry::subscriber_with_traces(
        "info",
        LogFormat::Json,
        move || writer.clone(),
        provider,
    )
    .expect("subscriber");
    (capture, tracing::subscriber::set_default(subscriber))
}

fn request_span(lines: &[Value]) -> Value {
    let finished = lines.iter().find(|l| l["message"] == "request finished");
    finished
        .map(|l| l["spans"][0].clone())
        .unwrap_or_else(|| panic!("no request log in {lines:?}"))
}

#[tokio::test]
async fn incoming_traceparent_is_continued_and_logged() {
    let provider = telemetry::otel::provider(None, "kit-test").unwrap();
    let (capture, _guard) = capture_traces(&provider);
    let app = spawn_app().await;
    app.client
        .get(app.url("/hello"))
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    assert_eq!(request_span(&capture.lines())["trace_id"], TRACE_ID);
}

#[tokio::test]
async fn a_new_trace_id_is_logged_without_traceparent() {
    let provider = telemetry::otel::provider(None, "kit-test").unwrap();
    let (capture, _guard) = capture_traces(&provider);
    let app = spawn_app().await;
    app.get("/hello").await;
    let span = request_span(&capture.lines());
    let trace_id = span["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no trace id in {span}"));
    assert_eq!(trace_id.len(), 32);
    assert_ne!(trace_id, TRACE_ID);
    assert_ne!(trace_id, "0".repeat(32));
}

type Received = Arc<Mutex<Vec<Vec<u8>>>>;

/// A fake OTLP/HTTP collector on its own thread (the exporter blocks while
/// the test thread flushes, so it cannot share the test's runtime).
fn start_collector() -> (String, Received) {
    let received = Received::default();
    let store = received.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("report addr");
            let router = Router::new()
                .route(
                    "/v1/traces",
                    post(|State(store): State<Received>, body: Bytes| async move {
                        store
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(body.to_vec());
                        StatusCode::OK
                    }),
                )
                .with_state(store);
            axum::serve(listener, router).await
        })
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("collector started");
    (format!("http://{addr}"), received)
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[tokio::test]
async fn spans_are_exported_to_the_otlp_endpoint() {
    let (endpoint, received) = start_collector();
    let provider = telemetry::otel::provider(Some(&endpoint), "kit-test").unwrap();
    let (_capture, guard) = capture_traces(&provider);
    let app = spawn_app().await;
    app.client
        .get(app.url("/hello"))
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    drop(guard);
    provider.force_flush().expect("flush to the collector");

    let batches = received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert!(!batches.is_empty(), "collector received nothing");
    let trace_id = hex_to_bytes(TRACE_ID);
    let found = batches
        .iter()
        .any(|b| b.windows(trace_id.len()).any(|w| w == trace_id.as_slice()));
    assert!(
        found,
        "the exported spans do not carry the caller's trace id"
    );
    let service = b"kit-test";
    assert!(
        batches
            .iter()
            .any(|b| b.windows(service.len()).any(|w| w == service)),
        "service name missing"
    );
}
