//! Output formats of a template and the escaping each one implies.
//!
//! Mirrors `machina_crds::template::TemplateFormat` (same variant names and serde
//! representation) without depending on the CRD crate, so the engine stays a leaf library.

use minijinja::AutoEscape;
use serde::{Deserialize, Serialize};

/// Output format of a template.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TemplateFormat {
    /// Plain text, no escaping.
    #[default]
    Text,
    /// HTML with auto-escaping of every interpolated value.
    Html,
    /// Markdown text (no escaping; the `markdown` filter renders it to HTML).
    Markdown,
    /// JSON; interpolated values are JSON-encoded (write `{{ name }}`, not `"{{ name }}"`)
    /// and the output must parse as JSON.
    Json,
}

impl TemplateFormat {
    /// The MiniJinja auto-escape mode a template of this format starts with.
    pub(crate) fn auto_escape(self) -> AutoEscape {
        match self {
            Self::Text | Self::Markdown => AutoEscape::None,
            Self::Html => AutoEscape::Html,
            Self::Json => AutoEscape::Json,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_the_crd() {
        let names: Vec<String> = [
            TemplateFormat::Text,
            TemplateFormat::Html,
            TemplateFormat::Markdown,
            TemplateFormat::Json,
        ]
        .iter()
        .map(|f| serde_json::to_string(f).unwrap_or_default())
        .collect();
        assert_eq!(names, ["\"Text\"", "\"Html\"", "\"Markdown\"", "\"Json\""]);
    }

    #[test]
    fn only_html_and_json_escape() {
        assert!(matches!(
            TemplateFormat::Text.auto_escape(),
            AutoEscape::None
        ));
        assert!(matches!(
            TemplateFormat::Markdown.auto_escape(),
            AutoEscape::None
        ));
        assert!(matches!(
            TemplateFormat::Html.auto_escape(),
            AutoEscape::Html
        ));
        assert!(matches!(
            TemplateFormat::Json.auto_escape(),
            AutoEscape::Json
        ));
    }
}
