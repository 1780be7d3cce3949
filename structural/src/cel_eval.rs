//! Evaluation of compiled CEL rules over an object, with the apiserver's error shape.
//!
//! The walk follows the structural spine: properties (`a.b`), map values (`a[key]`)
//! and items (`a[0]`). `oldSelf` is the old value at the same place: by key for
//! objects and maps, by list-map keys for `x-kubernetes-list-type: map` items, and
//! absent for other list items (transition rules there are skipped, as in the
//! apiserver). `null` values are never evaluated, nor unchanged values whose rules do not
//! read `oldSelf` (ratcheting).
//!
//! A failed rule becomes `Invalid`/`Forbidden`/`Required`/`Duplicate` (per `reason`) at
//! the node's path plus the rule's `fieldPath`. The value is shown for scalars and
//! omitted for objects and arrays (kube-apiserver ≥ 1.35).

use serde_json::Value;

use crate::cel::{CelNode, Reason, RuleMeta};
use crate::error::{ErrorKind, FieldError};
use crate::path;
use crate::schema::{Additional, ListType, Node};

/// Evaluates every rule in `node`'s subtree against `value` (and `old`, if any).
pub(crate) fn evaluate(
    node: &Node,
    value: &Value,
    old: Option<&Value>,
    at: &str,
    errs: &mut Vec<FieldError>,
) {
    if !node.has_cel || value.is_null() {
        return;
    }
    let old = old.filter(|o| !o.is_null());
    // Ratcheting (kube-apiserver >= 1.30, GA in 1.33): failures of rules that do not read
    // `oldSelf` on a value equal to its old value are dropped, so such a subtree is not
    // evaluated at all (a status write never re-runs the spec's rules).
    if !node.reads_old_self && old.is_some_and(|o| o == value) {
        return;
    }
    if let Some(cel) = &node.cel
        && let Err(failures) = kube_cel::validate_compiled(&cel.compiled, value, old)
    {
        errs.extend(
            failures
                .into_iter()
                .map(|f| to_field_error(node, cel, value, at, &f)),
        );
    }
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let old_v = old.and_then(|o| o.get(key));
                if let Some(prop) = node.properties.get(key) {
                    evaluate(prop, v, old_v, &path::child(at, key), errs);
                } else if let Additional::Schema(schema) = &node.additional {
                    evaluate(schema, v, old_v, &path::key(at, key), errs);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = node.items.as_deref() else {
                return;
            };
            for (i, item) in items.iter().enumerate() {
                let old_item = correlated_item(node, item, old);
                evaluate(item_schema, item, old_item, &path::index(at, i), errs);
            }
        }
        _ => {}
    }
}

/// The old element with the same list-map keys, for `x-kubernetes-list-type: map`.
fn correlated_item<'a>(node: &Node, item: &Value, old: Option<&'a Value>) -> Option<&'a Value> {
    if node.list_type != Some(ListType::Map) {
        return None;
    }
    let same_keys = |candidate: &&Value| {
        node.list_map_keys
            .iter()
            .all(|k| candidate.get(k) == item.get(k))
    };
    old?.as_array()?.iter().find(same_keys)
}

fn to_field_error(
    node: &Node,
    cel: &CelNode,
    value: &Value,
    at: &str,
    failure: &kube_cel::ValidationError,
) -> FieldError {
    let type_value = Value::String(node.type_name().to_owned());
    let Some(rule) = cel.rule(&failure.rule) else {
        return FieldError::invalid(at, type_value, failure.message.clone());
    };
    if failure.kind != kube_cel::ErrorKind::ValidationFailure {
        // Runtime errors: `<err> evaluating rule: <rule>`, at the node, value = its type.
        let cause = std::error::Error::source(failure)
            .map_or_else(|| failure.message.clone(), |e| go_style(&e.to_string()));
        return FieldError::invalid(
            at,
            type_value,
            format!("{cause} evaluating rule: {}", rule.error_string()),
        );
    }
    let field = match &rule.field_path {
        Some(fp) => path::child(at, fp),
        None => at.to_owned(),
    };
    let shown = (!value.is_object() && !value.is_array()).then(|| value.clone());
    failure_error(&field, rule, shown, detail(rule, &failure.message))
}

/// The message: a usable `messageExpression` result, else `message`, else the default.
fn detail(rule: &RuleMeta, evaluated: &str) -> String {
    let evaluated = evaluated.trim();
    let usable = rule.has_message_expression
        && !evaluated.is_empty()
        && !evaluated.contains('\n')
        && evaluated.len() <= 5000;
    if usable {
        evaluated.to_owned()
    } else {
        rule.message_or_default()
    }
}

/// `fieldErrorForReason`.
fn failure_error(field: &str, rule: &RuleMeta, value: Option<Value>, detail: String) -> FieldError {
    match rule.reason {
        Reason::Forbidden => FieldError::forbidden(field, detail),
        Reason::Required => FieldError::required(field, detail),
        Reason::Duplicate => FieldError::new(field, ErrorKind::Duplicate, value, ""),
        Reason::Invalid => FieldError::new(field, ErrorKind::Invalid, value, detail),
    }
}

/// cel-go's runtime errors start in lower case (`no such key: x`); the `cel` crate's
/// capitalise (`No such key: x`).
fn go_style(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
