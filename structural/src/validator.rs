//! [`SchemaValidator`]: one structural schema, ready to prune, default and validate.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::Value;

use crate::admit::{AdmitError, Admitted, FieldValidation, unknown_field_message};
use crate::error::{ErrorKind, FieldError, ROOT_FIELD, Result, ValidationErrors};
use crate::metadata::{self, Scope};
use crate::schema::Node;
use crate::{cel, cel_eval, defaults, listtype, prune, validate};

/// The detail of the error that replaces CEL results when the object already failed
/// a blocking check.
const CEL_SKIPPED: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/// A compiled OpenAPI v3 structural schema (patterns, formats and CEL rules compiled
/// once), validating objects the way kube-apiserver validates custom resources.
#[derive(Debug)]
pub struct SchemaValidator {
    root: Node,
    /// `Some` for a resource root: type and object metadata are checked, and
    /// `apiVersion`/`kind`/`metadata` survive pruning.
    resource: Option<Scope>,
}

impl SchemaValidator {
    /// A validator for a plain schema: no `metadata`/`apiVersion`/`kind` handling.
    pub fn from_json(schema: &Value) -> Result<Self> {
        Self::build(schema, None)
    }

    /// A validator for a custom resource's `openAPIV3Schema`.
    pub fn for_resource(schema: &Value, scope: Scope) -> Result<Self> {
        Self::build(schema, Some(scope))
    }

    /// Like [`Self::for_resource`], from the typed CRD schema.
    pub fn from_props(schema: &JSONSchemaProps, scope: Scope) -> Result<Self> {
        let raw = serde_json::to_value(schema).map_err(|e| crate::Error::InvalidSchema {
            path: "<root>".to_owned(),
            reason: e.to_string(),
        })?;
        Self::for_resource(&raw, scope)
    }

    fn build(schema: &Value, resource: Option<Scope>) -> Result<Self> {
        let mut root = Node::parse(schema, "")?;
        cel::attach(&mut root, schema, "")?;
        Ok(Self { root, resource })
    }

    /// Validates `obj` (already pruned and defaulted, as the apiserver stores it):
    /// metadata, schema keywords, embedded resources, list types, then CEL rules
    /// (transition rules only when `old` is given). CEL is skipped, with a note, when
    /// an earlier error is of a blocking kind, exactly as the apiserver does.
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Result<(), ValidationErrors> {
        let mut errs = Vec::new();
        if let Some(scope) = self.resource {
            metadata::validate_root(obj, scope, &mut errs);
        }
        let mut schema_errs = Vec::new();
        validate::validate(&self.root, obj, "", &mut schema_errs);
        push_unique(&mut errs, schema_errs);
        metadata::validate_embedded(&self.root, obj, "", &mut errs);
        listtype::validate(&self.root, obj, "", &mut errs);
        // Like the apiserver, only schemas with rules get the "not checked" note.
        if self.root.has_cel {
            if errs.iter().any(is_blocking) {
                errs.push(FieldError::new(
                    ROOT_FIELD,
                    ErrorKind::Invalid,
                    Some(Value::Null),
                    CEL_SKIPPED,
                ));
            } else {
                cel_eval::evaluate(&self.root, obj, old, "", &mut errs);
            }
        }
        ValidationErrors::into_result(errs)
    }

    /// Applies schema defaults in place (and drops `null`s the schema does not allow).
    pub fn apply_defaults(&self, obj: &mut Value) {
        defaults::apply_defaults(&self.root, obj);
    }

    /// Removes unknown fields in place; returns their paths, sorted (`spec.foo`).
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        prune::prune(&self.root, obj, self.resource.is_some())
    }

    /// The apiserver's order for a write: prune (rejecting unknown fields under
    /// [`FieldValidation::Strict`]), default, then [`Self::validate`].
    pub fn admit(
        &self,
        mut obj: Value,
        old: Option<&Value>,
        mode: FieldValidation,
    ) -> Result<Admitted, AdmitError> {
        let unknown = self.prune(&mut obj);
        let warnings = match mode {
            FieldValidation::Strict if !unknown.is_empty() => {
                return Err(AdmitError::UnknownFields(unknown));
            }
            FieldValidation::Warn => unknown.iter().map(|p| unknown_field_message(p)).collect(),
            _ => Vec::new(),
        };
        self.apply_defaults(&mut obj);
        self.validate(&obj, old)?;
        Ok(Admitted {
            object: obj,
            warnings,
        })
    }
}

/// `hasBlockingErr`: OpenAPI failures after which the apiserver does not run CEL.
fn is_blocking(err: &FieldError) -> bool {
    matches!(
        err.kind,
        ErrorKind::NotSupported
            | ErrorKind::Required
            | ErrorKind::TooLong
            | ErrorKind::TooMany
            | ErrorKind::TypeInvalid
    )
}

/// kube-openapi drops repeated messages; do the same.
fn push_unique(errs: &mut Vec<FieldError>, new: Vec<FieldError>) {
    for err in new {
        if !errs.contains(&err) {
            errs.push(err);
        }
    }
}
