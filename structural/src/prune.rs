//! Pruning of unknown fields, as the apiserver does when decoding a custom resource.
//!
//! Fields not declared under `properties` (and not covered by
//! `additionalProperties`) are removed, except below
//! `x-kubernetes-preserve-unknown-fields: true`, where unknown fields stay but
//! declared ones are still pruned inside. `apiVersion`, `kind` and `metadata` are kept
//! at the resource root and in `x-kubernetes-embedded-resource` objects. The removed
//! paths are returned (`spec.foo`, `spec.items[0].bar`) so a strict caller can reject
//! the object with `unknown field "spec.foo"` instead.

use serde_json::Value;

use crate::path;
use crate::schema::{Additional, Node};

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Prunes `value` in place and returns the removed paths, sorted.
pub(crate) fn prune(node: &Node, value: &mut Value, resource_root: bool) -> Vec<String> {
    let mut removed = Vec::new();
    let mut walk = Walk {
        removed: &mut removed,
    };
    walk.object_or_array(Some(node), value, "", resource_root);
    removed.sort();
    removed
}

struct Walk<'a> {
    removed: &'a mut Vec<String>,
}

impl Walk<'_> {
    fn value(&mut self, node: Option<&Node>, value: &mut Value, at: &str) {
        match node {
            Some(n) if n.preserve_unknown => self.skip_prune(n, value, at),
            _ => self.object_or_array(node, value, at, false),
        }
    }

    /// The apiserver's `prune`: with no schema at all, every object field goes.
    fn object_or_array(
        &mut self,
        node: Option<&Node>,
        value: &mut Value,
        at: &str,
        keep_meta: bool,
    ) {
        match value {
            Value::Object(map) => {
                let keep_meta = keep_meta || node.is_some_and(|n| n.embedded_resource);
                let mut drop = Vec::new();
                for (key, v) in map.iter_mut() {
                    if keep_meta && META_FIELDS.contains(&key.as_str()) {
                        continue;
                    }
                    match known_schema(node, key) {
                        Known::Schema(schema) => self.value(Some(schema), v, &path::child(at, key)),
                        Known::Unschematized => self.value(None, v, &path::child(at, key)),
                        Known::Unknown => drop.push(key.clone()),
                    }
                }
                if !drop.is_empty() {
                    map.retain(|key, _| !drop.contains(key));
                    self.removed
                        .extend(drop.iter().map(|key| path::child(at, key)));
                }
            }
            Value::Array(items) => {
                let item_schema = node.and_then(|n| n.items.as_deref());
                for (i, item) in items.iter_mut().enumerate() {
                    self.value(item_schema, item, &path::index(at, i));
                }
            }
            _ => {}
        }
    }

    /// The apiserver's `skipPrune`: unknown fields stay, known ones are pruned inside.
    fn skip_prune(&mut self, node: &Node, value: &mut Value, at: &str) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if node.embedded_resource && META_FIELDS.contains(&key.as_str()) {
                        continue;
                    }
                    match known_schema(Some(node), key) {
                        Known::Schema(schema) => self.value(Some(schema), v, &path::child(at, key)),
                        Known::Unschematized => self.value(None, v, &path::child(at, key)),
                        Known::Unknown => {}
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Some(item_schema) = node.items.as_deref() {
                        self.skip_prune(item_schema, item, &path::index(at, i));
                    }
                }
            }
            _ => {}
        }
    }
}

/// What the schema says about an object key.
enum Known<'a> {
    /// A declared property or an `additionalProperties` schema.
    Schema(&'a Node),
    /// `additionalProperties: true` (or `false`): kept, but everything inside is pruned.
    Unschematized,
    /// Not declared: pruned.
    Unknown,
}

fn known_schema<'a>(node: Option<&'a Node>, key: &str) -> Known<'a> {
    let Some(node) = node else {
        return Known::Unknown;
    };
    if let Some(prop) = node.properties.get(key) {
        return Known::Schema(prop);
    }
    match &node.additional {
        Additional::Schema(schema) => Known::Schema(schema),
        Additional::Bool(_) => Known::Unschematized,
        Additional::Absent => Known::Unknown,
    }
}
