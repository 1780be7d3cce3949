//! Scalar keywords (type, nullable, int-or-string, enum, numbers, strings, formats),
//! one table per family, against kube-apiserver's messages.

use machina_structural::ErrorKind::{Invalid, NotSupported, TooLong, TypeInvalid};
use serde_json::json;

use crate::run_spec_x_table;

#[test]
fn type_and_nullable() {
    run_spec_x_table(&[
        ("integer ok", json!({"type": "integer"}), json!(3), vec![]),
        (
            "integral float is an integer",
            json!({"type": "integer"}),
            json!(1.0),
            vec![],
        ),
        (
            "integer is a number",
            json!({"type": "number"}),
            json!(3),
            vec![],
        ),
        (
            "string for integer",
            json!({"type": "integer"}),
            json!("string"),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "string": spec.x in body must be of type integer: "string""#,
            )],
        ),
        (
            "fraction for integer",
            json!({"type": "integer"}),
            json!(1.5),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "number": spec.x in body must be of type integer: "number""#,
            )],
        ),
        (
            "integer for string",
            json!({"type": "string"}),
            json!(5),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "integer": spec.x in body must be of type string: "integer""#,
            )],
        ),
        (
            "string for boolean",
            json!({"type": "boolean"}),
            json!("true"),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "string": spec.x in body must be of type boolean: "string""#,
            )],
        ),
        (
            "array for object",
            json!({"type": "object"}),
            json!([]),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "array": spec.x in body must be of type object: "array""#,
            )],
        ),
        (
            "object for array",
            json!({"type": "array"}),
            json!({}),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "object": spec.x in body must be of type array: "object""#,
            )],
        ),
        (
            "null when not nullable",
            json!({"type": "string"}),
            json!(null),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "null": spec.x in body must be of type string: "null""#,
            )],
        ),
        (
            "null when nullable",
            json!({"type": "string", "nullable": true}),
            json!(null),
            vec![],
        ),
    ]);
}

#[test]
fn int_or_string() {
    let prop = json!({"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]});
    run_spec_x_table(&[
        ("int", prop.clone(), json!(8080), vec![]),
        ("string", prop.clone(), json!("50%"), vec![]),
        (
            "boolean",
            json!({"x-kubernetes-int-or-string": true}),
            json!(true),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "boolean": spec.x in body must be of type integer,string: "boolean""#,
            )],
        ),
    ]);
}

#[test]
fn enum_values() {
    run_spec_x_table(&[
        (
            "member",
            json!({"type": "string", "enum": ["Streaming", "Scheduled"]}),
            json!("Scheduled"),
            vec![],
        ),
        (
            "string outside",
            json!({"type": "string", "enum": ["Streaming", "Scheduled"]}),
            json!("Foo"),
            vec![(
                "spec.x",
                NotSupported,
                r#"spec.x: Unsupported value: "Foo": supported values: "Streaming", "Scheduled""#,
            )],
        ),
        (
            "integer outside",
            json!({"type": "integer", "enum": [1, 2]}),
            json!(3),
            vec![(
                "spec.x",
                NotSupported,
                r#"spec.x: Unsupported value: 3: supported values: "1", "2""#,
            )],
        ),
        (
            "numbers compare numerically",
            json!({"type": "number", "enum": [2]}),
            json!(2.0),
            vec![],
        ),
        (
            "null never matches an enum",
            json!({"type": "string", "nullable": true, "enum": ["a"]}),
            json!(null),
            vec![(
                "spec.x",
                NotSupported,
                r#"spec.x: Unsupported value: null: supported values: "a""#,
            )],
        ),
    ]);
}

