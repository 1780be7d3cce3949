//! [`Error`]: every way a media request fails, and its one mapping to problem+json.
//!
//! Most errors are the kit's [`ApiError`]; two need headers the kit does not
//! set: 416 (with `Content-Range: bytes */len`) and 503 while the processing
//! queue is full (with `Retry-After`).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use machina_kit::{ApiError, PROBLEM_JSON};
use serde_json::json;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A generic HTTP error (400, 404, 415, 422, 503, ...).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// 416: the range lies outside the file.
    #[error("range not satisfiable for a {length}-byte file")]
    RangeNotSatisfiable {
        /// The file's length.
        length: u64,
    },
    /// 503: every processing slot is busy and the queue is full.
    #[error("image processing is saturated")]
    Busy {
        /// Seconds the client should wait.
        retry_after: u64,
    },
}

impl Error {
    /// 404 naming what is missing.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::Api(ApiError::NotFound(what.into()))
    }

    /// 400 naming the offending parameter.
    pub fn bad_request(field: &str, reason: impl Into<String>) -> Self {
        Self::Api(ApiError::BadRequest {
            field: Some(field.to_owned()),
            reason: reason.into(),
        })
    }

    /// 422 naming the offending field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Api(ApiError::Unprocessable {
            field: Some(field.to_owned()),
            reason: reason.into(),
        })
    }

    /// 415 with the reason.
    pub fn unsupported(reason: impl Into<String>) -> Self {
        Self::Api(ApiError::UnsupportedMediaType(reason.into()))
    }

    /// 403 with the reason.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Api(ApiError::Forbidden(reason.into()))
    }

    /// Anything unexpected (logged once, opaque to the client).
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Api(ApiError::Internal(err.into()))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Self::Api(err) => err.into_response(),
            Self::RangeNotSatisfiable { length } => {
                let mut response = problem(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range_not_satisfiable",
                    format!("the requested range lies outside the {length}-byte file"),
                );
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                response
            }
            Self::Busy { retry_after } => {
                tracing::warn!("image processing queue full; shedding a request");
                let mut response = problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "processing_busy",
                    "too many images are being processed; retry later".to_owned(),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                response
            }
        }
    }
}

fn problem(status: StatusCode, code: &str, detail: String) -> Response {
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

impl From<mongodb::error::Error> for Error {
    fn from(err: mongodb::error::Error) -> Self {
        Self::Api(ApiError::Unavailable(format!("mongodb: {err}")))
    }
}
