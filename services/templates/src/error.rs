//! [`Error`]: every way a template request fails, and its one mapping to problem+json.
//!
//! Most errors are the kit's [`ApiError`]. Template problems (compile errors, input
//! schema violations, failed renders) are 422s that carry the problems as an `errors`
//! extension member, `[{template, line, column, message, pointer?}]`, so a client can
//! point at the line without parsing `detail`.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use machina_kit::{ApiError, PROBLEM_JSON};
use machina_template_engine::{CompileErrors, RenderError, SchemaError};
use serde_json::json;

use crate::model::TemplateProblem;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A generic HTTP error (404, 409, 503, ...).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The template (or a context) has problems; 422 with an `errors` list.
    #[error("{detail}")]
    Template {
        /// Stable code: `compile_error`, `input_invalid`, `render_failed`, ...
        code: &'static str,
        /// Summary for the client.
        detail: String,
        /// Every problem.
        errors: Vec<TemplateProblem>,
    },
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

    /// Anything unexpected (logged once, opaque to the client).
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Api(ApiError::Internal(err.into()))
    }

    /// The problems this error lists (empty for generic errors).
    pub fn problems(&self) -> &[TemplateProblem] {
        match self {
            Self::Template { errors, .. } => errors,
            Self::Api(_) => &[],
        }
    }
}

impl From<CompileErrors> for Error {
    fn from(errors: CompileErrors) -> Self {
        let errors: Vec<TemplateProblem> = errors.0.into_iter().map(compile_problem).collect();
        Self::Template {
            code: "compile_error",
            detail: summary("the template does not compile", &errors),
            errors,
        }
    }
}

/// A compile error as a problem; a missing reference gets a hint.
fn compile_problem(e: machina_template_engine::CompileError) -> TemplateProblem {
    let mut message = e.message;
    if message.ends_with("which does not exist") {
        message.push_str(
            " (declare stored templates in `extends`/`includes`; retired ones cannot be used)",
        );
    }
    TemplateProblem {
        template: e.template,
        line: e.line,
        column: e.column,
        message,
        pointer: None,
    }
}

/// An input schema problem: 422 `input_invalid` listing the JSON pointers, or
/// `input_schema_invalid` when the schema itself is broken.
pub fn schema_error(template: &str, field: &str, err: SchemaError) -> Error {
    match err {
        SchemaError::InvalidSchema { message } => Error::Template {
            code: "input_schema_invalid",
            detail: format!("inputSchema is not a valid JSON Schema: {message}"),
            errors: vec![TemplateProblem {
                template: template.to_owned(),
                line: 0,
                column: None,
                message: format!("inputSchema is not a valid JSON Schema: {message}"),
                pointer: None,
            }],
        },
        SchemaError::Invalid(violations) => {
            let errors: Vec<TemplateProblem> = violations
                .into_iter()
                .map(|v| TemplateProblem {
                    template: template.to_owned(),
                    line: 0,
                    column: None,
                    message: v.message,
                    pointer: Some(v.pointer),
                })
                .collect();
            let pointers: Vec<String> = errors
                .iter()
                .map(|e| format!("{:?}", e.pointer.as_deref().unwrap_or_default()))
                .collect();
            Error::Template {
                code: "input_invalid",
                detail: format!(
                    "{field} does not match the input schema at {}",
                    pointers.join(", ")
                ),
                errors,
            }
        }
    }
}

/// A failed render: 422 with a code naming the problem; a writer failure is a 500.
pub fn render_error(template: &str, err: RenderError) -> Error {
    let (code, line, problem_template) = match &err {
        RenderError::FuelExhausted { .. } => ("fuel_exhausted", 0, template.to_owned()),
        RenderError::RecursionLimit { .. } => ("recursion_limit", 0, template.to_owned()),
        RenderError::OutputTooLarge { .. } => ("output_too_large", 0, template.to_owned()),
        RenderError::Undefined { template, line, .. } => {
            ("undefined_value", *line, template.clone())
        }
        RenderError::InvalidJson { .. } => ("invalid_json_output", 0, template.to_owned()),
        RenderError::TemplateNotFound { .. } => ("template_not_found", 0, template.to_owned()),
        RenderError::Invalid { template, line, .. } => {
            ("render_failed", line.unwrap_or(0), template.clone())
        }
        RenderError::Write(_) => return Error::internal(anyhow::anyhow!("render write: {err}")),
        _ => ("render_failed", 0, template.to_owned()),
    };
    let message = err.to_string();
    Error::Template {
        code,
        detail: message.clone(),
        errors: vec![TemplateProblem {
            template: if problem_template.is_empty() {
                template.to_owned()
            } else {
                problem_template
            },
            line,
            column: None,
            message,
            pointer: None,
        }],
    }
}

/// The first problem, prefixed by `what`.
fn summary(what: &str, errors: &[TemplateProblem]) -> String {
    match errors.first() {
        Some(e) => format!(
            "{what}: {}:{}: {} ({} problem(s))",
            e.template,
            e.line,
            e.message,
            errors.len()
        ),
        None => what.to_owned(),
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Self::Api(err) => err.into_response(),
            Self::Template {
                code,
                detail,
                errors,
            } => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                let body = json!({
                    "type": "about:blank",
                    "title": "Unprocessable Entity",
                    "status": status.as_u16(),
                    "detail": detail,
                    "code": code,
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

#[cfg(test)]
mod tests {
    use machina_template_engine::CompileError;

    use super::*;

    #[test]
    fn compile_errors_keep_positions() {
        let err = Error::from(CompileErrors(vec![CompileError {
            template: "a".into(),
            line: 2,
            column: Some(5),
            message: "syntax error".into(),
        }]));
        assert_eq!(err.problems()[0].line, 2);
        assert_eq!(err.problems()[0].column, Some(5));
        assert!(err.to_string().contains("a:2: syntax error"), "{err}");
    }

    #[test]
    fn limits_get_their_own_codes() {
        let err = render_error("t", RenderError::FuelExhausted { limit: 10 });
        assert!(matches!(
            err,
            Error::Template {
                code: "fuel_exhausted",
                ..
            }
        ));
    }
}
