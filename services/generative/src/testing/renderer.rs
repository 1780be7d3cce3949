//! [`TestRenderer`]: templates with `{{ path }}` placeholders and nothing else.

use super::lock;
use crate::json::render_placeholders;
use crate::render::{RenderError, Rendered, Renderer};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// A renderer over in-memory templates whose only syntax is `{{ path }}`; it can be made to
/// fail, to simulate a crash in the middle of a pipeline.
#[derive(Debug, Default)]
pub struct TestRenderer {
    templates: HashMap<String, (String, i64)>,
    failing: Mutex<Option<String>>,
}

impl TestRenderer {
    /// A renderer without templates.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds template `name` (version 1) with `source`.
    pub fn with_template(mut self, name: &str, source: &str) -> Self {
        self.templates
            .insert(name.to_owned(), (source.to_owned(), 1));
        self
    }

    /// Makes renders of `template` fail (`None`: none fail).
    pub fn fail_template(&self, template: Option<&str>) {
        *lock(&self.failing) = template.map(str::to_owned);
    }
}

impl Renderer for TestRenderer {
    fn render(&self, template: &str, data: &Value) -> Result<Rendered, RenderError> {
        if lock(&self.failing).as_deref() == Some(template) {
            return Err(RenderError::Failed {
                template: template.to_owned(),
                message: "made to fail".to_owned(),
            });
        }
        let (source, version) =
            self.templates
                .get(template)
                .ok_or_else(|| RenderError::UnknownTemplate {
                    template: template.to_owned(),
                })?;
        Ok(Rendered {
            text: render_placeholders(source, data),
            version: Some(*version),
        })
    }

    fn render_str(&self, source: &str, data: &Value) -> Result<String, RenderError> {
        Ok(render_placeholders(source, data))
    }
}
