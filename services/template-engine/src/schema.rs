//! [`InputSchema`]: checks a render context against a template's declared input JSON Schema.
//!
//! Built on the `jsonschema` crate (drafts 4 to 2020-12, `format` checked). It is built
//! without its HTTP and file resolvers, so a `$ref` can only point inside the schema:
//! validation never touches the network or the filesystem.

use serde::Serialize;
use serde_json::Value;

/// A compiled input schema; compile once per template version and reuse.
#[derive(Debug)]
pub struct InputSchema {
    validator: jsonschema::Validator,
}

/// One way in which a context breaks the schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SchemaViolation {
    /// JSON Pointer to the offending value in the context (`""` is the whole context).
    pub pointer: String,
    /// JSON Pointer to the schema keyword that failed, e.g. `/properties/age/type`.
    pub schema_pointer: String,
    /// What is wrong, e.g. `"ten" is not of type "integer"`.
    pub message: String,
}

/// Why a schema check did not pass.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The declared schema itself is not a valid JSON Schema.
    #[error("the input schema is invalid: {message}")]
    InvalidSchema {
        /// The compiler's message.
        message: String,
    },
    /// The context breaks the schema; every violation is listed.
    #[error("the context does not match the input schema ({} problem(s))", .0.len())]
    Invalid(Vec<SchemaViolation>),
}

impl InputSchema {
    /// Compiles `schema`.
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .map(|validator| Self { validator })
            .map_err(|e| SchemaError::InvalidSchema {
                message: e.to_string(),
            })
    }

    /// Checks `context`, returning every violation (not just the first).
    pub fn validate(&self, context: &Value) -> Result<(), SchemaError> {
        let violations: Vec<SchemaViolation> = self
            .validator
            .iter_errors(context)
            .map(|e| SchemaViolation {
                pointer: e.instance_path().as_str().to_string(),
                schema_pointer: e.schema_path().as_str().to_string(),
                message: e.to_string(),
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(SchemaError::Invalid(violations))
        }
    }
}

/// Compiles `schema` and checks `context` against it in one call.
pub fn validate_input(schema: &Value, context: &Value) -> Result<(), SchemaError> {
    InputSchema::compile(schema)?.validate(context)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["name", "items"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "email": {"type": "string", "format": "email"},
                "items": {"type": "array", "items": {"type": "object",
                    "properties": {"price": {"type": "number", "minimum": 0}}}}
            },
            "additionalProperties": false
        })
    }

    #[test]
    fn valid_context_passes() {
        let ctx = json!({"name": "Ada", "items": [{"price": 3}]});
        assert_eq!(validate_input(&schema(), &ctx), Ok(()));
    }

    #[test]
    fn reports_every_violation_with_its_pointer() {
        let ctx = json!({"name": "", "email": "nope", "items": [{"price": -1}, {"price": "x"}], "extra": 1});
        let Err(SchemaError::Invalid(v)) = validate_input(&schema(), &ctx) else {
            panic!("expected violations");
        };
        let mut pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
        pointers.sort_unstable();
        assert_eq!(
            pointers,
            ["", "/email", "/items/0/price", "/items/1/price", "/name"]
        );
        let price = v
            .iter()
            .find(|v| v.pointer == "/items/1/price")
            .map(|v| v.message.as_str());
        assert_eq!(price, Some(r#""x" is not of type "number""#));
        assert!(
            v.iter()
                .any(|v| v.schema_pointer == "/properties/email/format")
        );
    }

    #[test]
    fn missing_required_field_points_at_the_parent() {
        let Err(SchemaError::Invalid(v)) = validate_input(&schema(), &json!({"name": "x"})) else {
            panic!("expected violations");
        };
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].pointer, "");
        assert_eq!(v[0].message, r#""items" is a required property"#);
    }

    #[test]
    fn invalid_schema_and_remote_refs_are_rejected() {
        let bad = validate_input(&json!({"type": "nonsense"}), &json!(1));
        assert!(
            matches!(bad, Err(SchemaError::InvalidSchema { .. })),
            "{bad:?}"
        );
        let remote = InputSchema::compile(&json!({"$ref": "https://example.com/s.json"}));
        assert!(
            matches!(remote, Err(SchemaError::InvalidSchema { .. })),
            "{remote:?}"
        );
    }
}
