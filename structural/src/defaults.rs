//! Defaulting, as the apiserver does it when decoding a custom resource.
//!
//! Two passes, both following the structural spine (`properties`, `items`,
//! `additionalProperties`; never the value validations under `allOf`/`anyOf`/...):
//! 1. `null`s of non-nullable fields without a default are dropped
//!    (`PruneNonNullableNullsWithoutDefaults`), so `spec: {replicas: null}` is the same
//!    as leaving `replicas` out.
//! 2. Missing fields (and `null`s of non-nullable fields) with a `default` get a copy
//!    of it, and defaulting continues inside the copy and every existing value,
//!    including array items and map values. An absent object is only created when it
//!    has a `default` itself.

use serde_json::Value;

use crate::schema::{Additional, Node};

/// Applies both passes to `value` in place.
pub(crate) fn apply_defaults(node: &Node, value: &mut Value) {
    prune_nulls(Some(node), value);
    default(node, value);
}

fn non_nullable_without_default(schema: Option<&Node>) -> bool {
    schema.is_some_and(|s| !s.nullable && s.default.is_none())
}

fn additional_schema(node: Option<&Node>) -> Option<&Node> {
    match node.map(|n| &n.additional) {
        Some(Additional::Schema(schema)) => Some(schema),
        _ => None,
    }
}

fn prune_nulls(node: Option<&Node>, value: &mut Value) {
    match value {
        Value::Object(map) => {
            let schema_for = |key: &str| {
                node.and_then(|n| n.properties.get(key))
                    .or_else(|| additional_schema(node))
            };
            map.retain(|key, v| !(v.is_null() && non_nullable_without_default(schema_for(key))));
            for (key, v) in map.iter_mut() {
                prune_nulls(schema_for(key), v);
            }
        }
        Value::Array(items) => {
            let item_schema = node.and_then(|n| n.items.as_deref());
            for item in items {
                prune_nulls(item_schema, item);
            }
        }
        _ => {}
    }
}

/// Whether `value` is a `null` the schema does not allow, i.e. one a default replaces.
fn replaceable_null(value: &Value, schema: &Node) -> bool {
    value.is_null() && !schema.nullable && schema.default.is_some()
}

fn default(node: &Node, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, prop) in &node.properties {
                let Some(dflt) = &prop.default else { continue };
                if map.get(key).is_none_or(|v| replaceable_null(v, prop)) {
                    map.insert(key.clone(), dflt.clone());
                }
            }
            for (key, v) in map.iter_mut() {
                let Some(schema) = node.child_schema(key) else {
                    continue;
                };
                if replaceable_null(v, schema)
                    && let Some(dflt) = &schema.default
                {
                    *v = dflt.clone();
                }
                default(schema, v);
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = node.items.as_deref() else {
                return;
            };
            for item in items.iter_mut() {
                if replaceable_null(item, item_schema)
                    && let Some(dflt) = &item_schema.default
                {
                    *item = dflt.clone();
                }
                default(item_schema, item);
            }
        }
        _ => {}
    }
}
