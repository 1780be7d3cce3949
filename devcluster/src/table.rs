//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`: server-side printing with a
//! CRD's `additionalPrinterColumns` (Name and Age for built-in kinds).

use serde_json::{Value, json};

use crate::registry::Resource;

/// Evaluates the JSONPath subset printer columns use: `.a.b`, `[N]`, `[*]`,
/// `[?(@.k=="v")]`. Returns every match.
pub fn jsonpath<'a>(obj: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur: Vec<&Value> = vec![obj];
    let path = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('$');
    for seg in split_segments(path) {
        let (name, filter) = match seg.find('[') {
            Some(i) => (&seg[..i], Some(seg[i + 1..].trim_end_matches(']'))),
            None => (seg, None),
        };
        if !name.is_empty() {
            cur = cur.into_iter().filter_map(|v| v.get(name)).collect();
        }
        if let Some(f) = filter {
            cur = cur.into_iter().flat_map(|v| select(v, f)).collect();
        }
    }
    cur
}

fn split_segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                if i > start {
                    out.push(&path[start..i]);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < path.len() {
        out.push(&path[start..]);
    }
    out
}

fn select<'a>(v: &'a Value, filter: &str) -> Vec<&'a Value> {
    let Some(items) = v.as_array() else {
        return Vec::new();
    };
    if filter == "*" {
        return items.iter().collect();
    }
    if let Ok(i) = filter.parse::<usize>() {
        return items.get(i).into_iter().collect();
    }
    let cond = filter.trim_start_matches("?(").trim_end_matches(')');
    let Some((lhs, rhs)) = cond.split_once("==") else {
        return Vec::new();
    };
    let field = lhs.trim().trim_start_matches("@.");
    let want = rhs.trim().trim_matches('"').trim_matches('\'');
    items
        .iter()
        .filter(|it| {
            let got = jsonpath(it, field);
            got.first()
                .is_some_and(|g| g.as_str().map_or_else(|| g.to_string(), str::to_owned) == want)
        })
        .collect()
}

/// Go's `duration.HumanDuration`, as `kubectl get` prints ages.
pub fn human_age(ts: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    match secs {
        s if s < 120 => format!("{s}s"),
        _ if m < 10 => {
            if secs % 60 == 0 {
                format!("{m}m")
            } else {
                format!("{m}m{}s", secs % 60)
            }
        }
        _ if h < 3 => format!("{m}m"),
        _ if h < 8 => {
            if m % 60 == 0 {
                format!("{h}h")
            } else {
                format!("{h}h{}m", m % 60)
            }
        }
        _ if h < 48 => format!("{h}h"),
        _ if d < 8 => {
            if h % 24 == 0 {
                format!("{d}d")
            } else {
                format!("{d}d{}h", h % 24)
            }
        }
        _ if d < 730 => format!("{d}d"),
        _ => format!("{}y", d / 365),
    }
}

fn columns(res: &Resource) -> Vec<Value> {
    let mut cols = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0, "jsonPath": ".metadata.name"}),
    ];
    if let Some(builtin) = crate::printers::columns(res) {
        cols.extend(builtin);
        return cols;
    }
    let extra = res
        .crd
        .as_ref()
        .and_then(|c| c.columns.get(&res.version))
        .cloned()
        .unwrap_or_default();
    if extra.is_empty() {
        cols.push(json!({"name": "Age", "type": "date", "format": "", "description": "Age of the object.", "priority": 0, "jsonPath": ".metadata.creationTimestamp"}));
    }
    for c in extra {
        cols.push(json!({"name": c["name"], "type": c["type"], "format": c.get("format").cloned().unwrap_or(json!("")),
            "description": c.get("description").cloned().unwrap_or(json!("")), "priority": c.get("priority").cloned().unwrap_or(json!(0)),
            "jsonPath": c["jsonPath"]}));
    }
    cols
}

fn cell(obj: &Value, col: &Value) -> Value {
    let path = col["jsonPath"].as_str().unwrap_or_default();
    if let Some(name) = path.strip_prefix('=') {
        return crate::printers::cell(name, obj);
    }
    let found = jsonpath(obj, path);
    let Some(v) = found.first() else {
        return Value::Null;
    };
    if col["type"] == "date" {
        return json!(v.as_str().map(human_age).unwrap_or_default());
    }
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => (*v).clone(),
        other => json!(other.to_string()),
    }
}

fn row(obj: &Value, cols: &[Value]) -> Value {
    let cells: Vec<Value> = cols.iter().map(|c| cell(obj, c)).collect();
    json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}})
}

fn table(res: &Resource, items: &[Value], metadata: Value) -> Value {
    let cols = columns(res);
    let rows: Vec<Value> = items.iter().map(|o| row(o, &cols)).collect();
    let defs: Vec<Value> = cols
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if let Some(m) = c.as_object_mut() {
                m.remove("jsonPath");
            }
            c
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": defs, "rows": rows})
}

/// A list as a Table.
pub fn list_table(res: &Resource, list: &Value) -> Value {
    let items = list["items"].as_array().cloned().unwrap_or_default();
    table(res, &items, list["metadata"].clone())
}

/// One object as a Table.
pub fn object_table(res: &Resource, obj: &Value) -> Value {
    table(
        res,
        std::slice::from_ref(obj),
        json!({"resourceVersion": obj["metadata"]["resourceVersion"]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths() {
        let o = json!({"status": {"conditions": [{"type": "Progressing", "status": "True"}, {"type": "Ready", "status": "False", "reason": "Waiting"}], "n": 3}});
        assert_eq!(
            jsonpath(&o, r#".status.conditions[?(@.type=="Ready")].status"#),
            vec![&json!("False")]
        );
        assert_eq!(jsonpath(&o, ".status.n"), vec![&json!(3)]);
        assert_eq!(
            jsonpath(&o, ".status.conditions[0].type"),
            vec![&json!("Progressing")]
        );
        assert!(jsonpath(&o, ".status.missing").is_empty());
    }
}
