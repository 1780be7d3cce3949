//! [`ServiceError`]: how a failed run or a backend failure becomes problem+json, in one
//! place.
//!
//! An invalid context is a 422 listing every violation, a loop at its cap a 422 naming the
//! loop and the cap; a failed LLM call or an unusable
//! answer a 502; a backend that is down (MongoDB, Redis, RabbitMQ, the template service)
//! a 503. Server-side bodies are opaque; the cause is logged once, here.

use crate::backends::BackendError;
use crate::components::{ComponentError, Violation};
use crate::executor::RunError;
use crate::render::RenderError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use machina_kit::{ApiError, PROBLEM_JSON};
use serde_json::json;

/// A failure of the service's API.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The context breaks the pipeline's schema (422).
    #[error("the context is invalid")]
    InvalidContext {
        /// Every violation.
        violations: Vec<Violation>,
    },
    /// An upstream (the LLM endpoint) failed or answered unusably (502).
    #[error("upstream failure: {0}")]
    BadGateway(String),
    /// Any other error, in the kit's shape.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl ServiceError {
    /// 503 for a backend failure; the cause is logged, not sent.
    pub fn unavailable(err: &BackendError) -> Self {
        Self::Api(ApiError::Unavailable(err.to_string()))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidContext { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Api(e) => e.status(),
        }
    }

    /// The problem+json body, for server-sent events that cannot change the status.
    pub fn problem(&self) -> serde_json::Value {
        match self {
            Self::InvalidContext { violations } => json!({
                "type": "about:blank",
                "title": "Unprocessable Entity",
                "status": 422,
                "detail": format!("the context is invalid: {}", violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
                "code": "invalid_context",
                "field": violations.first().map(|v| v.path.clone()),
                "violations": violations,
            }),
            Self::BadGateway(_) => json!({
                "type": "about:blank",
                "title": "Bad Gateway",
                "status": 502,
                "detail": "an upstream service failed; retry later",
                "code": "bad_gateway",
            }),
            Self::Api(e) => {
                let status = e.status();
                let detail = if status.is_client_error() {
                    e.to_string()
                } else {
                    "a dependency failed; retry later".to_owned()
                };
                json!({
                    "type": "about:blank",
                    "title": status.canonical_reason().unwrap_or("Error"),
                    "status": status.as_u16(),
                    "detail": detail,
                    "code": e.code(),
                })
            }
        }
    }
}

impl From<RunError> for ServiceError {
    fn from(err: RunError) -> Self {
        if let RunError::LoopCapReached { .. } = err {
            // The pipeline ran as defined but its loop never produced an acceptable result.
            return Self::Api(ApiError::Unprocessable {
                field: None,
                reason: err.to_string(),
            });
        }
        let RunError::Component {
            component, source, ..
        } = err
        else {
            return Self::Api(ApiError::Unavailable(err.to_string()));
        };
        let context = |e: &dyn std::fmt::Display| format!("component {component}: {e}");
        match source {
            ComponentError::InvalidContext { violations } => Self::InvalidContext { violations },
            ComponentError::NotFound { collection, .. } => Self::Api(ApiError::Unprocessable {
                field: None,
                reason: format!(
                    "component {component}: no document in {collection} matches the context"
                ),
            }),
            ComponentError::Llm(e) => Self::BadGateway(context(&e)),
            ComponentError::InvalidJson(e) => Self::BadGateway(context(&e)),
            ComponentError::Backend(e) => Self::Api(ApiError::Unavailable(context(&e))),
            ComponentError::Render(e @ RenderError::UnknownTemplate { .. }) => {
                // Bound templates the template service has not delivered (yet).
                Self::Api(ApiError::Unavailable(context(&e)))
            }
            other => Self::Api(ApiError::Internal(anyhow::anyhow!(context(&other)))),
        }
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::BadGateway(cause) = &self {
            tracing::warn!(cause = %cause, "upstream failure");
        }
        match self {
            Self::Api(e) => e.into_response(),
            other => {
                let body = serde_json::to_vec(&other.problem()).unwrap_or_default();
                let mut response = (status, body).into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
                response
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::LlmError;
    use machina_crds::content_pipeline::ComponentType;

    fn mk_failure(kind: ComponentType, source: ComponentError) -> ServiceError {
        ServiceError::from(RunError::Component {
            component: "c".into(),
            kind,
            source,
        })
    }

    #[test]
    fn an_invalid_context_is_a_422_listing_every_violation() {
        let violation = |path: &str| Violation {
            path: path.into(),
            message: "bad".into(),
        };
        let err = mk_failure(
            ComponentType::ValidateContext,
            ComponentError::InvalidContext {
                violations: vec![violation("/sku"), violation("/tone")],
            },
        );
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem = err.problem();
        assert_eq!(problem["field"], "/sku");
        assert_eq!(problem["violations"][1]["path"], "/tone");
        assert_eq!(
            problem["detail"],
            "the context is invalid: /sku: bad; /tone: bad"
        );
    }

    #[test]
    fn dependency_failures_are_opaque_502_and_503() {
        let llm = LlmError::InvalidResponse {
            url: "http://10.0.0.7:8080".into(),
            message: "secret detail".into(),
        };
        let err = mk_failure(ComponentType::LlmCompletion, ComponentError::Llm(llm));
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
        assert!(!err.problem().to_string().contains("10.0.0.7"));
        let backend = BackendError::new("find in products", "connection refused");
        let err = mk_failure(
            ComponentType::LookupDocument,
            ComponentError::Backend(backend),
        );
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.problem().to_string().contains("refused"));
        let unloaded = RenderError::UnknownTemplate {
            template: "page".into(),
        };
        let err = mk_failure(
            ComponentType::RenderTemplate,
            ComponentError::Render(unloaded),
        );
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        let err = mk_failure(
            ComponentType::TransformJson,
            ComponentError::Transform("x".into()),
        );
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_missing_required_document_is_a_422() {
        let err = mk_failure(
            ComponentType::LookupDocument,
            ComponentError::NotFound {
                collection: "products".into(),
                filter: json!({"sku": "ZZZ-999"}),
            },
        );
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
