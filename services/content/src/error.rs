//! [`Error`]: every way a content request fails, and its one mapping to problem+json.
//!
//! Most errors are the kit's [`ApiError`]. Invalid values are a 422 whose `field`
//! is the first problem and whose `errors` extension member lists every one,
//! `[{field, reason}]`.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use machina_kit::{ApiError, PROBLEM_JSON};
use serde_json::json;

use crate::validate::FieldError;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A generic HTTP error (403, 404, 409, 503, ...).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Values or a definition that do not validate; 422 listing every problem.
    #[error("{} invalid field(s): {errors:?}", errors.len())]
    Invalid {
        /// Every problem; never empty.
        errors: Vec<FieldError>,
    },
}

impl Error {
    /// 404 naming what is missing.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::Api(ApiError::NotFound(what.into()))
    }

    /// 409 saying why.
    pub fn conflict(why: impl Into<String>) -> Self {
        Self::Api(ApiError::Conflict(why.into()))
    }

    /// 422 for one field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            errors: vec![FieldError::new(field, reason)],
        }
    }

    /// `Ok` when `errors` is empty, else a 422 listing them.
    pub fn check(errors: Vec<FieldError>) -> Result<()> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self::Invalid { errors })
        }
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
            Self::Invalid { errors } => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                let first = errors
                    .first()
                    .cloned()
                    .unwrap_or_else(|| FieldError::new("", "invalid input"));
                let body = json!({
                    "type": "about:blank",
                    "title": "Unprocessable Entity",
                    "status": status.as_u16(),
                    "detail": format!("{}: {}", first.field, first.reason),
                    "code": "invalid_fields",
                    "field": first.field,
                    "errors": errors,
                });
                let mut response = (status, body.to_string()).into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
                response
            }
        }
    }
}
