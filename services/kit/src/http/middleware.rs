//! The middleware every service runs, outermost first:
//!
//! 1. [`observe`]: request id (propagated or generated), the request span,
//!    request metrics and one log line per request;
//! 2. [`problemize`]: turns bare error responses from the router and layers
//!    (404, 405, 413, panics) into problem+json;
//! 3. panic catcher, [`timeout`], body limits (wired in `http::App`).

use std::time::{Duration, Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use crate::{ApiError, Metrics};

/// The header carrying the request id, in and out.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request id, available to handlers as `Extension<RequestId>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Longest incoming request id we propagate; longer ones are replaced.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Request id, span, metrics and access log.
pub(crate) async fn observe(
    State(metrics): State<Metrics>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = incoming_request_id(req.headers()).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let header_value = HeaderValue::from_str(&id).ok();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        trace_id = tracing::field::Empty,
        method = %method,
        route = %route,
        path = %req.uri().path(),
    );
    #[cfg(feature = "otel")]
    crate::telemetry::otel::link(&span, req.headers());
    if let Some(value) = &header_value {
        req.headers_mut().insert(REQUEST_ID_HEADER, value.clone());
    }
    req.extensions_mut().insert(RequestId(id));

    let mut response = next.run(req).instrument(span.clone()).await;

    let elapsed = started.elapsed();
    if let Some(value) = header_value {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status();
    metrics.observe_request(&method, &route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1e3,
            "request finished"
        );
    });
    response
}

/// A usable incoming `x-request-id`: 1–128 visible ASCII characters.
fn incoming_request_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let valid = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| value.to_owned())
}

/// Replaces bare (non-JSON) 4xx/5xx responses with problem+json.
pub(crate) async fn problemize(
    State(body_limit): State<usize>,
    req: Request,
    next: Next,
) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let error = match ApiError::from_status(status) {
        ApiError::PayloadTooLarge { .. } => ApiError::PayloadTooLarge {
            limit: Some(body_limit),
        },
        other => other,
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut problem = error.into_response();
    if let Some(allow) = allow {
        problem.headers_mut().insert(header::ALLOW, allow);
    }
    problem
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .ends_with("json")
        })
}

/// Answers 504 problem+json when the inner service takes longer than the limit.
pub(crate) async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = limit.as_millis(), "request timed out");
            ApiError::Timeout.into_response()
        }
    }
}

/// Turns a handler panic into a logged 500 problem+json.
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    ApiError::Internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_validation() {
        let mut headers = HeaderMap::new();
        assert_eq!(incoming_request_id(&headers), None);
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(incoming_request_id(&headers).as_deref(), Some("abc-123"));
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("has space"));
        assert_eq!(incoming_request_id(&headers), None);
        let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_str(&long).unwrap());
        assert_eq!(incoming_request_id(&headers), None);
    }
}
