//! OpenAPI schema validation with kube-openapi's semantics (the validator the
//! apiserver runs on custom resources before list-type and CEL checks).
//!
//! For each value the checks run in kube-openapi's order — type, `allOf`/`anyOf`/
//! `oneOf`/`not`, string, format, number, array, `enum`, object — and each check only
//! applies to values of its JSON kind, so a type mismatch does not stop the rest.
//! Paths are kube-openapi's: `.` between properties *and* map keys, `[i]` for items.

use serde_json::{Map, Value};

use crate::error::{ErrorKind, FieldError, ROOT_FIELD};
use crate::path;
use crate::render::go_quote;
use crate::schema::{Additional, Node};
use crate::validate_scalar::{
    check_enum, check_format, check_number, check_string, is_float64_json_integer,
};

/// Validates `value` against `node`, appending errors in apiserver order.
pub(crate) fn validate(node: &Node, value: &Value, at: &str, errs: &mut Vec<FieldError>) {
    if value.is_null() {
        check_null(node, at, errs);
        check_enum(node, value, at, errs);
        return;
    }
    check_type(node, value, at, errs);
    check_junctors(node, value, at, errs);
    match value {
        Value::String(s) => {
            check_string(node, s, at, errs);
            check_format(node, s, at, errs);
        }
        Value::Number(n) => check_number(node, n, at, errs),
        Value::Array(items) => check_array(node, items, at, errs),
        _ => {}
    }
    check_enum(node, value, at, errs);
    if let Value::Object(map) = value {
        check_object(node, map, at, errs);
    }
}

/// Validates into a fresh list (used for junctor branches).
fn collect(node: &Node, value: &Value, at: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate(node, value, at, &mut errs);
    errs
}

/// kube-openapi's `InvalidType` error: `<path> in body must be of type <t>: "<actual>"`.
pub(crate) fn type_error(at: &str, expected: &str, actual: &str) -> FieldError {
    let detail = format!(
        "{at} in body must be of type {expected}: {}",
        go_quote(actual)
    );
    FieldError::new(
        at,
        ErrorKind::TypeInvalid,
        Some(Value::String(actual.to_owned())),
        detail,
    )
}

fn check_null(node: &Node, at: &str, errs: &mut Vec<FieldError>) {
    if !node.types.is_empty() && !node.nullable {
        errs.push(type_error(at, &node.types.join(","), "null"));
    }
}

/// The JSON type and Go-decoded format of a non-null value, as kube-openapi infers them.
fn json_kind(value: &Value) -> (&'static str, &'static str) {
    match value {
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
        Value::Number(n) if n.is_i64() => ("integer", "int64"),
        Value::Number(_) | Value::Null => ("number", "float64"),
    }
}

fn check_type(node: &Node, value: &Value, at: &str, errs: &mut Vec<FieldError>) {
    let format = node.format.as_ref().map(|(name, _)| name.as_str());
    if node.types.is_empty() && format.is_none() {
        return;
    }
    let has = |t: &str| node.types.iter().any(|x| x == t);
    let (actual, data_format) = json_kind(value);
    let float_int =
        actual == "number" && value.as_f64().is_some_and(is_float64_json_integer) && has("integer");
    let int_float = actual == "integer" && has("number");
    let string_or_array = value.is_string() || value.is_array();
    if let Some(format) = format {
        if !(string_or_array || has(actual) || data_format == format || float_int || int_float) {
            errs.push(type_error(at, format, data_format));
            return;
        }
        if !(has("number") || has("integer")) && string_or_array {
            return;
        }
    }
    if !(has(actual) || float_int || int_float) {
        errs.push(type_error(at, &node.types.join(","), actual));
    }
}

/// A summary error from `allOf`/`anyOf`/`oneOf`/`not`: kube-openapi reports these as
/// plain errors, which the apiserver files under the root path with value `""`.
fn composite(detail: String) -> FieldError {
    FieldError::invalid(ROOT_FIELD, Value::String(String::new()), detail)
}

fn check_junctors(node: &Node, value: &Value, at: &str, errs: &mut Vec<FieldError>) {
    if !node.any_of.is_empty() {
        check_any_of(&node.any_of, value, at, errs);
    }
    if !node.one_of.is_empty() {
        check_one_of(&node.one_of, value, at, errs);
    }
    if !node.all_of.is_empty() {
        let mut validated = 0;
        for branch in &node.all_of {
            let branch_errs = collect(branch, value, at);
            validated += usize::from(branch_errs.is_empty());
            errs.extend(branch_errs);
        }
        if validated != node.all_of.len() {
            let none = if validated == 0 {
                ". None validated"
            } else {
                ""
            };
            errs.push(composite(format!(
                "{} must validate all the schemas (allOf){none}",
                go_quote(at)
            )));
        }
    }
    if let Some(not) = &node.not
        && collect(not, value, at).is_empty()
    {
        errs.push(composite(format!(
            "{} must not validate the schema (not)",
            go_quote(at)
        )));
    }
}