#[test]
fn numeric_bounds() {
    run_spec_x_table(&[
        (
            "at minimum",
            json!({"type": "integer", "minimum": 1}),
            json!(1),
            vec![],
        ),
        (
            "below minimum",
            json!({"type": "integer", "minimum": 1}),
            json!(0),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 0: spec.x in body should be greater than or equal to 1",
            )],
        ),
        (
            "at exclusive minimum",
            json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true}),
            json!(1),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 1: spec.x in body should be greater than 1",
            )],
        ),
        (
            "above maximum",
            json!({"type": "integer", "maximum": 10}),
            json!(11),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 11: spec.x in body should be less than or equal to 10",
            )],
        ),
        (
            "at exclusive maximum",
            json!({"type": "integer", "maximum": 10, "exclusiveMaximum": true}),
            json!(10),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 10: spec.x in body should be less than 10",
            )],
        ),
        (
            "float below float minimum",
            json!({"type": "number", "minimum": 0.5}),
            json!(0.25),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 0.25: spec.x in body should be greater than or equal to 0.5",
            )],
        ),
        (
            "integer against fractional bound is truncated, as in Go",
            json!({"type": "integer", "minimum": 1.5}),
            json!(1),
            vec![],
        ),
    ]);
}

#[test]
fn multiple_of() {
    run_spec_x_table(&[
        (
            "integer multiple",
            json!({"type": "integer", "multipleOf": 5}),
            json!(15),
            vec![],
        ),
        (
            "integer not multiple",
            json!({"type": "integer", "multipleOf": 5}),
            json!(7),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 7: spec.x in body should be a multiple of 5",
            )],
        ),
        (
            "float multiple within tolerance",
            json!({"type": "number", "multipleOf": 0.1}),
            json!(0.3),
            vec![],
        ),
        (
            "float not multiple",
            json!({"type": "number", "multipleOf": 0.1}),
            json!(0.35),
            vec![(
                "spec.x",
                Invalid,
                "spec.x: Invalid value: 0.35: spec.x in body should be a multiple of 0.1",
            )],
        ),
    ]);
}

#[test]
fn string_length_and_pattern() {
    run_spec_x_table(&[
        (
            "length counts characters, not bytes",
            json!({"type": "string", "maxLength": 3}),
            json!("héé"),
            vec![],
        ),
        (
            "too short",
            json!({"type": "string", "minLength": 3}),
            json!("ab"),
            vec![(
                "spec.x",
                Invalid,
                r#"spec.x: Invalid value: "ab": spec.x in body should be at least 3 chars long"#,
            )],
        ),
        (
            "too long",
            json!({"type": "string", "maxLength": 3}),
            json!("abcd"),
            vec![(
                "spec.x",
                TooLong,
                "spec.x: Too long: may not be more than 3 bytes",
            )],
        ),
        (
            "too long, singular",
            json!({"type": "string", "maxLength": 1}),
            json!("ab"),
            vec![(
                "spec.x",
                TooLong,
                "spec.x: Too long: may not be more than 1 byte",
            )],
        ),
        (
            "pattern mismatch",
            json!({"type": "string", "pattern": "^[a-z]+$"}),
            json!("Abc"),
            vec![(
                "spec.x",
                Invalid,
                r#"spec.x: Invalid value: "Abc": spec.x in body should match '^[a-z]+$'"#,
            )],
        ),
        (
            "first string failure wins",
            json!({"type": "string", "maxLength": 2, "pattern": "^[a-z]+$"}),
            json!("ABC"),
            vec![(
                "spec.x",
                TooLong,
                "spec.x: Too long: may not be more than 2 bytes",
            )],
        ),
    ]);
}

#[test]
fn formats() {
    run_spec_x_table(&[
        (
            "date-time ok",
            json!({"type": "string", "format": "date-time"}),
            json!("2024-05-01T10:00:00Z"),
            vec![],
        ),
        (
            "date-time bad",
            json!({"type": "string", "format": "date-time"}),
            json!("yesterday"),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday""#,
            )],
        ),
        (
            "byte bad",
            json!({"type": "string", "format": "byte"}),
            json!("!!"),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "!!": spec.x in body must be of type byte: "!!""#,
            )],
        ),
        (
            "int32 is not enforced by the apiserver",
            json!({"type": "integer", "format": "int32"}),
            json!(1_099_511_627_776_i64),
            vec![],
        ),
        (
            "unknown formats are ignored",
            json!({"type": "string", "format": "k8s-anything"}),
            json!("?"),
            vec![],
        ),
        (
            "number for a date-time reports the data format",
            json!({"type": "string", "format": "date-time"}),
            json!(5),
            vec![(
                "spec.x",
                TypeInvalid,
                r#"spec.x: Invalid value: "int64": spec.x in body must be of type date-time: "int64""#,
            )],
        ),
    ]);
}
