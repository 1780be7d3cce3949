//! Typed errors: [`CompileError`]/[`CompileErrors`] when a set is built,
//! [`RenderError`] when a template renders.
//!
//! Every render error that a template author causes (limits, undefined values, bad filter
//! input, invalid JSON output) is its own variant, so a service maps them to 422 in one
//! `match`; only [`RenderError::Write`] is the caller's I/O failing.

use std::fmt;

use serde::Serialize;

/// One problem found while compiling a template set. `line` is 1-based; `column` is
/// 1-based in characters and present when the error carries a source span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{template}:{line}{}: {message}", ColumnSuffix(*column))]
pub struct CompileError {
    /// Name of the template the problem is in.
    pub template: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters), when known.
    pub column: Option<u32>,
    /// What is wrong, e.g. ``syntax error: unexpected `}}` ``.
    pub message: String,
}

/// Every problem found in a template set (never empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{} template error(s); first: {}", .0.len(), First(.0))]
pub struct CompileErrors(pub Vec<CompileError>);

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The requested template (or one it includes at run time) is not in the set.
    #[error("template {name:?} not found")]
    TemplateNotFound {
        /// The missing name.
        name: String,
    },
    /// The render spent its whole fuel budget (runaway loop).
    #[error("render stopped: fuel of {limit} instructions exhausted")]
    FuelExhausted {
        /// The fuel budget of the render.
        limit: u64,
    },
    /// Macros or includes nested deeper than allowed (runaway recursion).
    #[error("render stopped: recursion deeper than {limit} levels")]
    RecursionLimit {
        /// The configured `max_recursion_depth`.
        limit: u32,
    },
    /// The output would pass the size limit; the render stopped at that point.
    #[error("render stopped: output larger than {limit} bytes")]
    OutputTooLarge {
        /// The configured `max_output_bytes`.
        limit: usize,
    },
    /// A strict-mode render used an undefined variable or attribute.
    #[error("{template}:{line}: undefined value `{name}`")]
    Undefined {
        /// Template the expression is in.
        template: String,
        /// 1-based line, 0 when unknown.
        line: u32,
        /// The expression that was undefined, e.g. `user.name`.
        name: String,
    },
    /// Any other template error: bad filter input, type errors, failed include, ….
    #[error("{template}:{}: {message}", LineOrUnknown(*line))]
    Invalid {
        /// Template the error is in (empty when unknown).
        template: String,
        /// 1-based line, when known.
        line: Option<u32>,
        /// What went wrong.
        message: String,
    },
    /// A `Json` template produced output that does not parse as JSON.
    #[error("output is not valid JSON (line {line}, column {column}): {message}")]
    InvalidJson {
        /// 1-based line in the output.
        line: u32,
        /// 1-based column in the output.
        column: u32,
        /// The parser's message.
        message: String,
    },
    /// The caller's writer failed (not a template problem).
    #[error("writing the rendered output failed: {0}")]
    Write(#[source] std::io::Error),
}

/// `Result` with this crate's render error.
pub type Result<T, E = RenderError> = std::result::Result<T, E>;

struct ColumnSuffix(Option<u32>);

impl fmt::Display for ColumnSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(column) => write!(f, ":{column}"),
            None => Ok(()),
        }
    }
}

struct LineOrUnknown(Option<u32>);

impl fmt::Display for LineOrUnknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, "{line}"),
            None => f.write_str("?"),
        }
    }
}

struct First<'a>(&'a [CompileError]);

impl fmt::Display for First<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.first() {
            Some(e) => write!(f, "{e}"),
            None => f.write_str("none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_error_display_has_position() {
        let e = CompileError {
            template: "a.html".into(),
            line: 3,
            column: Some(7),
            message: "syntax error: unexpected end".into(),
        };
        assert_eq!(e.to_string(), "a.html:3:7: syntax error: unexpected end");
        let errors = CompileErrors(vec![CompileError { column: None, ..e }]);
        assert_eq!(
            errors.to_string(),
            "1 template error(s); first: a.html:3: syntax error: unexpected end"
        );
    }
}
