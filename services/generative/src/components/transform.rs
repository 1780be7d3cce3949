//! TransformJson: applies a JMESPath expression to the input.

use super::{Component, ComponentError, ComponentOutput, RunContext};
use async_trait::async_trait;
use machina_crds::content_pipeline::components::TransformJson;
use serde_json::Value;

/// The TransformJson component.
#[derive(Debug)]
pub struct TransformComponent {
    expression: jmespath::Expression<'static>,
}

impl TransformComponent {
    /// Compiles the expression of `spec`.
    pub fn new(spec: &TransformJson) -> Result<Self, ComponentError> {
        let expression = jmespath::compile(&spec.expression)
            .map_err(|e| ComponentError::Config(format!("invalid JMESPath expression: {e}")))?;
        Ok(Self { expression })
    }

    /// The expression applied to `input`.
    pub fn apply(&self, input: &Value) -> Result<Value, ComponentError> {
        let result = self
            .expression
            .search(input)
            .map_err(|e| ComponentError::Transform(e.to_string()))?;
        serde_json::to_value(&*result).map_err(|e| ComponentError::Transform(e.to_string()))
    }
}

#[async_trait]
impl Component for TransformComponent {
    async fn run(
        &self,
        _ctx: &RunContext,
        input: Value,
    ) -> Result<ComponentOutput, ComponentError> {
        self.apply(&input).map(ComponentOutput::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mk_transform(expression: &str) -> Result<TransformComponent, ComponentError> {
        TransformComponent::new(&TransformJson {
            expression: expression.to_owned(),
        })
    }

    #[test]
    fn reshapes_the_input() {
        let t =
            mk_transform("{title: copy.title, sku: product.sku, tags: product.tags[?@ != 'x']}")
                .expect("compiles");
        let out = t
            .apply(&json!({"copy": {"title": "Hi"}, "product": {"sku": "ABC-123", "tags": ["a", "x"]}}))
            .expect("applies");
        assert_eq!(out, json!({"title": "Hi", "sku": "ABC-123", "tags": ["a"]}));
    }

    #[test]
    fn a_bad_expression_is_a_config_error_and_a_type_error_a_transform_error() {
        let err = mk_transform("{unclosed").expect_err("does not compile");
        assert!(matches!(err, ComponentError::Config(_)), "{err}");
        let err = mk_transform("length(@)")
            .expect("compiles")
            .apply(&json!(3))
            .expect_err("length of a number");
        assert!(matches!(err, ComponentError::Transform(_)), "{err}");
    }
}
