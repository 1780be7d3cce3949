//! [`TemplateSet`]: the named template sources an [`Engine`](crate::Engine) is built from.
//!
//! The set lives in memory only. The template service fills it from its store, the
//! generative worker from the template versions it fetched; the engine's loader reads
//! nothing else, so a template can never reach the filesystem or the network.

use std::collections::BTreeMap;

use crate::TemplateFormat;

/// One named template: its source text and output format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSource {
    /// Output format; decides auto-escaping while this template renders.
    pub format: TemplateFormat,
    /// Jinja source text.
    pub source: String,
}

/// Named template sources that may include, import and extend each other.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateSet {
    templates: BTreeMap<String, TemplateSource>,
}

impl TemplateSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the template `name`; returns the set for chaining.
    pub fn with(
        mut self,
        name: impl Into<String>,
        format: TemplateFormat,
        source: impl Into<String>,
    ) -> Self {
        self.insert(name, format, source);
        self
    }

    /// Adds (or replaces) the template `name`.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        format: TemplateFormat,
        source: impl Into<String>,
    ) {
        let source = TemplateSource {
            format,
            source: source.into(),
        };
        self.templates.insert(name.into(), source);
    }

    /// The template `name`, if the set holds it.
    pub fn get(&self, name: &str) -> Option<&TemplateSource> {
        self.templates.get(name)
    }

    /// Whether the set holds a template called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// Names and templates, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TemplateSource)> {
        self.templates.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of templates in the set.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_and_iterates_in_name_order() {
        let set = TemplateSet::new()
            .with("b", TemplateFormat::Text, "1")
            .with("a", TemplateFormat::Html, "2")
            .with("b", TemplateFormat::Json, "3");
        let names: Vec<&str> = set.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(set.len(), 2);
        assert_eq!(set.get("b").map(|t| t.format), Some(TemplateFormat::Json));
        assert!(set.contains("a") && !set.contains("c") && !set.is_empty());
    }
}
