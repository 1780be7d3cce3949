//! [`Error`]: every way a user-service request fails, and its one mapping to problem+json.
//!
//! Most errors are the kit's [`ApiError`]. Traits that break the platform's JSON Schema
//! are a 422 `traits_invalid` carrying every violation as an `errors` extension member,
//! `[{field, message}]`, where `field` is a JSON Pointer into `traits` (`/age`).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use machina_kit::{ApiError, PROBLEM_JSON};
use serde::Serialize;
use serde_json::json;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON Pointer of the offending value, relative to the object checked.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A generic HTTP error (404, 409, 503, ...).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Traits do not match the schema; 422 listing every violation.
    #[error("traits do not match the schema ({} problem(s))", .0.len())]
    Traits(Vec<FieldError>),
}

impl Error {
    /// 404 naming what is missing.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::Api(ApiError::NotFound(what.into()))
    }

    /// 422 naming the offending field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Api(ApiError::Unprocessable {
            field: Some(field.to_owned()),
            reason: reason.into(),
        })
    }

    /// 400 naming the offending query parameter.
    pub fn bad_request(field: &str, reason: impl Into<String>) -> Self {
        Self::Api(ApiError::BadRequest {
            field: Some(field.to_owned()),
            reason: reason.into(),
        })
    }

    /// 409.
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::Api(ApiError::Conflict(reason.into()))
    }

    /// 403.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Api(ApiError::Forbidden(reason.into()))
    }

    /// 503: a dependency failed (logged, never sent).
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::Api(ApiError::Unavailable(reason.into()))
    }

    /// Anything unexpected (logged once, opaque to the client).
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Api(ApiError::Internal(err.into()))
    }
}

impl From<mongodb::error::Error> for Error {
    fn from(err: mongodb::error::Error) -> Self {
        Self::unavailable(format!("mongodb: {err}"))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Self::Api(err) => err.into_response(),
            Self::Traits(errors) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                let body = json!({
                    "type": "about:blank",
                    "title": "Unprocessable Entity",
                    "status": status.as_u16(),
                    "detail": format!("traits do not match the schema at {}", fields.join(", ")),
                    "code": "traits_invalid",
                    "field": "traits",
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
