//! Error types: object validation errors shaped like kube-apiserver's `field.Error`,
//! and typed errors for schemas this crate cannot use.
//!
//! Two families, never mixed:
//! - [`FieldError`] / [`ValidationErrors`]: the object is invalid. Their `Display` is
//!   byte-for-byte what kube-apiserver prints (`spec.replicas: Invalid value: 0: ...`).
//! - [`Error`]: the *schema* (or the request for a version) is unusable — a bad regex,
//!   a CEL rule that does not compile. The apiserver would refuse such a CRD.

use std::fmt;

use serde_json::Value;

use crate::render::{go_quote, render_value};

/// The field path kube-apiserver prints for errors about the object root.
///
/// Go's `(*field.Path)(nil).String()` is `"<nil>"`; root-level CEL rules and some
/// schema errors (e.g. `anyOf` summaries) carry it.
pub const ROOT_FIELD: &str = "<nil>";

/// The kind of a [`FieldError`], mirroring `field.ErrorType` in apimachinery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `FieldValueRequired`: a required value is missing.
    Required,
    /// `FieldValueInvalid`: a malformed or out-of-bounds value.
    Invalid,
    /// `FieldValueNotSupported`: a value outside an enumeration.
    NotSupported,
    /// `FieldValueTooLong`: a string longer than `maxLength`.
    TooLong,
    /// `FieldValueTooMany`: more items/properties than `maxItems`/`maxProperties`.
    TooMany,
    /// `FieldValueDuplicate`: a repeated set element or list-map key.
    Duplicate,
    /// `FieldValueForbidden`: a value not allowed here.
    Forbidden,
    /// `FieldValueTypeInvalid`: a value of the wrong JSON type or format.
    TypeInvalid,
}

impl ErrorKind {
    /// The machine-readable reason, as used in `metav1.StatusCause.type`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Forbidden => "FieldValueForbidden",
            Self::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// The human label Go prints (`ErrorType.String()`); `TypeInvalid` prints as
    /// `Invalid value`, exactly like the apiserver.
    pub fn label(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Duplicate => "Duplicate value",
            Self::Forbidden => "Forbidden",
        }
    }

    /// Whether Go's `ErrorBody` prints the bad value for this kind.
    fn shows_value(self) -> bool {
        !matches!(self, Self::Required | Self::Forbidden | Self::TooLong)
    }
}

/// One validation failure, the equivalent of apimachinery's `field.Error`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// Dotted field path, e.g. `spec.components[2].type`; [`ROOT_FIELD`] for the root.
    pub field: String,
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// The offending value as printed after the label; `None` when the apiserver omits it.
    pub value: Option<Value>,
    /// Free-form detail appended after the value.
    pub detail: String,
}

impl FieldError {
    /// Builds an error; an empty `field` is normalised to [`ROOT_FIELD`].
    pub fn new(
        field: &str,
        kind: ErrorKind,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        let field = if field.is_empty() {
            ROOT_FIELD.to_owned()
        } else {
            field.to_owned()
        };
        Self {
            field,
            kind,
            value,
            detail: detail.into(),
        }
    }

    /// `field.Required(path, detail)`.
    pub fn required(field: &str, detail: impl Into<String>) -> Self {
        Self::new(field, ErrorKind::Required, None, detail)
    }

    /// `field.Invalid(path, value, detail)`.
    pub fn invalid(field: &str, value: Value, detail: impl Into<String>) -> Self {
        Self::new(field, ErrorKind::Invalid, Some(value), detail)
    }

    /// `field.Forbidden(path, detail)`.
    pub fn forbidden(field: &str, detail: impl Into<String>) -> Self {
        Self::new(field, ErrorKind::Forbidden, None, detail)
    }

    /// `field.NotSupported(path, value, supported)`: the detail lists the quoted values.
    pub fn not_supported(field: &str, value: Value, supported: &[String]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(field, ErrorKind::NotSupported, Some(value), detail)
    }

    /// `field.Duplicate(path, value)`.
    pub fn duplicate(field: &str, value: Value) -> Self {
        Self::new(field, ErrorKind::Duplicate, Some(value), "")
    }

    /// The message without the field, as in `metav1.StatusCause.message` (`ErrorBody`).
    pub fn body(&self) -> String {
        let mut body = self.kind.label().to_owned();
        if self.kind.shows_value()
            && let Some(value) = &self.value
        {
            body.push_str(": ");
            body.push_str(&render_value(value));
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// All failures found in one object, in the order the apiserver reports them.
///
/// Never empty when returned as an `Err`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// The errors as a slice.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// The field paths, in order; handy for assertions in tests.
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }

    /// `(field, kind)` pairs, in order; handy for assertions in tests.
    pub fn kinds(&self) -> Vec<(&str, ErrorKind)> {
        self.0.iter().map(|e| (e.field.as_str(), e.kind)).collect()
    }

    /// Each error's full message, in order.
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The apiserver's `Status.message` for a rejected object, e.g.
    /// `Widget.example.com "w1" is invalid: [spec.a: Required value, ...]`.
    pub fn status_message(&self, qualified_kind: &str, name: &str) -> String {
        format!("{qualified_kind} {} is invalid: {self}", go_quote(name))
    }

    pub(crate) fn into_result(errors: Vec<FieldError>) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self(errors))
        }
    }
}

/// Like Go's `utilerrors.NewAggregate(...).Error()`: duplicates dropped, one error
/// printed bare, several wrapped in `[...]` and joined with `, `.
impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut seen: Vec<String> = Vec::with_capacity(self.0.len());
        for message in self.0.iter().map(ToString::to_string) {
            if !seen.contains(&message) {
                seen.push(message);
            }
        }
        match seen.as_slice() {
            [] => Ok(()),
            [one] => f.write_str(one),
            many => write!(f, "[{}]", many.join(", ")),
        }
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A schema or CRD this crate cannot turn into a validator, or an unknown version.
///
/// The apiserver rejects such CRDs at registration, so these are programming or
/// configuration errors, never verdicts about an object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `pattern` that does not compile as a regular expression.
    #[error("invalid pattern {pattern:?} at {path}: {source}")]
    InvalidPattern {
        /// Schema location of the keyword, e.g. `spec.name`.
        path: String,
        /// The pattern as written.
        pattern: String,
        /// Why the regex engine refused it.
        #[source]
        source: Box<regex::Error>,
    },
    /// A CEL `rule` or `messageExpression` that does not compile.
    #[error("x-kubernetes-validations at {path}: {message}")]
    CelCompile {
        /// Schema location of the rule.
        path: String,
        /// The compiler's explanation, including the rule text.
        message: String,
    },
    /// A rule's `fieldPath` that does not name a field of the schema.
    #[error("x-kubernetes-validations at {path}: fieldPath {field_path:?}: {reason}")]
    InvalidFieldPath {
        /// Schema location of the rule.
        path: String,
        /// The `fieldPath` as written.
        field_path: String,
        /// Why it was refused.
        reason: String,
    },
    /// A keyword whose value has the wrong shape (e.g. `minLength: "3"`).
    #[error("invalid schema at {path}: {reason}")]
    InvalidSchema {
        /// Schema location.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The CRD serves no version with this name.
    #[error("version {version:?} is not defined by this CustomResourceDefinition")]
    UnknownVersion {
        /// The requested version.
        version: String,
    },
    /// A CRD version without `schema.openAPIV3Schema`.
    #[error("version {version:?} has no openAPIV3Schema")]
    MissingSchema {
        /// The version lacking a schema.
        version: String,
    },
}

/// `Result` with this crate's schema [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
