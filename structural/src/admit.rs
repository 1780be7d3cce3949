//! The apiserver's write path for one object: prune (or reject) unknown fields,
//! default, validate — the order kube-apiserver applies to a created or updated
//! custom resource.

use std::fmt;

use serde_json::Value;

use crate::error::ValidationErrors;
use crate::render::go_quote;

/// What to do with fields the schema does not declare (the `fieldValidation` query
/// parameter of kube-apiserver).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Reject the object, naming every unknown field.
    Strict,
    /// Drop unknown fields and report each as a warning (kubectl's default).
    #[default]
    Warn,
    /// Drop unknown fields silently.
    Ignore,
}

/// An object that passed admission: pruned, defaulted and valid.
#[derive(Clone, Debug, PartialEq)]
pub struct Admitted {
    /// The object as it would be stored.
    pub object: Value,
    /// `unknown field "spec.foo"` warnings (only with [`FieldValidation::Warn`]).
    pub warnings: Vec<String>,
}

/// Why admission refused an object.
#[derive(Clone, Debug, PartialEq)]
pub enum AdmitError {
    /// Unknown fields under [`FieldValidation::Strict`] (HTTP 400 in the apiserver).
    UnknownFields(Vec<String>),
    /// The pruned and defaulted object is invalid (HTTP 422 in the apiserver).
    Invalid(ValidationErrors),
}

/// `unknown field "spec.foo"`, the apiserver's wording for one pruned path.
pub fn unknown_field_message(path: &str) -> String {
    format!("unknown field {}", go_quote(path))
}

impl fmt::Display for AdmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFields(paths) => {
                let each: Vec<String> = paths.iter().map(|p| unknown_field_message(p)).collect();
                write!(f, "strict decoding error: {}", each.join(", "))
            }
            Self::Invalid(errors) => errors.fmt(f),
        }
    }
}

impl std::error::Error for AdmitError {}

impl From<ValidationErrors> for AdmitError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}