/// Keeps the failing branch with the fewest errors: an approximation of kube-openapi,
/// which keeps the branch with the most passed checks.
fn keep_best(best: &mut Option<Vec<FieldError>>, candidate: Vec<FieldError>) {
    if best.as_ref().is_none_or(|b| candidate.len() < b.len()) {
        *best = Some(candidate);
    }
}

fn check_any_of(branches: &[Node], value: &Value, at: &str, errs: &mut Vec<FieldError>) {
    let mut best = None;
    for branch in branches {
        let branch_errs = collect(branch, value, at);
        if branch_errs.is_empty() {
            return;
        }
        keep_best(&mut best, branch_errs);
    }
    errs.push(composite(format!(
        "{} must validate at least one schema (anyOf)",
        go_quote(at)
    )));
    errs.extend(best.unwrap_or_default());
}

fn check_one_of(branches: &[Node], value: &Value, at: &str, errs: &mut Vec<FieldError>) {
    let mut best = None;
    let mut validated = 0;
    for branch in branches {
        let branch_errs = collect(branch, value, at);
        if branch_errs.is_empty() {
            validated += 1;
        } else if validated == 0 {
            keep_best(&mut best, branch_errs);
        }
    }
    if validated == 1 {
        return;
    }
    let found = if validated == 0 {
        "Found none valid".to_owned()
    } else {
        format!("Found {validated} valid alternatives")
    };
    errs.push(composite(format!(
        "{} must validate one and only one schema (oneOf). {found}",
        go_quote(at)
    )));
    if validated == 0 {
        errs.extend(best.unwrap_or_default());
    }
}

fn check_array(node: &Node, items: &[Value], at: &str, errs: &mut Vec<FieldError>) {
    if let Some(item_schema) = &node.items {
        for (i, item) in items.iter().enumerate() {
            validate(item_schema, item, &path::index(at, i), errs);
        }
    }
    let size = items.len() as i64;
    if let Some(min) = node.min_items
        && size < min
    {
        errs.push(FieldError::invalid(
            at,
            size.into(),
            format!("{at} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = node.max_items
        && size > max
    {
        errs.push(too_many(at, size, max));
    }
    if node.unique_items && has_duplicates(items) {
        errs.push(FieldError::invalid(
            at,
            "".into(),
            format!("{at} in body shouldn't contain duplicates"),
        ));
    }
}

fn has_duplicates(items: &[Value]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items[..i].contains(a))
}

/// `field.TooMany(path, actual, max)`, used for `maxItems` and `maxProperties`.
fn too_many(at: &str, actual: i64, max: i64) -> FieldError {
    let detail = match max {
        1 => "must have at most 1 item".to_owned(),
        m if m >= 0 => format!("must have at most {m} items"),
        _ => "has too many items".to_owned(),
    };
    FieldError::new(at, ErrorKind::TooMany, Some(actual.into()), detail)
}

fn check_object(node: &Node, map: &Map<String, Value>, at: &str, errs: &mut Vec<FieldError>) {
    let count = map.len() as i64;
    if let Some(min) = node.min_properties
        && count < min
    {
        let detail = format!("{at} in body should have at least {min} properties");
        errs.push(FieldError::invalid(at, count.into(), detail));
        return;
    }
    if let Some(max) = node.max_properties
        && count > max
    {
        errs.push(too_many(at, count, max));
        return;
    }
    check_additional(node, map, at, errs);
    for (name, schema) in &node.properties {
        if let Some(value) = map.get(name) {
            validate(schema, value, &path::child(at, name), errs);
        }
    }
    for name in &node.required {
        if !map.contains_key(name) {
            errs.push(FieldError::required(&path::child(at, name), ""));
        }
    }
}

fn check_additional(node: &Node, map: &Map<String, Value>, at: &str, errs: &mut Vec<FieldError>) {
    let unknown = map
        .iter()
        .filter(|(k, _)| !node.properties.contains_key(*k));
    match &node.additional {
        Additional::Bool(false) => {
            for (key, _) in unknown {
                let detail = format!("{at}.{key} in body is a forbidden property");
                errs.push(FieldError::invalid(at, Value::String(key.clone()), detail));
            }
        }
        Additional::Schema(schema) => {
            for (key, value) in unknown {
                validate(schema, value, &path::child(at, key), errs);
            }
        }
        Additional::Bool(true) | Additional::Absent => {}
    }
}
