//! [`CrdValidator`]: every version of a `CustomResourceDefinition`, by name.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use crate::admit::{AdmitError, Admitted, FieldValidation};
use crate::error::{Error, FieldError, Result, ValidationErrors};
use crate::metadata::Scope;
use crate::validator::SchemaValidator;

/// Validators for all versions of one CRD, built once and shared (`Send + Sync`).
#[derive(Debug)]
pub struct CrdValidator {
    group: String,
    kind: String,
    scope: Scope,
    versions: BTreeMap<String, SchemaValidator>,
}

impl CrdValidator {
    /// Compiles the schema of every version. Fails on a version without
    /// `openAPIV3Schema`, a bad `pattern`, or a CEL rule that does not compile.
    pub fn new(crd: &CustomResourceDefinition) -> Result<Self> {
        let scope = if crd.spec.scope == "Cluster" {
            Scope::Cluster
        } else {
            Scope::Namespaced
        };
        let mut versions = BTreeMap::new();
        for version in &crd.spec.versions {
            let schema = version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .ok_or_else(|| Error::MissingSchema {
                    version: version.name.clone(),
                })?;
            versions.insert(
                version.name.clone(),
                SchemaValidator::from_props(schema, scope)?,
            );
        }
        Ok(Self {
            group: crd.spec.group.clone(),
            kind: crd.spec.names.kind.clone(),
            scope,
            versions,
        })
    }

    /// `Kind.group`, as the apiserver names the resource in `... is invalid` messages.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Whether objects are namespaced or cluster-scoped.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The version names, sorted.
    pub fn versions(&self) -> impl Iterator<Item = &str> {
        self.versions.keys().map(String::as_str)
    }

    /// The validator of one version.
    pub fn version(&self, version: &str) -> Option<&SchemaValidator> {
        self.versions.get(version)
    }

    fn require(&self, version: &str) -> Result<&SchemaValidator> {
        self.version(version).ok_or_else(|| Error::UnknownVersion {
            version: version.to_owned(),
        })
    }

    /// [`SchemaValidator::validate`] for `version`; an unknown version is reported as
    /// `apiVersion: Unsupported value`.
    pub fn validate(
        &self,
        version: &str,
        obj: &Value,
        old: Option<&Value>,
    ) -> Result<(), ValidationErrors> {
        match self.version(version) {
            Some(validator) => validator.validate(obj, old),
            None => Err(self.unknown_version(version)),
        }
    }

    /// [`SchemaValidator::apply_defaults`] for `version`.
    pub fn apply_defaults(&self, version: &str, obj: &mut Value) -> Result<()> {
        self.require(version)?.apply_defaults(obj);
        Ok(())
    }

    /// [`SchemaValidator::prune`] for `version`.
    pub fn prune(&self, version: &str, obj: &mut Value) -> Result<Vec<String>> {
        Ok(self.require(version)?.prune(obj))
    }

    /// [`SchemaValidator::admit`] for `version`; an unknown version is refused like
    /// [`Self::validate`] refuses it.
    pub fn admit(
        &self,
        version: &str,
        obj: Value,
        old: Option<&Value>,
        mode: FieldValidation,
    ) -> Result<Admitted, AdmitError> {
        match self.version(version) {
            Some(validator) => validator.admit(obj, old, mode),
            None => Err(AdmitError::Invalid(self.unknown_version(version))),
        }
    }

    fn unknown_version(&self, version: &str) -> ValidationErrors {
        let served: Vec<String> = self.versions().map(|v| self.api_version(v)).collect();
        ValidationErrors(vec![FieldError::not_supported(
            "apiVersion",
            self.api_version(version).into(),
            &served,
        )])
    }

    fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_owned()
        } else {
            format!("{}/{version}", self.group)
        }
    }
}
