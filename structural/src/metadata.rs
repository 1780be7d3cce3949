//! Type and object metadata checks: at the resource root (`ValidateObjectMetaAccessor`
//! with DNS-1123 subdomain names) and in `x-kubernetes-embedded-resource` objects
//! (apiextensions `objectmeta.Validate`).
//!
//! Labels, annotations, owner references and the other `ObjectMeta` fields are not
//! checked here.

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::path;
use crate::schema::{Additional, Node};

/// Whether objects of the resource live in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `scope: Namespaced`: `metadata.namespace` is required.
    Namespaced,
    /// `scope: Cluster`: `metadata.namespace` is forbidden.
    Cluster,
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
        && b.iter().all(inner)
}

/// `IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if !s.split('.').all(is_label) {
        errs.push(SUBDOMAIN_MSG.to_owned());
    }
    errs
}

/// `IsDNS1123Label`.
pub(crate) fn dns1123_label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !is_label(s) {
        errs.push(LABEL_MSG.to_owned());
    }
    errs
}

/// `IsDNS1035Label`.
fn dns1035_label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !(is_label(s) && s.as_bytes()[0].is_ascii_lowercase()) {
        errs.push(DNS1035_MSG.to_owned());
    }
    errs
}

fn str_field<'a>(meta: &'a Map<String, Value>, key: &str) -> &'a str {
    meta.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Checks `apiVersion`, `kind` and `metadata` of the object itself.
pub(crate) fn validate_root(obj: &Value, scope: Scope, errs: &mut Vec<FieldError>) {
    let Some(root) = obj.as_object() else { return };
    for key in ["apiVersion", "kind"] {
        if str_field(root, key).is_empty() {
            errs.push(FieldError::required(key, ""));
        }
    }
    let empty = Map::new();
    let meta = match root.get("metadata") {
        Some(Value::Object(meta)) => meta,
        None | Some(Value::Null) => &empty,
        Some(other) => {
            errs.push(FieldError::invalid(
                "metadata",
                other.clone(),
                "must be an object",
            ));
            return;
        }
    };
    validate_names(meta, errs);
    validate_namespace(meta, scope, errs);
}

fn validate_names(meta: &Map<String, Value>, errs: &mut Vec<FieldError>) {
    let (name, generate_name) = (str_field(meta, "name"), str_field(meta, "generateName"));
    if name.is_empty() && generate_name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    }
    if !generate_name.is_empty() {
        let prefix = generate_name.strip_suffix('-').unwrap_or(generate_name);
        for msg in dns1123_subdomain_errors(prefix) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                generate_name.into(),
                msg,
            ));
        }
    }
    if !name.is_empty() {
        for msg in dns1123_subdomain_errors(name) {
            errs.push(FieldError::invalid("metadata.name", name.into(), msg));
        }
    }
}

fn validate_namespace(meta: &Map<String, Value>, scope: Scope, errs: &mut Vec<FieldError>) {
    let namespace = str_field(meta, "namespace");
    match scope {
        Scope::Namespaced if namespace.is_empty() => {
            errs.push(FieldError::required("metadata.namespace", ""));
        }
        Scope::Cluster if !namespace.is_empty() => {
            errs.push(FieldError::forbidden(
                "metadata.namespace",
                "not allowed on this type",
            ));
        }
        Scope::Namespaced => {
            for msg in dns1123_label_errors(namespace) {
                errs.push(FieldError::invalid(
                    "metadata.namespace",
                    namespace.into(),
                    msg,
                ));
            }
        }
        Scope::Cluster => {}
    }
}

/// Checks every `x-kubernetes-embedded-resource` object in `value` (the resource
/// root itself is covered by [`validate_root`]).
pub(crate) fn validate_embedded(node: &Node, value: &Value, at: &str, errs: &mut Vec<FieldError>) {
    match value {
        Value::Object(map) => {
            if node.embedded_resource {
                validate_embedded_resource(map, at, errs);
            }
            for (key, v) in map {
                if let Some(prop) = node.properties.get(key) {
                    validate_embedded(prop, v, &path::child(at, key), errs);
                } else if let Additional::Schema(schema) = &node.additional {
                    validate_embedded(schema, v, &path::key(at, key), errs);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &node.items {
                for (i, item) in items.iter().enumerate() {
                    validate_embedded(item_schema, item, &path::index(at, i), errs);
                }
            }
        }
        _ => {}
    }
}

fn validate_embedded_resource(map: &Map<String, Value>, at: &str, errs: &mut Vec<FieldError>) {
    for key in ["apiVersion", "kind"] {
        let field = path::child(at, key);
        match map.get(key) {
            None => errs.push(FieldError::required(&field, "")),
            Some(Value::String(s)) if s.is_empty() => {
                errs.push(FieldError::invalid(&field, "".into(), "must not be empty"))
            }
            Some(Value::String(s)) => errs.extend(type_meta_error(key, s, &field)),
            Some(other) => errs.push(FieldError::invalid(
                &field,
                other.clone(),
                "must be a string",
            )),
        }
    }
    let meta_path = path::child(at, "metadata");
    match map.get("metadata") {
        None => {}
        Some(Value::Object(meta)) => validate_embedded_meta(meta, &meta_path, errs),
        Some(other) => errs.push(FieldError::invalid(
            &meta_path,
            other.clone(),
            "must be an object",
        )),
    }
}

fn type_meta_error(key: &str, s: &str, field: &str) -> Option<FieldError> {
    if key == "apiVersion" {
        let slashes = s.matches('/').count();
        return (slashes > 1).then(|| {
            FieldError::invalid(
                field,
                s.into(),
                format!("unexpected GroupVersion string: {s}"),
            )
        });
    }
    let errs = dns1035_label_errors(&s.to_lowercase());
    (!errs.is_empty()).then(|| {
        let detail = format!(
            "may have mixed case, but should otherwise match: {}",
            errs.join(",")
        );
        FieldError::invalid(field, s.into(), detail)
    })
}

/// Embedded names are path segments (`ValidatePathSegmentName`), not DNS names.
fn validate_embedded_meta(meta: &Map<String, Value>, at: &str, errs: &mut Vec<FieldError>) {
    let name = str_field(meta, "name");
    let name_path = path::child(at, "name");
    let problems = match name {
        "." | ".." => vec![format!("may not be '{name}'")],
        _ => ["/", "%"]
            .iter()
            .filter(|c| name.contains(*c))
            .map(|c| format!("may not contain '{c}'"))
            .collect(),
    };
    for msg in problems {
        errs.push(FieldError::invalid(&name_path, name.into(), msg));
    }
    let namespace = str_field(meta, "namespace");
    if !namespace.is_empty() {
        for msg in dns1123_label_errors(namespace) {
            errs.push(FieldError::invalid(
                &path::child(at, "namespace"),
                namespace.into(),
                msg,
            ));
        }
    }
}
