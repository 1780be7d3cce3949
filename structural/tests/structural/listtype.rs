//! `x-kubernetes-list-type` set and map uniqueness.

use machina_structural::ErrorKind::{Duplicate, Invalid, TypeInvalid};
use serde_json::json;

use crate::{assert_errors, validate};

#[test]
fn table() {
    let tags =
        json!({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}});
    let ports = json!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}
    });
    let endpoints = json!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["protocol", "port"],
        "items": {"type": "object", "properties": {"protocol": {"type": "string"}, "port": {"type": "integer"}}}
    });
    let groups = json!({
        "type": "object",
        "additionalProperties": {"type": "object", "properties": {"members": tags.clone()}}
    });
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "tags": tags, "ports": ports, "endpoints": endpoints, "groups": groups,
        "atomic": {"type": "array", "x-kubernetes-list-type": "atomic", "items": {"type": "string"}}
    }}}});
    let cases = vec![
        ("unique set", json!({"tags": ["a", "b"]}), vec![]),
        (
            "set duplicates reported once each, at the second occurrence",
            json!({"tags": ["a", "b", "a", "a", "b"]}),
            vec![
                (
                    "spec.tags[2]",
                    Duplicate,
                    r#"spec.tags[2]: Duplicate value: "a""#,
                ),
                (
                    "spec.tags[4]",
                    Duplicate,
                    r#"spec.tags[4]: Duplicate value: "b""#,
                ),
            ],
        ),
        (
            "unique map keys",
            json!({"ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}),
            vec![],
        ),
        (
            "duplicate map key",
            json!({"ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]}),
            vec![(
                "spec.ports[1]",
                Duplicate,
                r#"spec.ports[1]: Duplicate value: {"name":"http"}"#,
            )],
        ),
        (
            "duplicate compound key",
            json!({"endpoints": [
                {"protocol": "TCP", "port": 80}, {"protocol": "UDP", "port": 80}, {"protocol": "TCP", "port": 80}
            ]}),
            vec![(
                "spec.endpoints[2]",
                Duplicate,
                r#"spec.endpoints[2]: Duplicate value: {"port":80,"protocol":"TCP"}"#,
            )],
        ),
        (
            "map list item that is not an object",
            json!({"ports": ["http"]}),
            vec![
                (
                    "spec.ports[0]",
                    TypeInvalid,
                    r#"spec.ports[0]: Invalid value: "string": spec.ports[0] in body must be of type object: "string""#,
                ),
                (
                    "spec.ports[0]",
                    Invalid,
                    r#"spec.ports[0]: Invalid value: "http": must be an object for an array of list-type map"#,
                ),
            ],
        ),
        (
            "map values use [key] paths",
            json!({"groups": {"admins": {"members": ["x", "x"]}}}),
            vec![(
                "spec.groups[admins].members[1]",
                Duplicate,
                r#"spec.groups[admins].members[1]: Duplicate value: "x""#,
            )],
        ),
        (
            "atomic lists allow duplicates",
            json!({"atomic": ["a", "a"]}),
            vec![],
        ),
    ];
    for (name, spec, want) in cases {
        assert_errors(name, validate(&schema, &json!({"spec": spec}), None), &want);
    }
}
