//! [`GatewayError`]: every response the gateway makes up itself, as RFC 9457
//! problem+json (the kit's [`ApiError`] shape, plus the proxy's own statuses).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use machina_kit::{ApiError, PROBLEM_JSON};
use serde_json::json;

/// A refusal or failure produced at the edge.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// One of the kit's errors (401, 403, 404, 413, 400, 503).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// 429: the client's rate limit is spent.
    #[error("rate limit exceeded")]
    RateLimited,
    /// 502: the upstream could not be reached or answered badly; logged, not sent.
    #[error("bad gateway: {upstream}: {reason}")]
    BadGateway {
        /// Upstream name.
        upstream: String,
        /// What failed (logged only).
        reason: String,
    },
    /// 504: the upstream did not answer within the route's timeout.
    #[error("gateway timeout: {upstream}")]
    Timeout {
        /// Upstream name.
        upstream: String,
    },
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let (status, code, detail) = match self {
            Self::Api(inner) => return inner.into_response(),
            Self::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry after the time in Retry-After".to_owned(),
            ),
            Self::BadGateway { upstream, reason } => {
                tracing::warn!(upstream = %upstream, reason = %reason, "upstream failed");
                (
                    StatusCode::BAD_GATEWAY,
                    "bad_gateway",
                    format!("the {upstream} service could not be reached"),
                )
            }
            Self::Timeout { upstream } => {
                tracing::warn!(upstream = %upstream, "upstream timed out");
                (
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    format!("the {upstream} service did not answer in time"),
                )
            }
        };
        problem(status, code, &detail)
    }
}

/// A problem+json response.
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}
