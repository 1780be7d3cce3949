//! OpenTelemetry: the tracer provider (OTLP/HTTP export when configured) and
//! the W3C trace-context link between a request and its span.

use axum::http::HeaderMap;
use opentelemetry::{
    global,
    propagation::{Extractor, TextMapPropagator},
    trace::{TraceContextExt, TraceId},
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{Error, Result};

/// A tracer provider for `service_name`. With an `endpoint` (the OTLP base
/// URL, e.g. `http://otel-collector:4318`) spans are batched and exported to
/// `{endpoint}/v1/traces`; without one spans still get trace ids for the logs
/// but go nowhere.
pub fn provider(endpoint: Option<&str>, service_name: &str) -> Result<SdkTracerProvider> {
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let Some(endpoint) = endpoint else {
        return Ok(builder.build());
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint))
        .build()
        .map_err(|e| Error::Telemetry(format!("cannot build the OTLP exporter: {e}")))?;
    Ok(builder.with_batch_exporter(exporter).build())
}

/// `{endpoint}/v1/traces`, unless the endpoint already names that path.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

/// Makes W3C `traceparent`/`tracestate` the process's propagation format
/// (for clients that inject it into outgoing requests; incoming requests are
/// always read as W3C trace context).
pub fn install_propagator() {
    global::set_text_map_propagator(TraceContextPropagator::new());
}

/// Continues the caller's trace (from `traceparent`) in `span` and records
/// the trace id in its `trace_id` field. A no-op without the OpenTelemetry layer.
pub(crate) fn link(span: &tracing::Span, headers: &HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // Fails only if the span is disabled; then there is nothing to link.
        let _ = span.set_parent(parent);
    }
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// Adapts an axum `HeaderMap` to OpenTelemetry's [`Extractor`].
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_url_appends_the_signal_path_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }
}
