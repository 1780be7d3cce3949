//! `events.k8s.io/v1` Events are a view of core `v1` Events, as in the real apiserver:
//! both APIs read and write the same objects (the operator records through
//! events.k8s.io; `kubectl get events` and `kubectl describe` read core v1).

use serde_json::{Map, Value, json};

use crate::registry::Resource;

/// `(events.k8s.io field, core v1 field)`.
const FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Whether `res` is the events.k8s.io view.
pub fn is_view(res: &Resource) -> bool {
    res.group == "events.k8s.io" && res.plural == "events"
}

/// Where objects of `res` are stored: `(group, plural)`.
pub fn storage(res: &Resource) -> (&str, &str) {
    if is_view(res) {
        ("", "events")
    } else {
        (&res.group, &res.plural)
    }
}

fn rename(obj: &Value, to_core: bool) -> Value {
    let Value::Object(m) = obj else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        let renamed = FIELDS.iter().find_map(|(view, core)| {
            if to_core && k == view {
                Some(*core)
            } else if !to_core && k == core {
                Some(*view)
            } else {
                None
            }
        });
        out.insert(renamed.unwrap_or(k).to_owned(), v.clone());
    }
    Value::Object(out)
}

/// A core v1 Event as events.k8s.io/v1.
pub fn to_view(core: &Value) -> Value {
    let mut v = rename(core, false);
    v["apiVersion"] = json!("events.k8s.io/v1");
    v["kind"] = json!("Event");
    v
}

/// An events.k8s.io/v1 Event as core v1 (what is stored).
pub fn to_core(view: &Value) -> Value {
    let mut v = rename(view, true);
    v["apiVersion"] = json!("v1");
    v["kind"] = json!("Event");
    v
}
