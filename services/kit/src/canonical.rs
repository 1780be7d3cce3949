//! Canonical JSON text: object keys sorted at every level, so equal values always hash the
//! same whatever the map order (`serde_json/preserve_order` may be on in a build).

use serde_json::Value;

/// JSON text of `value` with object keys sorted at every level and no whitespace.
pub fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [true, null], "x": "q\""}});
        let b = json!({"a": {"x": "q\"", "y": [true, null]}, "b": 1});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"q\"","y":[true,null]},"b":1}"#
        );
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }
}
