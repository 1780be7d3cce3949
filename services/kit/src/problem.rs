//! [`ApiError`]: every HTTP error a service returns, as RFC 9457 problem+json.
//!
//! This is the one place where an error becomes a status code and a body.
//! 4xx bodies say what is wrong and, when known, which field. 5xx bodies are
//! opaque (`detail` is generic) and the real error is logged here, once.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error a handler returns; renders as `application/problem+json`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, bad query parameter).
    #[error("bad request: {reason}")]
    BadRequest {
        /// The offending field or JSON path, when known.
        field: Option<String>,
        /// What is wrong, for the client.
        reason: String,
    },
    /// 401: credentials are missing or invalid.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: the caller may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: the resource (or route) does not exist; the string says which.
    #[error("not found: {0}")]
    NotFound(String),
    /// 405: the route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 413: the body is larger than the configured limit.
    #[error("payload too large")]
    PayloadTooLarge {
        /// The limit in bytes, when known.
        limit: Option<usize>,
    },
    /// 415: the body is not of a supported media type.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but semantically invalid input.
    #[error("unprocessable: {reason}")]
    Unprocessable {
        /// The offending field or JSON path, when known.
        field: Option<String>,
        /// What is wrong, for the client.
        reason: String,
    },
    /// 503: a dependency is down; the string is logged, not sent.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 504: the request did not finish within the configured timeout.
    #[error("request timed out")]
    Timeout,
    /// 500: anything unexpected; logged with its chain, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The RFC 9457 body.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: String,
    /// Stable machine-readable code (extension member).
    code: &'static str,
    /// The offending field (extension member).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable code for the `code` member.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unprocessable { .. } => "unprocessable",
            Self::Unavailable(_) => "unavailable",
            Self::Timeout => "timeout",
            Self::Internal(_) => "internal",
        }
    }

    /// Builds an error for a bare status produced outside a handler
    /// (router 404/405, body limit 413, panics); see `http::middleware`.
    pub(crate) fn from_status(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("error").to_owned();
        match status {
            StatusCode::NOT_FOUND => {
                Self::NotFound("the requested resource does not exist".to_owned())
            }
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge { limit: None },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType(reason),
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Self::Timeout,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable(reason),
            s if s.is_client_error() => Self::BadRequest {
                field: None,
                reason,
            },
            s => Self::Internal(anyhow::anyhow!("bare {s} response from an inner layer")),
        }
    }

    /// What the client is told; 5xx detail is generic on purpose.
    fn detail(&self) -> String {
        match self {
            Self::BadRequest { reason, .. } | Self::Unprocessable { reason, .. } => reason.clone(),
            Self::Unauthorized(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Conflict(m) => {
                m.clone()
            }
            Self::UnsupportedMediaType(m) => m.clone(),
            Self::MethodNotAllowed => "this route does not accept this method".to_owned(),
            Self::PayloadTooLarge { limit: Some(limit) } => {
                format!("the request body exceeds the limit of {limit} bytes")
            }
            Self::PayloadTooLarge { limit: None } => {
                "the request body exceeds the size limit".to_owned()
            }
            Self::Unavailable(_) => "a dependency is unavailable; retry later".to_owned(),
            Self::Timeout => "the request did not complete in time".to_owned(),
            Self::Internal(_) => "an unexpected error occurred".to_owned(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            Self::BadRequest { field, .. } | Self::Unprocessable { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(err) => tracing::error!(error = ?err, "internal error"),
            Self::Unavailable(reason) => tracing::warn!(reason = %reason, "dependency unavailable"),
            _ => {}
        }
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code(),
            field: self.field(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            let challenge = HeaderValue::from_static("Bearer");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_is_opaque() {
        let err = ApiError::Internal(anyhow::anyhow!("password=hunter2 rejected by db"));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.detail().contains("hunter2"));
    }

    #[test]
    fn bare_statuses_map_to_variants() {
        assert_eq!(
            ApiError::from_status(StatusCode::NOT_FOUND).code(),
            "not_found"
        );
        assert_eq!(
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE).code(),
            "payload_too_large"
        );
        assert_eq!(
            ApiError::from_status(StatusCode::IM_A_TEAPOT).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::from_status(StatusCode::BAD_GATEWAY).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
