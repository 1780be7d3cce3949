//! [`Error`]: every way an auth request fails, rendered two ways: problem+json
//! (RFC 9457) on `/v1/*`, and the RFC 6749 `{"error", "error_description"}` body on
//! `/oauth2/*` through the [`OAuth`] wrapper. Both say what is wrong and never echo
//! a secret; 5xx are opaque and logged once.

use std::time::Duration;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use machina_kit::{ApiError, PROBLEM_JSON};
use serde_json::json;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed auth operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A generic HTTP error from the kit (bad JSON, 404, 409, 503, ...).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A request parameter is missing or malformed (`invalid_request`, 400/422).
    #[error("{field}: {reason}")]
    InvalidRequest {
        /// The parameter.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Client authentication failed (`invalid_client`, 401).
    #[error("client authentication failed")]
    InvalidClient,
    /// The grant (code, refresh token, user credentials) is invalid, expired or revoked.
    #[error("{0}")]
    InvalidGrant(String),
    /// The client may not use this grant type.
    #[error("{0}")]
    UnauthorizedClient(String),
    /// The grant type is not supported.
    #[error("grant_type {0:?} is not supported")]
    UnsupportedGrantType(String),
    /// A requested scope is not allowed for the client.
    #[error("{0}")]
    InvalidScope(String),
    /// Too many failed logins; retry after the duration.
    #[error("too many failed attempts; retry in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
}

impl Error {
    /// 422 naming the field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::InvalidRequest {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// Anything unexpected (logged once, opaque to the client).
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Api(ApiError::Internal(err.into()))
    }

    /// 404 naming what is missing.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::Api(ApiError::NotFound(what.into()))
    }

    /// 409.
    pub fn conflict(what: impl Into<String>) -> Self {
        Self::Api(ApiError::Conflict(what.into()))
    }

    /// 401 with a reason.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::Api(ApiError::Unauthorized(reason.into()))
    }
}

impl From<crate::crypto::CryptoError> for Error {
    fn from(err: crate::crypto::CryptoError) -> Self {
        Self::internal(err)
    }
}

impl From<crate::password::HashError> for Error {
    fn from(err: crate::password::HashError) -> Self {
        Self::internal(err)
    }
}

/// Seconds for a `Retry-After` header (at least 1).
fn retry_after(d: Duration) -> HeaderValue {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

/// The problem+json rendering for `/v1/*`.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let api = match self {
            Self::Api(err) => return err.into_response(),
            Self::Throttled(wait) => {
                let status = StatusCode::TOO_MANY_REQUESTS;
                let body = json!({
                    "type": "about:blank",
                    "title": "Too Many Requests",
                    "status": status.as_u16(),
                    "detail": Self::Throttled(wait).to_string(),
                    "code": "too_many_attempts",
                });
                let mut response = (status, body.to_string()).into_response();
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
                headers.insert(header::RETRY_AFTER, retry_after(wait));
                return response;
            }
            Self::InvalidRequest { field, reason } => ApiError::Unprocessable {
                field: Some(field),
                reason,
            },
            Self::InvalidClient => ApiError::Unauthorized("client authentication failed".into()),
            Self::InvalidGrant(reason) => ApiError::Unauthorized(reason),
            Self::UnauthorizedClient(reason) | Self::InvalidScope(reason) => {
                ApiError::Forbidden(reason)
            }
            err @ Self::UnsupportedGrantType(_) => ApiError::BadRequest {
                field: Some("grant_type".into()),
                reason: err.to_string(),
            },
        };
        api.into_response()
    }
}

/// Renders an [`Error`] in the RFC 6749 §5.2 format, for `/oauth2/*`.
#[derive(Debug)]
pub struct OAuth(pub Error);

impl<E: Into<Error>> From<E> for OAuth {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl OAuth {
    /// Status, `error` code and description.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        let err = &self.0;
        let description = err.to_string();
        match err {
            Error::InvalidRequest { .. } => {
                (StatusCode::BAD_REQUEST, "invalid_request", description)
            }
            Error::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client", description),
            Error::InvalidGrant(_) => (StatusCode::BAD_REQUEST, "invalid_grant", description),
            Error::UnauthorizedClient(_) => {
                (StatusCode::BAD_REQUEST, "unauthorized_client", description)
            }
            Error::UnsupportedGrantType(_) => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                description,
            ),
            Error::InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope", description),
            Error::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "slow_down", description),
            Error::Api(api) => match api {
                ApiError::Internal(e) => {
                    tracing::error!(error = ?e, "internal error");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "an unexpected error occurred".into(),
                    )
                }
                ApiError::Unavailable(reason) => {
                    tracing::warn!(reason = %reason, "dependency unavailable");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "a dependency is unavailable; retry later".into(),
                    )
                }
                ApiError::Unauthorized(reason) => {
                    (StatusCode::UNAUTHORIZED, "invalid_client", reason.clone())
                }
                ApiError::PayloadTooLarge { .. } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request",
                    description,
                ),
                ApiError::UnsupportedMediaType(reason) => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "invalid_request",
                    reason.clone(),
                ),
                other => (
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    other.to_string(),
                ),
            },
        }
    }
}

impl IntoResponse for OAuth {
    fn into_response(self) -> Response {
        let (status, code, description) = self.parts();
        let body = json!({ "error": code, "error_description": description });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"machina\""),
            );
        }
        if let Error::Throttled(wait) = self.0 {
            headers.insert(header::RETRY_AFTER, retry_after(wait));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_codes_follow_rfc6749() {
        let cases = [
            (Error::InvalidClient, 401, "invalid_client"),
            (Error::InvalidGrant("x".into()), 400, "invalid_grant"),
            (Error::invalid("scope", "x"), 400, "invalid_request"),
            (
                Error::UnsupportedGrantType("x".into()),
                400,
                "unsupported_grant_type",
            ),
            (Error::Throttled(Duration::from_secs(3)), 429, "slow_down"),
            (
                Error::internal(anyhow::anyhow!("secret=hunter2")),
                500,
                "server_error",
            ),
        ];
        for (err, status, code) in cases {
            let (s, c, d) = OAuth(err).parts();
            assert_eq!((s.as_u16(), c), (status, code));
            assert!(!d.contains("hunter2"));
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after(Duration::from_millis(1500)), "2");
        assert_eq!(retry_after(Duration::ZERO), "1");
    }
}
