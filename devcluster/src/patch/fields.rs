//! Field sets and `metadata.managedFields`: which manager owns which field.
//!
//! Simplification (documented in the README): a list is one atomic field — it is owned
//! as a whole, never element by element (`k:`/`v:` entries written by a real apiserver
//! are read back as ownership of the whole list).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// A field path (`["spec", "replicas"]`).
pub type Path = Vec<String>;
/// A set of leaf fields.
pub type FieldSet = BTreeSet<Path>;

/// The metadata fields that have owners; the rest is identity or server-set.
const OWNED_METADATA: &[&str] = &["labels", "annotations", "finalizers", "ownerReferences"];

/// Which part of an object a request may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (a kind without status subresource).
    All,
    /// Everything but `status` (main endpoint of a kind with status subresource).
    NoStatus,
    /// Only `status` (the `/status` subresource).
    Status,
}

/// The owned leaf fields of `obj` within `scope`.
pub fn leaves(obj: &Value, scope: Scope) -> FieldSet {
    let mut out = FieldSet::new();
    let Value::Object(map) = obj else { return out };
    for (k, v) in map {
        let keep = match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) => false,
            ("status", Scope::NoStatus) => false,
            ("status", _) => true,
            (_, Scope::Status) => false,
            _ => true,
        };
        if !keep {
            continue;
        }
        if k == "metadata" {
            for mk in OWNED_METADATA {
                if let Some(mv) = v.get(*mk) {
                    walk(mv, vec!["metadata".into(), (*mk).into()], &mut out);
                }
            }
        } else {
            walk(v, vec![k.clone()], &mut out);
        }
    }
    out
}

fn walk(v: &Value, prefix: Path, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let mut p = prefix.clone();
                p.push(k.clone());
                walk(child, p, out);
            }
        }
        _ => {
            out.insert(prefix);
        }
    }
}

/// The value at `path`, if present.
pub fn get<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |cur, seg| cur.get(seg))
}

/// Removes the field at `path` (no-op when absent).
pub fn remove(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for seg in parents {
        match cur.get_mut(seg) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Value::Object(m) = cur {
        m.remove(last);
    }
}

/// Whether one path is a prefix of the other (they contend for the same value).
pub fn overlaps(a: &[String], b: &[String]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// `.spec.replicas`, as conflict messages print a path.
pub fn display(path: &[String]) -> String {
    path.iter().map(|s| format!(".{s}")).collect()
}

/// Encodes a set as `fieldsV1` (`{"f:spec": {"f:replicas": {}}}`).
pub fn encode(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        insert(&mut root, path);
    }
    Value::Object(root)
}

/// Adds one path; a node that is both owned and has owned children gets ".".
fn insert(node: &mut Map<String, Value>, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let entry = node
        .entry(format!("f:{first}"))
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(child) = entry {
        if rest.is_empty() {
            if !child.is_empty() {
                child.insert(".".into(), json!({}));
            }
        } else {
            insert(child, rest);
        }
    }
}

/// Decodes `fieldsV1`; list element keys (`k:`, `v:`, `i:`) mean the whole list.
pub fn decode(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    decode_into(v, Vec::new(), &mut out);
    out
}

fn decode_into(v: &Value, prefix: Path, out: &mut FieldSet) {
    let Value::Object(m) = v else { return };
    let mut has_fields = false;
    for (k, child) in m {
        if let Some(name) = k.strip_prefix("f:") {
            has_fields = true;
            let mut p = prefix.clone();
            p.push(name.to_owned());
            decode_into(child, p, out);
        } else if k != "." && !prefix.is_empty() {
            // An element of a list: own the list as a whole.
            out.insert(prefix.clone());
            return;
        }
    }
    if (!has_fields || m.contains_key(".")) && !prefix.is_empty() {
        out.insert(prefix);
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    /// Field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The apiVersion the manager used.
    pub api_version: String,
    /// `status` for writes through the status subresource.
    pub subresource: Option<String>,
    /// When the entry last changed.
    pub time: String,
    /// The owned fields.
    pub fields: FieldSet,
}

impl Managed {
    /// Whether this entry is the one for `(manager, operation, subresource)`.
    pub fn is(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }
}

/// The entries of `metadata.managedFields`.
pub fn read(obj: &Value) -> Vec<Managed> {
    let Some(entries) = obj["metadata"]["managedFields"].as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|e| Managed {
            manager: e["manager"].as_str().unwrap_or_default().to_owned(),
            operation: e["operation"].as_str().unwrap_or("Update").to_owned(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().to_owned(),
            subresource: e["subresource"].as_str().map(str::to_owned),
            time: e["time"].as_str().unwrap_or_default().to_owned(),
            fields: decode(&e["fieldsV1"]),
        })
        .collect()
}

/// Writes the entries (empty ones dropped) to `metadata.managedFields`.
pub fn write(obj: &mut Value, entries: &[Managed]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": encode(&e.fields),
            });
            if let Some(s) = &e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    if list.is_empty() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
    } else {
        obj["metadata"]["managedFields"] = Value::Array(list);
    }
}

