//! Field-path strings in the apiserver's notation: `spec.items[0].name`, `spec.labels[key]`.
//!
//! Paths are plain strings; the empty string is the object root.

/// `path.name` (or `name` at the root), like `field.Path.Child`.
pub(crate) fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// `path[i]`, like `field.Path.Index`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// `path[key]`, like `field.Path.Key` (used by list-type and CEL errors for map keys).
pub(crate) fn key(path: &str, key: &str) -> String {
    format!("{path}[{key}]")
}

/// `path[*]`: a schema location for "any item", used only in schema error messages.
pub(crate) fn index_any(path: &str) -> String {
    format!("{path}[*]")
}
