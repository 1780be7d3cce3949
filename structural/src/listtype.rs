//! `x-kubernetes-list-type` invariants: unique elements for `set`, unique keys for
//! `map` (apiextensions `listtype.ValidateListSetsAndMaps`).
//!
//! Each duplicated element (or key) is reported once, at the index of its second
//! occurrence, as `Duplicate value`. Map keys in paths use `[key]`, as the apiserver's
//! `field.Path.Key` does here.

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::path;
use crate::render::go_json;
use crate::schema::{Additional, ListType, Node};

/// Checks every list reachable through the structural spine of `value`.
pub(crate) fn validate(node: &Node, value: &Value, at: &str, errs: &mut Vec<FieldError>) {
    match value {
        Value::Array(items) => validate_array(node, items, at, errs),
        Value::Object(map) => validate_object(node, map, at, errs),
        _ => {}
    }
}

fn validate_object(node: &Node, map: &Map<String, Value>, at: &str, errs: &mut Vec<FieldError>) {
    if let Additional::Schema(schema) = &node.additional {
        for (key, v) in map {
            validate(schema, v, &path::key(at, key), errs);
        }
    }
    for (key, v) in map {
        if let Some(prop) = node.properties.get(key) {
            validate(prop, v, &path::child(at, key), errs);
        }
    }
}

fn validate_array(node: &Node, items: &[Value], at: &str, errs: &mut Vec<FieldError>) {
    match node.list_type {
        Some(ListType::Set) => {
            for i in non_unique(items) {
                errs.push(FieldError::duplicate(&path::index(at, i), items[i].clone()));
            }
        }
        Some(ListType::Map) => validate_list_map(node, items, at, errs),
        Some(ListType::Atomic) | None => {}
    }
    if let Some(item_schema) = &node.items {
        for (i, item) in items.iter().enumerate() {
            validate(item_schema, item, &path::index(at, i), errs);
        }
    }
}

/// A comparison key with Go's equality: `1` (int64) and `1.0` (float64) differ;
/// objects and arrays compare by their JSON encoding.
fn identity(value: &Value) -> String {
    match value {
        Value::Number(n) if n.is_i64() => format!("i:{n}"),
        Value::Number(n) => format!("f:{}", n.as_f64().unwrap_or(f64::NAN)),
        other => go_json(other),
    }
}

/// Indices of the second occurrence of each value that occurs more than once.
fn non_unique(items: &[Value]) -> Vec<usize> {
    let mut seen: Vec<(String, usize)> = Vec::with_capacity(items.len());
    let mut result = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = identity(item);
        match seen.iter_mut().find(|(s, _)| *s == id) {
            Some((_, times)) => {
                *times += 1;
                if *times == 2 {
                    result.push(i);
                }
            }
            None => seen.push((id, 1)),
        }
    }
    result
}

fn validate_list_map(node: &Node, items: &[Value], at: &str, errs: &mut Vec<FieldError>) {
    if let Some(i) = items.iter().position(|x| !x.is_null() && !x.is_object()) {
        let detail = "must be an object for an array of list-type map";
        errs.push(FieldError::invalid(
            &path::index(at, i),
            items[i].clone(),
            detail,
        ));
        return;
    }
    if items.len() <= 1 {
        return;
    }
    let keys: Vec<Value> = items
        .iter()
        .map(|x| key_of(&node.list_map_keys, x))
        .collect();
    for i in non_unique(&keys) {
        errs.push(FieldError::duplicate(&path::index(at, i), keys[i].clone()));
    }
}

/// The `{key: value, ...}` identity of a list-map element; absent keys are left out,
/// so an element without keys is `{}`.
fn key_of(key_fields: &[String], item: &Value) -> Value {
    let mut key = Map::new();
    if let Value::Object(obj) = item {
        for field in key_fields {
            if let Some(v) = obj.get(field) {
                key.insert(field.clone(), v.clone());
            }
        }
    }
    Value::Object(key)
}
