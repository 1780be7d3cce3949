//! The stored documents: `templates` and `template_versions`.

use machina_template_engine::{Limits, TemplateFormat};
use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BundleTemplate, TemplateSummary, VersionSummary, VersionView};

/// `templates`: one document per name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDoc {
    /// The name.
    #[serde(rename = "_id")]
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The version renders use.
    pub active_version: i64,
    /// The newest version.
    pub latest_version: i64,
    /// Retired templates are hidden from lists and renders.
    #[serde(default)]
    pub retired: bool,
    /// First stored.
    pub created_at: DateTime,
    /// Last version created or activated.
    pub updated_at: DateTime,
}

/// `template_versions`: one immutable document per (name, version).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionDoc {
    /// The template.
    pub name: String,
    /// The version number.
    pub version: i64,
    /// Output format.
    pub format: TemplateFormat,
    /// Jinja source.
    pub source: String,
    /// SHA-256 of the source.
    pub checksum: String,
    /// SHA-256 of the whole content.
    pub content_checksum: String,
    /// The input schema as JSON text: JSON Schema keys such as `$ref` are not
    /// valid MongoDB field names everywhere, so the document keeps text.
    #[serde(default)]
    pub input_schema: Option<String>,
    /// The sample context as JSON text (same reason).
    #[serde(default)]
    pub sample_context: Option<String>,
    /// Effective limits.
    pub limits: Limits,
    /// Template this one extends.
    #[serde(default)]
    pub extends: Option<String>,
    /// Templates this one includes.
    #[serde(default)]
    pub includes: Vec<String>,
    /// When stored.
    pub created_at: DateTime,
}

impl VersionDoc {
    /// Names of the templates this version needs.
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        self.extends
            .iter()
            .chain(self.includes.iter())
            .map(String::as_str)
    }

    /// The API view.
    pub fn view(&self) -> VersionView {
        VersionView {
            name: self.name.clone(),
            version: self.version,
            format: self.format,
            source: self.source.clone(),
            checksum: self.checksum.clone(),
            content_checksum: self.content_checksum.clone(),
            input_schema: parse_stored(self.input_schema.as_deref()),
            sample_context: parse_stored(self.sample_context.as_deref()),
            limits: self.limits.into(),
            extends: self.extends.clone(),
            includes: self.includes.clone(),
            created_at: rfc3339(self.created_at),
        }
    }

    /// The list entry.
    pub fn summary(&self, active_version: i64) -> VersionSummary {
        VersionSummary {
            version: self.version,
            format: self.format,
            checksum: self.checksum.clone(),
            content_checksum: self.content_checksum.clone(),
            active: self.version == active_version,
            created_at: rfc3339(self.created_at),
        }
    }

    /// The bundle entry.
    pub fn bundle_entry(&self) -> BundleTemplate {
        BundleTemplate {
            name: self.name.clone(),
            version: self.version,
            format: self.format,
            source: self.source.clone(),
            checksum: self.checksum.clone(),
            limits: self.limits.into(),
            extends: self.extends.clone(),
            includes: self.includes.clone(),
        }
    }
}

impl TemplateDoc {
    /// The list entry.
    pub fn summary(&self) -> TemplateSummary {
        TemplateSummary {
            name: self.name.clone(),
            description: self.description.clone(),
            active_version: self.active_version,
            latest_version: self.latest_version,
            updated_at: rfc3339(self.updated_at),
        }
    }
}

/// Stored JSON text back to a value (text written by us always parses).
fn parse_stored(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// A BSON time as RFC 3339.
pub fn rfc3339(at: DateTime) -> String {
    at.try_to_rfc3339_string().unwrap_or_default()
}
