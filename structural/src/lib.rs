//! Validation, defaulting and pruning of custom resources against a CRD's OpenAPI v3
//! structural schema, including CEL `x-kubernetes-validations`, with kube-apiserver's
//! semantics and error messages.
//!
//! ```
//! use machina_structural::{FieldValidation, SchemaValidator, Scope};
//! use serde_json::json;
//!
//! let schema = json!({
//!     "type": "object",
//!     "properties": {
//!         "spec": {
//!             "type": "object",
//!             "required": ["replicas"],
//!             "properties": {"replicas": {"type": "integer", "minimum": 1}}
//!         }
//!     }
//! });
//! let validator = SchemaValidator::for_resource(&schema, Scope::Namespaced).unwrap();
//! let obj = json!({
//!     "apiVersion": "example.com/v1", "kind": "Widget",
//!     "metadata": {"name": "w1", "namespace": "default"},
//!     "spec": {"replicas": 0}
//! });
//! let err = validator.admit(obj, None, FieldValidation::Strict).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"
//! );
//! ```
//!
//! # Layout
//!
//! - [`crd`]: [`CrdValidator`], all versions of a `CustomResourceDefinition`.
//! - [`validator`]: [`SchemaValidator`], one compiled schema and the write pipeline.
//! - [`admit`]: prune → default → validate, with [`FieldValidation`] modes.
//! - [`error`]: [`FieldError`] / [`ValidationErrors`] (apiserver-shaped) and [`Error`]
//!   (unusable schemas).
//! - `schema`: the parsed schema tree; `pattern`: Go-compatible regexes;
//!   `formats` / `format_checks`: the string formats the apiserver checks.
//! - `validate` / `validate_scalar`: OpenAPI keywords (kube-openapi semantics).
//! - `defaults`, `prune`, `listtype`, `metadata`: the apiserver's structural passes.
//! - `cel` / `cel_eval`: compiling and evaluating CEL rules (via `kube_cel`).
//! - `path`, `render`: field paths and Go-compatible value printing.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admit;
mod cel;
mod cel_eval;
pub mod crd;
mod defaults;
pub mod error;
mod format_checks;
mod formats;
mod listtype;
mod metadata;
mod path;
mod pattern;
mod prune;
mod render;
mod schema;
mod validate;
mod validate_scalar;
pub mod validator;

pub use admit::{AdmitError, Admitted, FieldValidation, unknown_field_message};
pub use crd::CrdValidator;
pub use error::{Error, ErrorKind, FieldError, ROOT_FIELD, Result, ValidationErrors};
pub use metadata::Scope;
pub use validator::SchemaValidator;
