//! Small JSON helpers shared by the components: dotted paths, `{{ path }}` interpolation,
//! merging defaults under a value and a canonical (key-sorted) serialisation for hashing.

use serde_json::{Map, Value};

/// The value at a dotted path (`product.tags.0`); array segments are indices.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|segment| !segment.is_empty())
        .try_fold(value, |current, segment| match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// Replaces `{{ path }}` placeholders in every string of `template` with values of `data`.
///
/// A string that is exactly one placeholder becomes the value itself (numbers stay numbers);
/// placeholders inside longer strings are replaced by the value's text. Unknown paths
/// become `null` (or the empty string inside longer strings).
pub fn interpolate(template: &Value, data: &Value) -> Value {
    match template {
        Value::String(text) => interpolate_str(text, data),
        Value::Array(items) => Value::Array(items.iter().map(|v| interpolate(v, data)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), interpolate(v, data)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn interpolate_str(text: &str, data: &Value) -> Value {
    let trimmed = text.trim();
    if let Some(path) = sole_placeholder(trimmed) {
        return lookup(data, path).cloned().unwrap_or(Value::Null);
    }
    Value::String(render_placeholders(text, data))
}

fn sole_placeholder(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

/// Replaces every `{{ path }}` in `text` by the text of the value at `path` in `data`.
pub fn render_placeholders(text: &str, data: &Value) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let path = rest[start + 2..start + len].trim();
        out.push_str(&to_text(lookup(data, path)));
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// A value as text: strings without quotes, `null`/missing as the empty string, JSON else.
pub fn to_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `value` with `defaults` merged under it: objects merge key by key (recursively), and
/// whatever `value` sets wins.
pub fn merge_under(defaults: &Value, value: Value) -> Value {
    match (defaults, value) {
        (Value::Object(base), Value::Object(over)) => {
            let mut merged: Map<String, Value> = base.clone();
            for (key, v) in over {
                let next = match base.get(&key) {
                    Some(d) => merge_under(d, v),
                    None => v,
                };
                merged.insert(key, next);
            }
            Value::Object(merged)
        }
        (defaults, Value::Null) => defaults.clone(),
        (_, value) => value,
    }
}

/// JSON text with object keys sorted, so equal values always hash the same.
pub use machina_kit::canonical_json as canonical;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_follows_objects_and_indices() {
        let v = json!({"a": {"b": [1, {"c": "x"}]}});
        assert_eq!(lookup(&v, "a.b.1.c"), Some(&json!("x")));
        assert_eq!(lookup(&v, "a.missing"), None);
        assert_eq!(lookup(&v, ""), Some(&v));
    }

    #[test]
    fn interpolate_keeps_types_for_sole_placeholders() {
        let data = json!({"context": {"sku": "ABC-123", "n": 3}});
        let filter =
            json!({"sku": "{{ context.sku }}", "n": "{{context.n}}", "t": "n={{ context.n }}!"});
        assert_eq!(
            interpolate(&filter, &data),
            json!({"sku": "ABC-123", "n": 3, "t": "n=3!"})
        );
    }

    #[test]
    fn merge_under_lets_the_value_win() {
        let merged = merge_under(
            &json!({"tone": "neutral", "max_words": 120, "nested": {"a": 1, "b": 2}}),
            json!({"tone": "playful", "nested": {"b": 3}}),
        );
        assert_eq!(
            merged,
            json!({"tone": "playful", "max_words": 120, "nested": {"a": 1, "b": 3}})
        );
    }

    #[test]
    fn canonical_sorts_keys() {
        assert_eq!(
            canonical(&json!({"b": 1, "a": [true, null]})),
            r#"{"a":[true,null],"b":1}"#
        );
    }
}
