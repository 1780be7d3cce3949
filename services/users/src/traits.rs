//! [`TraitsSchema`]: the platform's JSON Schema for profile traits (`TRAITS_SCHEMA`).
//!
//! Built on the `jsonschema` crate without its HTTP and file resolvers, so a `$ref`
//! can only point inside the schema. Without a configured schema, traits must be a
//! JSON object and nothing more.

use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use crate::error::{Error, FieldError, Result};

/// A compiled traits schema; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct TraitsSchema {
    validator: Option<jsonschema::Validator>,
}

impl TraitsSchema {
    /// Accepts any JSON object.
    pub fn any_object() -> Self {
        Self { validator: None }
    }

    /// Compiles `schema`.
    pub fn compile(schema: &Value) -> anyhow::Result<Self> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| anyhow::anyhow!("not a valid JSON Schema: {e}"))?;
        Ok(Self {
            validator: Some(validator),
        })
    }

    /// Reads and compiles the schema file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("Failed to read TRAITS_SCHEMA {}", path.display()))?;
        let schema: Value = serde_json::from_str(&text)
            .with_context(|| format!("TRAITS_SCHEMA {} is not JSON", path.display()))?;
        Self::compile(&schema).with_context(|| format!("TRAITS_SCHEMA {}", path.display()))
    }

    /// Checks `traits`, reporting every violation with its JSON Pointer.
    pub fn validate(&self, traits: &Value) -> Result<()> {
        if !traits.is_object() {
            return Err(Error::Traits(vec![FieldError {
                field: String::new(),
                message: "traits must be a JSON object".to_owned(),
            }]));
        }
        let Some(validator) = &self.validator else {
            return Ok(());
        };
        let errors: Vec<FieldError> = validator
            .iter_errors(traits)
            .map(|e| FieldError {
                field: e.instance_path().as_str().to_owned(),
                message: e.to_string(),
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Traits(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> TraitsSchema {
        TraitsSchema::compile(&json!({
            "type": "object",
            "properties": {
                "age": {"type": "integer", "minimum": 13},
                "country": {"type": "string", "minLength": 2, "maxLength": 2}
            },
            "required": ["country"],
            "additionalProperties": false
        }))
        .unwrap()
    }

    #[test]
    fn valid_traits_pass() {
        schema()
            .validate(&json!({"age": 30, "country": "FR"}))
            .unwrap();
        TraitsSchema::any_object()
            .validate(&json!({"x": [1]}))
            .unwrap();
    }

    #[test]
    fn every_violation_is_listed_with_its_pointer() {
        let Err(Error::Traits(errors)) =
            schema().validate(&json!({"age": 3, "country": "France", "x": 1}))
        else {
            panic!("expected violations");
        };
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["", "/age", "/country"]);
    }

    #[test]
    fn traits_must_be_an_object() {
        assert!(TraitsSchema::any_object().validate(&json!([1])).is_err());
    }

    #[test]
    fn a_broken_schema_is_refused() {
        assert!(TraitsSchema::compile(&json!({"type": "nope"})).is_err());
    }
}
