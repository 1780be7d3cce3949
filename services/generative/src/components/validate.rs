//! ValidateContext: merges the defaults under the context and checks it against the
//! JSON Schema; the output is the completed context.

use super::{Component, ComponentError, ComponentOutput, RunContext};
use crate::json::merge_under;
use async_trait::async_trait;
use machina_crds::content_pipeline::components::ValidateContext;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// One way the context breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Violation {
    /// JSON Pointer of the offending value (`""` for the whole context).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// The ValidateContext component.
#[derive(Debug)]
pub struct ValidateComponent {
    validator: jsonschema::Validator,
    defaults: Option<Value>,
}

impl ValidateComponent {
    /// Compiles the schema of `spec`.
    pub fn new(spec: &ValidateContext) -> Result<Self, ComponentError> {
        let validator = jsonschema::validator_for(&spec.schema)
            .map_err(|e| ComponentError::Config(format!("invalid JSON Schema: {e}")))?;
        Ok(Self {
            validator,
            defaults: spec.defaults.clone(),
        })
    }

    /// `context` with the defaults merged under it, or every violation of the schema.
    pub fn check(&self, context: Value) -> Result<Value, ComponentError> {
        let context = match &self.defaults {
            Some(defaults) => merge_under(defaults, context),
            None => context,
        };
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(&context)
            .map(|e| Violation {
                path: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect();
        if violations.is_empty() {
            Ok(context)
        } else {
            Err(ComponentError::InvalidContext { violations })
        }
    }
}

#[async_trait]
impl Component for ValidateComponent {
    async fn run(
        &self,
        _ctx: &RunContext,
        input: Value,
    ) -> Result<ComponentOutput, ComponentError> {
        self.check(input).map(ComponentOutput::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mk_validate() -> ValidateComponent {
        ValidateComponent::new(&ValidateContext {
            schema: json!({
                "type": "object",
                "required": ["sku"],
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{3}$"},
                    "tone": {"type": "string", "enum": ["playful", "neutral", "premium"]}
                }
            }),
            defaults: Some(json!({"tone": "neutral", "max_words": 120})),
        })
        .expect("valid schema")
    }

    #[test]
    fn merges_defaults_under_a_valid_context() {
        let out = mk_validate().check(json!({"sku": "ABC-123", "max_words": 50}));
        assert_eq!(
            out.expect("valid"),
            json!({"sku": "ABC-123", "tone": "neutral", "max_words": 50})
        );
    }

    #[test]
    fn reports_every_violation_with_its_path() {
        let err = mk_validate()
            .check(json!({"sku": "abc", "tone": "angry"}))
            .expect_err("invalid");
        let ComponentError::InvalidContext { violations } = err else {
            panic!("unexpected error {err}");
        };
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths.len(), 2, "{violations:?}");
        assert!(
            paths.contains(&"/sku") && paths.contains(&"/tone"),
            "{paths:?}"
        );
        let missing = mk_validate().check(json!({})).expect_err("sku missing");
        assert!(missing.to_string().contains("sku"), "{missing}");
    }

    #[test]
    fn an_invalid_schema_is_a_config_error() {
        let err = ValidateComponent::new(&ValidateContext {
            schema: json!({"type": "no-such-type"}),
            defaults: None,
        })
        .expect_err("invalid schema");
        assert!(matches!(err, ComponentError::Config(_)), "{err}");
    }
}
