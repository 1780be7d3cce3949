//! Server-side apply: merge an applied configuration into the live object, with
//! per-manager ownership, conflicts, force, and removal of fields a manager stopped
//! applying (unless another manager still owns them).

use serde_json::{Map, Value};

use super::fields::{self, FieldSet, Managed, Scope};
use super::merge_patch;

/// One contested field: `(manager, apiVersion, .path)`.
pub type Conflict = (String, String, String);

/// An apply request.
#[derive(Debug, Clone, Copy)]
pub struct Apply<'a> {
    /// `fieldManager`.
    pub manager: &'a str,
    /// The apiVersion of the request.
    pub api_version: &'a str,
    /// `Some("status")` through the status subresource.
    pub subresource: Option<&'a str>,
    /// Which part of the object this endpoint writes.
    pub scope: Scope,
    /// `force=true`: take contested fields instead of failing.
    pub force: bool,
}

/// Keeps only the part of the applied configuration this endpoint may write.
fn scoped(applied: &Value, scope: Scope) -> Value {
    let Value::Object(m) = applied else {
        return Value::Object(Map::new());
    };
    let kept = m
        .iter()
        .filter(|(k, _)| match scope {
            Scope::All => true,
            Scope::NoStatus => k.as_str() != "status",
            Scope::Status => matches!(k.as_str(), "status" | "apiVersion" | "kind" | "metadata"),
        })
        .map(|(k, v)| {
            if scope == Scope::Status && k == "metadata" {
                let mut md = Map::new();
                for key in ["name", "namespace"] {
                    if let Some(x) = v.get(key) {
                        md.insert(key.to_owned(), x.clone());
                    }
                }
                (k.clone(), Value::Object(md))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    Value::Object(kept)
}

/// Applies `applied` to `live` (the current object, or a skeleton for a create).
/// Returns the new object with `managedFields` updated, or the conflicts.
pub fn apply(live: &Value, applied: &Value, req: Apply<'_>) -> Result<Value, Vec<Conflict>> {
    let applied = scoped(applied, req.scope);
    let new_set = fields::leaves(&applied, req.scope);
    let mut entries = fields::read(live);

    let mut conflicts: Vec<Conflict> = Vec::new();
    let mut contested: FieldSet = FieldSet::new();
    for path in &new_set {
        if fields::get(live, path) == fields::get(&applied, path) {
            continue; // same value: shared ownership, never a conflict
        }
        for e in &entries {
            // Managers are identified by name, operation and subresource: the same
            // name writing with `Update` (kubectl scale, kubectl edit) is another owner.
            if e.is(req.manager, "Apply", req.subresource) {
                continue;
            }
            if e.fields.iter().any(|q| fields::overlaps(q, path)) {
                let c = (
                    e.manager.clone(),
                    e.api_version.clone(),
                    fields::display(path),
                );
                if !conflicts.contains(&c) {
                    conflicts.push(c);
                }
                contested.insert(path.clone());
            }
        }
    }
    if !conflicts.is_empty() && !req.force {
        return Err(conflicts);
    }
    for e in entries
        .iter_mut()
        .filter(|e| !e.is(req.manager, "Apply", req.subresource))
    {
        e.fields
            .retain(|q| !contested.iter().any(|c| fields::overlaps(c, q)));
    }

    let mut obj = live.clone();
    let previous: FieldSet = entries
        .iter()
        .find(|e| e.is(req.manager, "Apply", req.subresource))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for gone in previous.difference(&new_set) {
        let owned_elsewhere = entries
            .iter()
            .filter(|e| !e.is(req.manager, "Apply", req.subresource))
            .any(|e| e.fields.iter().any(|q| fields::overlaps(q, gone)));
        if !owned_elsewhere {
            fields::remove(&mut obj, gone);
        }
    }
    merge_patch(&mut obj, &applied);

    let time = fields::now();
    match entries
        .iter_mut()
        .find(|e| e.is(req.manager, "Apply", req.subresource))
    {
        Some(e) => {
            if e.fields != new_set {
                e.time = time;
            }
            e.fields = new_set;
            e.api_version = req.api_version.to_owned();
        }
        None => entries.push(Managed {
            manager: req.manager.to_owned(),
            operation: "Apply".into(),
            api_version: req.api_version.to_owned(),
            subresource: req.subresource.map(str::to_owned),
            time,
            fields: new_set,
        }),
    }
    fields::write(&mut obj, &entries);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(manager: &str, force: bool) -> Apply<'_> {
        Apply {
            manager,
            api_version: "v1",
            subresource: None,
            scope: Scope::NoStatus,
            force,
        }
    }

    fn base() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    }

    #[test]
    fn conflicts_unless_forced_and_shared_when_equal() {
        let a = apply(
            &base(),
            &json!({"metadata": {"name": "c"}, "spec": {"x": 1, "y": 1}}),
            req("a", false),
        )
        .expect("a");
        let err = apply(&a, &json!({"spec": {"x": 2}}), req("b", false)).unwrap_err();
        assert_eq!(
            err,
            vec![("a".to_owned(), "v1".to_owned(), ".spec.x".to_owned())]
        );
        // Same value: co-owned, no conflict.
        let shared = apply(&a, &json!({"spec": {"y": 1}}), req("b", false)).expect("shared");
        assert_eq!(
            shared["metadata"]["managedFields"].as_array().map(Vec::len),
            Some(2)
        );
        let forced = apply(&a, &json!({"spec": {"x": 2}}), req("b", true)).expect("forced");
        assert_eq!(forced["spec"]["x"], 2);
        let owners = fields::read(&forced);
        assert!(
            !owners[0]
                .fields
                .contains(&vec!["spec".to_owned(), "x".to_owned()])
        );
    }

    #[test]
    fn fields_no_longer_applied_are_removed_unless_owned_elsewhere() {
        let a = apply(
            &base(),
            &json!({"spec": {"x": 1, "y": 1, "z": 1}}),
            req("a", false),
        )
        .expect("a");
        let b = apply(&a, &json!({"spec": {"y": 1}}), req("b", false)).expect("b");
        let a2 = apply(&b, &json!({"spec": {"x": 1}}), req("a", false)).expect("a2");
        assert_eq!(a2["spec"], json!({"x": 1, "y": 1}));
    }

    #[test]
    fn reapplying_is_identical() {
        let cfg = json!({"spec": {"x": 1}});
        let once = apply(&base(), &cfg, req("a", false)).expect("once");
        let twice = apply(&once, &cfg, req("a", false)).expect("twice");
        assert_eq!(once, twice);
    }
}
