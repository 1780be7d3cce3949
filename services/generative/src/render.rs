//! The template renderer the RenderTemplate component and prompts use.
//!
//! The template engine crate implements [`Renderer`] over the pipeline's templates
//! (resolved to stored versions and compiled ahead of time, so a render needs no network).
//! Tests use [`crate::testing::TestRenderer`].

use serde_json::Value;

/// Why a render failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The pipeline has no template of that local name.
    #[error("unknown template {template}")]
    UnknownTemplate {
        /// The local name.
        template: String,
    },
    /// The template failed to render (error in the template, a sandbox limit, ...).
    #[error("template {template} failed to render: {message}")]
    Failed {
        /// The local name, or `inline` for a template string.
        template: String,
        /// The engine's message.
        message: String,
    },
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The output text.
    pub text: String,
    /// The stored version of the template that rendered it, when versioned.
    pub version: Option<i64>,
}

/// Renders the pipeline's templates.
pub trait Renderer: Send + Sync + std::fmt::Debug {
    /// Renders the template bound under local name `template` (`spec.templates`) with `data`.
    fn render(&self, template: &str, data: &Value) -> Result<Rendered, RenderError>;

    /// Renders a template string given inline (a system prompt) with `data`.
    fn render_str(&self, source: &str, data: &Value) -> Result<String, RenderError>;

    /// The template versions in force as a stable string (the catalog's:
    /// `local=template@version;dependency@version,...`): Cache
    /// components mix it into their keys so that activating a new template version is not
    /// hidden by results rendered with the previous one. Empty when unversioned.
    fn versions_tag(&self) -> String {
        String::new()
    }
}
