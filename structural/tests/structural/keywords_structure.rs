//! Structural keywords (required, properties, arrays, objects, maps, allOf/anyOf/
//! oneOf/not), one table per family, against kube-apiserver's messages.

use machina_structural::ErrorKind::{Invalid, NotSupported, Required, TooMany, TypeInvalid};
use serde_json::json;

use crate::run_spec_x_table;

#[test]
fn required_and_properties() {
    let prop = json!({
        "type": "object",
        "required": ["name", "size"],
        "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}
    });
    run_spec_x_table(&[
        (
            "present",
            prop.clone(),
            json!({"name": "a", "size": 1}),
            vec![],
        ),
        (
            "explicit null counts as present",
            prop.clone(),
            json!({"name": "a", "size": null}),
            vec![(
                "spec.x.size",
                TypeInvalid,
                r#"spec.x.size: Invalid value: "null": spec.x.size in body must be of type integer: "null""#,
            )],
        ),
        (
            "missing",
            prop,
            json!({}),
            vec![
                ("spec.x.name", Required, "spec.x.name: Required value"),
                ("spec.x.size", Required, "spec.x.size: Required value"),
            ],
        ),
    ]);
}

#[test]
fn arrays() {
    run_spec_x_table(&[
        (
            "too few",
            json!({"type": "array", "minItems": 1, "items": {"type": "string"}}),
            json!([]),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 0: spec.x in body should have at least 1 items",
            )],
        ),
        (
            "too many",
            json!({"type": "array", "maxItems": 2, "items": {"type": "integer"}}),
            json!([1, 2, 3]),
            vec![(
                "spec.x",
                TooMany,
                "spec.x: Too many: 3: must have at most 2 items",
            )],
        ),
        (
            "too many, singular",
            json!({"type": "array", "maxItems": 1, "items": {"type": "integer"}}),
            json!([1, 2]),
            vec![(
                "spec.x",
                TooMany,
                "spec.x: Too many: 2: must have at most 1 item",
            )],
        ),
        (
            "unique items",
            json!({"type": "array", "uniqueItems": true, "items": {"type": "integer"}}),
            json!([1, 2, 1]),
            vec![(
                "spec.x",
                Invalid,
                r#"spec.x: Invalid value: "": spec.x in body shouldn't contain duplicates"#,
            )],
        ),
        (
            "item paths use brackets",
            json!({"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"}}}}),
            json!([{"port": 1}, {"port": "x"}]),
            vec![(
                "spec.x[1].port",
                TypeInvalid,
                r#"spec.x[1].port: Invalid value: "string": spec.x[1].port in body must be of type integer: "string""#,
            )],
        ),
    ]);
}

#[test]
fn objects_and_maps() {
    run_spec_x_table(&[
        (
            "too few properties",
            json!({"type": "object", "minProperties": 1}),
            json!({}),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 0: spec.x in body should have at least 1 properties",
            )],
        ),
        (
            "too many properties stops the object's other checks",
            json!({"type": "object", "maxProperties": 1, "required": ["c"]}),
            json!({"a": 1, "b": 2}),
            vec![(
                "spec.x",
                TooMany,
                "spec.x: Too many: 2: must have at most 1 item",
            )],
        ),
        (
            "map values use the additionalProperties schema (dotted path)",
            json!({"type": "object", "additionalProperties": {"type": "integer"}}),
            json!({"cpu": 1, "memory": "lots"}),
            vec![(
                "spec.x.memory",
                TypeInvalid,
                r#"spec.x.memory: Invalid value: "string": spec.x.memory in body must be of type integer: "string""#,
            )],
        ),
        (
            "additionalProperties false",
            json!({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false}),
            json!({"a": 1, "zzz": 2}),
            vec![(
                "spec.x",
                Invalid,
                r#"spec.x: Invalid value: "zzz": spec.x.zzz in body is a forbidden property"#,
            )],
        ),
    ]);
}

#[test]
fn junctors() {
    let either = json!({"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}]});
    let exactly_one =
        json!({"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]});
    run_spec_x_table(&[
        ("anyOf satisfied", either.clone(), json!({"b": 1}), vec![]),
        (
            "anyOf failed: summary at the root, then the best branch",
            either,
            json!({}),
            vec![
                (
                    "<nil>",
                    Invalid,
                    r#"<nil>: Invalid value: "": "spec.x" must validate at least one schema (anyOf)"#,
                ),
                ("spec.x.a", Required, "spec.x.a: Required value"),
            ],
        ),
        (
            "oneOf satisfied",
            exactly_one.clone(),
            json!({"a": 1}),
            vec![],
        ),
        (
            "oneOf with two matches",
            exactly_one,
            json!({"a": 1, "b": 2}),
            vec![(
                "<nil>",
                Invalid,
                r#"<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found 2 valid alternatives"#,
            )],
        ),
        (
            "allOf reports every branch, then the summary",
            json!({"type": "integer", "allOf": [{"minimum": 5}, {"maximum": 3}]}),
            json!(4),
            vec![
                (
                    "spec.x",
                    Invalid,
                    "spec.x: Invalid value: 4: spec.x in body should be greater than or equal to 5",
                ),
                (
                    "spec.x",
                    Invalid,
                    "spec.x: Invalid value: 4: spec.x in body should be less than or equal to 3",
                ),
                (
                    "<nil>",
                    Invalid,
                    r#"<nil>: Invalid value: "": "spec.x" must validate all the schemas (allOf). None validated"#,
                ),
            ],
        ),
        (
            "not",
            json!({"type": "string", "not": {"enum": ["forbidden"]}}),
            json!("forbidden"),
            vec![(
                "<nil>",
                Invalid,
                r#"<nil>: Invalid value: "": "spec.x" must not validate the schema (not)"#,
            )],
        ),
    ]);
}

#[test]
fn a_type_error_does_not_stop_other_checks() {
    run_spec_x_table(&[(
        "wrong type and not in enum",
        json!({"type": "string", "enum": ["a", "b"]}),
        json!(7),
        vec![
            (
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "integer": spec.x in body must be of type string: "integer""#,
            ),
            (
                "spec.x",
                NotSupported,
                r#"spec.x: Unsupported value: 7: supported values: "a", "b""#,
            ),
        ],
    )]);
}