/// The server's clock as managedFields and timestamps print it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Records a non-apply write by `manager`: the fields it changed become its own and
/// leave every other manager; fields it removed leave everyone.
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    sub: Option<&str>,
    scope: Scope,
) {
    let empty = Value::Null;
    let old = old.unwrap_or(&empty);
    let mut entries = read(old);
    let new_leaves = leaves(new, scope);
    let old_leaves = leaves(old, scope);
    let changed: FieldSet = new_leaves
        .iter()
        .filter(|p| get(old, p) != get(new, p))
        .cloned()
        .collect();
    let removed: FieldSet = old_leaves.difference(&new_leaves).cloned().collect();
    if !changed.is_empty() || !removed.is_empty() {
        for e in entries.iter_mut() {
            let mine = e.is(manager, "Update", sub);
            e.fields.retain(|p| {
                !removed.iter().any(|r| overlaps(r, p) && r.len() <= p.len())
                    && (mine || !changed.iter().any(|c| overlaps(c, p)))
            });
        }
        let time = now();
        match entries.iter_mut().find(|e| e.is(manager, "Update", sub)) {
            Some(e) => {
                e.fields.extend(changed);
                e.time = time;
                e.api_version = api_version.to_owned();
            }
            None => entries.push(Managed {
                manager: manager.to_owned(),
                operation: "Update".into(),
                api_version: api_version.to_owned(),
                subresource: sub.map(str::to_owned),
                time,
                fields: changed,
            }),
        }
    }
    write(new, &entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn leaves_skip_identity_and_respect_scope() {
        let o = json!({"apiVersion": "v1", "kind": "X",
            "metadata": {"name": "a", "labels": {"x": "1"}, "uid": "u"},
            "spec": {"a": 1, "l": [1], "e": {}}, "status": {"s": 1}});
        let all: Vec<Path> = leaves(&o, Scope::NoStatus).into_iter().collect();
        assert_eq!(
            all,
            vec![
                p("metadata.labels.x"),
                p("spec.a"),
                p("spec.e"),
                p("spec.l")
            ]
        );
        let st: Vec<Path> = leaves(&o, Scope::Status).into_iter().collect();
        assert_eq!(st, vec![p("status.s")]);
    }

    #[test]
    fn encode_decode_round_trip() {
        let set: FieldSet = [p("spec.a"), p("spec.b.c"), p("metadata.labels.x")]
            .into_iter()
            .collect();
        let enc = encode(&set);
        assert_eq!(
            enc,
            json!({"f:metadata": {"f:labels": {"f:x": {}}}, "f:spec": {"f:a": {}, "f:b": {"f:c": {}}}})
        );
        assert_eq!(decode(&enc), set);
        let real =
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}}}}});
        assert_eq!(decode(&real), [p("spec.containers")].into_iter().collect());
    }
}
