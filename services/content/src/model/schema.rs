//! Content types and their field schemas (what an entry's fields must look like).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of value a field holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FieldKind {
    /// Plain text.
    Text,
    /// Markdown.
    RichText,
    /// A JSON number, optionally bounded.
    Number {
        /// Smallest accepted value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// Largest accepted value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// `true` or `false`.
    Boolean,
    /// An RFC 3339 timestamp string.
    Datetime,
    /// One of a fixed set of strings.
    Enum {
        /// The accepted values.
        values: Vec<String>,
    },
    /// The id of another entry, optionally restricted to some content types.
    Reference {
        /// Content types the referenced entry may have (any when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        to: Vec<String>,
    },
    /// The id of a media asset (the media service's id; not checked here).
    Media,
    /// A list of values of one kind.
    List {
        /// The kind of every item (a `FieldKind`; typed as an object in the
        /// OpenAPI document because utoipa cannot express the recursion here).
        #[schema(value_type = Object)]
        of: Box<FieldKind>,
        /// Most items accepted.
        #[serde(default, rename = "maxItems", skip_serializing_if = "Option::is_none")]
        max_items: Option<usize>,
    },
}

/// One field of a content type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
// No `deny_unknown_fields`: serde does not support it together with `flatten`.
#[serde(rename_all = "camelCase")]
pub struct FieldDef {
    /// The field's name in entries (`[A-Za-z][A-Za-z0-9_]*`).
    pub name: String,
    /// What it holds.
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Whether an entry must have it (for localized fields: in the locale written).
    #[serde(default)]
    pub required: bool,
    /// Longest accepted text (characters), for text, rich text and list items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Whether the field holds one value per locale.
    #[serde(default)]
    pub localized: bool,
}

/// A content type as clients send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentTypeBody {
    /// Display name.
    #[serde(default)]
    pub title: Option<String>,
    /// The fields, in display order.
    pub fields: Vec<FieldDef>,
}

/// A content type to create: the body plus its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateContentType {
    /// Id used in entries and URLs (`[a-z][a-z0-9_-]*`, at most 64 characters).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub title: Option<String>,
    /// The fields, in display order.
    pub fields: Vec<FieldDef>,
}

/// A stored content type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentType {
    /// The type's id.
    #[serde(rename = "_id")]
    #[schema(rename = "id")]
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The fields.
    pub fields: Vec<FieldDef>,
    /// Incremented on every change.
    pub revision: i64,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

impl ContentType {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}
