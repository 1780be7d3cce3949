//! RenderTemplate: renders one of the pipeline's templates with the input as data.

use super::{Component, ComponentError, ComponentOutput, RunContext};
use crate::render::Renderer;
use async_trait::async_trait;
use machina_crds::content_pipeline::components::RenderTemplate;
use serde_json::Value;
use std::sync::Arc;

/// The RenderTemplate component; its output is the rendered text (a JSON string).
#[derive(Debug)]
pub struct RenderComponent {
    template: String,
    renderer: Arc<dyn Renderer>,
}

impl RenderComponent {
    /// A component rendering `spec.template` with `renderer`.
    pub fn new(spec: RenderTemplate, renderer: Arc<dyn Renderer>) -> Self {
        Self {
            template: spec.template,
            renderer,
        }
    }
}

#[async_trait]
impl Component for RenderComponent {
    async fn run(
        &self,
        _ctx: &RunContext,
        input: Value,
    ) -> Result<ComponentOutput, ComponentError> {
        let rendered = self.renderer.render(&self.template, &input)?;
        let mut output = ComponentOutput::new(Value::String(rendered.text));
        output.info.template_version = rendered.version;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::test_support::mk_ctx;
    use crate::testing::TestRenderer;
    use serde_json::json;

    #[tokio::test]
    async fn renders_the_named_template_and_reports_its_version() {
        let renderer = Arc::new(TestRenderer::new().with_template("page", "<h1>{{ title }}</h1>"));
        let component = RenderComponent::new(
            RenderTemplate {
                template: "page".into(),
            },
            renderer,
        );
        let out = component
            .run(&mk_ctx(json!({})), json!({"title": "Hello"}))
            .await
            .expect("renders");
        assert_eq!(out.value, json!("<h1>Hello</h1>"));
        assert_eq!(out.info.template_version, Some(1));
    }

    #[tokio::test]
    async fn an_unknown_template_fails() {
        let component = RenderComponent::new(
            RenderTemplate {
                template: "ghost".into(),
            },
            Arc::new(TestRenderer::new()),
        );
        let err = component
            .run(&mk_ctx(json!({})), json!({}))
            .await
            .expect_err("unknown");
        assert_eq!(err.to_string(), "unknown template ghost");
    }
}
