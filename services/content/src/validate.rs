//! Checks of content type definitions and of entry values against their type. Pure.
//!
//! Every problem is collected (not just the first), so a client can show them all.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::model::{ContentType, FieldDef, FieldKind, Fields};

pub use crate::localize::{merge, resolve};

/// Longest type id, slug or field name.
const MAX_NAME: usize = 64;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field, e.g. `fields.title` or `fields.tags[2]`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A reference found in entry values: where, which id, which types it may point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Path of the value.
    pub field: String,
    /// The referenced entry id.
    pub id: String,
    /// Allowed content types (any when empty).
    pub to: Vec<String>,
}

fn is_identifier(s: &str, first: fn(char) -> bool, rest: fn(char) -> bool) -> bool {
    let mut chars = s.chars();
    s.len() <= MAX_NAME && chars.next().is_some_and(first) && chars.all(rest)
}

/// A type id: `[a-z][a-z0-9_-]*`.
pub fn is_type_id(s: &str) -> bool {
    is_identifier(
        s,
        |c| c.is_ascii_lowercase(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-',
    )
}

/// A slug: `[a-z0-9][a-z0-9-]*`.
pub fn is_slug(s: &str) -> bool {
    is_identifier(
        s,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    )
}

/// A field name: `[A-Za-z][A-Za-z0-9_]*`.
fn is_field_name(s: &str) -> bool {
    is_identifier(
        s,
        |c| c.is_ascii_alphabetic(),
        |c| c.is_ascii_alphanumeric() || c == '_',
    )
}

/// A locale: `ll` or `ll-RR` style (letters and digits in dash-separated parts).
pub fn is_locale(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    lang_ok
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Problems with a content type definition.
pub fn check_type(id: Option<&str>, fields: &[FieldDef]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(id) = id.filter(|id| !is_type_id(id)) {
        errors.push(FieldError::new(
            "id",
            format!("{id:?} is not a type id ([a-z][a-z0-9_-]*, at most {MAX_NAME} characters)"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, def) in fields.iter().enumerate() {
        let at = format!("fields[{i}]");
        if !is_field_name(&def.name) {
            errors.push(FieldError::new(
                format!("{at}.name"),
                format!("{:?} is not a field name ([A-Za-z][A-Za-z0-9_]*)", def.name),
            ));
        }
        if !seen.insert(def.name.as_str()) {
            errors.push(FieldError::new(
                format!("{at}.name"),
                format!("{:?} is defined twice", def.name),
            ));
        }
        check_kind(&def.kind, &at, &mut errors);
    }
    errors
}

fn check_kind(kind: &FieldKind, at: &str, errors: &mut Vec<FieldError>) {
    match kind {
        FieldKind::Enum { values } if values.is_empty() => {
            errors.push(FieldError::new(
                format!("{at}.values"),
                "an enum needs at least one value",
            ));
        }
        FieldKind::Number {
            min: Some(min),
            max: Some(max),
        } if min > max => {
            errors.push(FieldError::new(
                format!("{at}.min"),
                "min is greater than max",
            ));
        }
        FieldKind::List { of, .. } => {
            if matches!(**of, FieldKind::List { .. }) {
                errors.push(FieldError::new(
                    format!("{at}.of"),
                    "lists of lists are not supported",
                ));
            }
            check_kind(of, &format!("{at}.of"), errors);
        }
        _ => {}
    }
}

/// Checks the values written for one locale against `ty`: unknown fields,
/// missing required ones, and each value against its kind.
pub fn check_values(ty: &ContentType, values: &Fields) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for name in values.keys() {
        if ty.field(name).is_none() {
            errors.push(FieldError::new(
                format!("fields.{name}"),
                format!("the type {} has no field {name}", ty.id),
            ));
        }
    }
    for def in &ty.fields {
        let at = format!("fields.{}", def.name);
        match values.get(&def.name).filter(|v| !v.is_null()) {
            None if def.required => errors.push(FieldError::new(at, "is required")),
            None => {}
            Some(value) => check_value(def, &def.kind, value, &at, &mut errors),
        }
    }
    errors
}

fn check_value(
    def: &FieldDef,
    kind: &FieldKind,
    value: &Value,
    at: &str,
    errors: &mut Vec<FieldError>,
) {
    let mut fail = |reason: String| errors.push(FieldError::new(at, reason));
    match (kind, value) {
        (FieldKind::Text | FieldKind::RichText, Value::String(s)) => {
            if let Some(max) = def.max_length.filter(|max| s.chars().count() > *max) {
                fail(format!("is longer than {max} characters"));
            }
        }
        (FieldKind::Number { min, max }, Value::Number(n)) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            if min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
                fail(format!(
                    "must be within [{}, {}]",
                    fmt_bound(*min),
                    fmt_bound(*max)
                ));
            }
        }
        (FieldKind::Boolean, Value::Bool(_)) => {}
        (FieldKind::Datetime, Value::String(s)) => {
            if chrono::DateTime::parse_from_rfc3339(s).is_err() {
                fail(format!("{s:?} is not an RFC 3339 timestamp"));
            }
        }
        (FieldKind::Enum { values }, Value::String(s)) => {
            if !values.contains(s) {
                fail(format!("{s:?} is not one of: {}", values.join(", ")));
            }
        }
        (FieldKind::Reference { .. } | FieldKind::Media, Value::String(s)) => {
            if s.is_empty() || s.len() > 128 {
                fail("must be a non-empty id of at most 128 characters".to_owned());
            }
        }
        (FieldKind::List { of, max_items }, Value::Array(items)) => {
            if let Some(max) = max_items.filter(|max| items.len() > *max) {
                fail(format!("has more than {max} items"));
            }
            for (i, item) in items.iter().enumerate() {
                check_value(def, of, item, &format!("{at}[{i}]"), errors);
            }
        }
        (kind, value) => fail(format!(
            "expected {}, got {}",
            expects(kind),
            json_kind(value)
        )),
    }
}

fn fmt_bound(bound: Option<f64>) -> String {
    bound.map_or_else(|| "-".to_owned(), |b| b.to_string())
}

fn expects(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Text | FieldKind::RichText => "a string",
        FieldKind::Number { .. } => "a number",
        FieldKind::Boolean => "a boolean",
        FieldKind::Datetime => "an RFC 3339 timestamp string",
        FieldKind::Enum { .. } => "one of the enum's strings",
        FieldKind::Reference { .. } => "an entry id string",
        FieldKind::Media => "a media asset id string",
        FieldKind::List { .. } => "an array",
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every reference in `values` (already checked against `ty`).
pub fn references(ty: &ContentType, values: &Fields) -> Vec<Reference> {
    let mut found = Vec::new();
    for def in &ty.fields {
        if let Some(value) = values.get(&def.name) {
            collect_refs(
                &def.kind,
                value,
                &format!("fields.{}", def.name),
                &mut found,
            );
        }
    }
    found
}

fn collect_refs(kind: &FieldKind, value: &Value, at: &str, found: &mut Vec<Reference>) {
    match (kind, value) {
        (FieldKind::Reference { to }, Value::String(id)) => found.push(Reference {
            field: at.to_owned(),
            id: id.clone(),
            to: to.clone(),
        }),
        (FieldKind::List { of, .. }, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                collect_refs(of, item, &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mk_type() -> ContentType {
        let fields: Vec<FieldDef> = serde_json::from_value(json!([
            {"name": "title", "kind": "text", "required": true, "maxLength": 10, "localized": true},
            {"name": "body", "kind": "richText"},
            {"name": "price", "kind": "number", "min": 0},
            {"name": "live", "kind": "boolean"},
            {"name": "at", "kind": "datetime"},
            {"name": "color", "kind": "enum", "values": ["red", "blue"]},
            {"name": "author", "kind": "reference", "to": ["person"]},
            {"name": "image", "kind": "media"},
            {"name": "tags", "kind": "list", "of": {"kind": "text"}, "maxItems": 2, "maxLength": 3},
            {"name": "related", "kind": "list", "of": {"kind": "reference"}}
        ]))
        .unwrap();
        ContentType {
            id: "article".into(),
            title: None,
            fields,
            revision: 1,
            updated_at: String::new(),
        }
    }

    fn values(v: Value) -> Fields {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn valid_values_pass() {
        let v = values(json!({
            "title": "Hello", "body": "# hi", "price": 3.5, "live": true,
            "at": "2026-01-02T03:04:05Z", "color": "red", "author": "a1",
            "image": "m1", "tags": ["a", "b"], "related": ["x", "y"]
        }));
        assert_eq!(check_values(&mk_type(), &v), vec![]);
    }

    #[test]
    fn every_problem_is_named() {
        let v = values(json!({
            "title": "far too long a title", "price": -1, "live": "yes",
            "at": "yesterday", "color": "green", "tags": ["a", "bbbb", "c"], "extra": 1
        }));
        let fields: Vec<String> = check_values(&mk_type(), &v)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "fields.extra",
                "fields.title",
                "fields.price",
                "fields.live",
                "fields.at",
                "fields.color",
                "fields.tags",
                "fields.tags[1]"
            ]
        );
    }

    #[test]
    fn required_is_enforced() {
        let errors = check_values(&mk_type(), &values(json!({"title": null})));
        assert_eq!(errors, vec![FieldError::new("fields.title", "is required")]);
    }

    #[test]
    fn type_definitions_are_checked() {
        let fields: Vec<FieldDef> = serde_json::from_value(json!([
            {"name": "a", "kind": "text"}, {"name": "a", "kind": "text"},
            {"name": "9x", "kind": "enum", "values": []},
            {"name": "l", "kind": "list", "of": {"kind": "list", "of": {"kind": "text"}}}
        ]))
        .unwrap();
        let errors: Vec<String> = check_type(Some("Bad Id"), &fields)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            errors,
            [
                "id",
                "fields[1].name",
                "fields[2].name",
                "fields[2].values",
                "fields[3].of"
            ]
        );
    }

    #[test]
    fn references_are_found_in_lists() {
        let refs = references(
            &mk_type(),
            &values(json!({"author": "p", "related": ["x"]})),
        );
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].to, ["person"]);
        assert_eq!(refs[1].field, "fields.related[0]");
    }

    #[test]
    fn names() {
        assert!(is_locale("en") && is_locale("fr-CA") && is_locale("zh-Hant-TW"));
        assert!(!is_locale("e") && !is_locale("en.x") && !is_locale("en-"));
        assert!(is_slug("hello-world-2") && !is_slug("Hello") && !is_slug("-a"));
    }
}
