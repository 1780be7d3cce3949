//! Defaulting: missing fields, nested objects, array items, map values and nulls.

use machina_structural::SchemaValidator;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn defaulted(schema: Value, mut obj: Value) -> Value {
    SchemaValidator::from_json(&schema)
        .unwrap()
        .apply_defaults(&mut obj);
    obj
}

fn spec(props: Value) -> Value {
    json!({"type": "object", "properties": {"spec": {"type": "object", "properties": props}}})
}

#[test]
fn table() {
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        (
            "missing scalar gets its default",
            spec(json!({"replicas": {"type": "integer", "default": 1}})),
            json!({"spec": {}}),
            json!({"spec": {"replicas": 1}}),
        ),
        (
            "present value is kept",
            spec(json!({"replicas": {"type": "integer", "default": 1}})),
            json!({"spec": {"replicas": 3}}),
            json!({"spec": {"replicas": 3}}),
        ),
        (
            "absent object without a default is not created",
            spec(
                json!({"tls": {"type": "object", "properties": {"enabled": {"type": "boolean", "default": true}}}}),
            ),
            json!({"spec": {}}),
            json!({"spec": {}}),
        ),
        (
            "absent object with a default is created, then defaulted inside",
            spec(json!({"tls": {
                "type": "object",
                "default": {},
                "properties": {"enabled": {"type": "boolean", "default": true}}
            }})),
            json!({"spec": {}}),
            json!({"spec": {"tls": {"enabled": true}}}),
        ),
        (
            "present object is defaulted inside",
            spec(
                json!({"tls": {"type": "object", "properties": {"enabled": {"type": "boolean", "default": true}}}}),
            ),
            json!({"spec": {"tls": {}}}),
            json!({"spec": {"tls": {"enabled": true}}}),
        ),
        (
            "array items are defaulted",
            spec(json!({"ports": {"type": "array", "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "port": {"type": "integer", "default": 80}}
            }}})),
            json!({"spec": {"ports": [{"name": "a"}, {"name": "b", "port": 8080}]}}),
            json!({"spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 8080}]}}),
        ),
        (
            "map values are defaulted",
            spec(
                json!({"features": {"type": "object", "additionalProperties": {
                    "type": "object",
                    "properties": {"enabled": {"type": "boolean", "default": false}}
                }}}),
            ),
            json!({"spec": {"features": {"cache": {}, "audit": {"enabled": true}}}}),
            json!({"spec": {"features": {"cache": {"enabled": false}, "audit": {"enabled": true}}}}),
        ),
        (
            "null of a defaulted non-nullable field takes the default",
            spec(json!({"mode": {"type": "string", "default": "Streaming"}})),
            json!({"spec": {"mode": null}}),
            json!({"spec": {"mode": "Streaming"}}),
        ),
        (
            "null of a non-nullable field without default is dropped",
            spec(json!({"mode": {"type": "string"}})),
            json!({"spec": {"mode": null}}),
            json!({"spec": {}}),
        ),
        (
            "null of a nullable field is kept",
            spec(json!({"mode": {"type": "string", "nullable": true, "default": "x"}})),
            json!({"spec": {"mode": null}}),
            json!({"spec": {"mode": null}}),
        ),
        (
            "null array item takes the item default",
            spec(
                json!({"names": {"type": "array", "items": {"type": "string", "default": "anon"}}}),
            ),
            json!({"spec": {"names": ["a", null]}}),
            json!({"spec": {"names": ["a", "anon"]}}),
        ),
        (
            "unknown fields are left alone",
            spec(json!({"a": {"type": "integer", "default": 1}})),
            json!({"spec": {"zzz": {"b": null}}}),
            json!({"spec": {"a": 1, "zzz": {"b": null}}}),
        ),
    ];
    for (name, schema, input, want) in cases {
        assert_eq!(defaulted(schema, input), want, "case {name}");
    }
}

#[test]
fn defaults_are_copies() {
    let schema = spec(json!({"items": {"type": "array", "items": {
        "type": "object",
        "properties": {"tags": {"type": "object", "default": {"team": "core"}, "additionalProperties": {"type": "string"}}}
    }}}));
    let mut out = defaulted(schema, json!({"spec": {"items": [{}, {}]}}));
    out["spec"]["items"][0]["tags"]["team"] = json!("changed");
    assert_eq!(out["spec"]["items"][1]["tags"]["team"], json!("core"));
}
