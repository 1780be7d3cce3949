//! Behaviour tests of `machina-structural`, one module per concern, in a single test
//! binary (one link instead of one per file).
//!
//! Expected messages are kube-apiserver's, byte for byte.

// Test helpers outside `#[test]` functions unwrap freely: a panic is a test failure.
#![allow(clippy::unwrap_used)]

mod cel;
mod crd_fixture;
mod defaults;
mod errors;
mod keywords_scalar;
mod keywords_structure;
mod listtype;
mod metadata;
mod prune;

use machina_structural::{ErrorKind, SchemaValidator, ValidationErrors};
use serde_json::{Value, json};

/// One expected error: field path, kind, full message.
pub type Expected<'a> = (&'a str, ErrorKind, &'a str);

/// A schema with `spec.x` of the given schema.
pub fn spec_x(prop: Value) -> Value {
    json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"x": prop}}}
    })
}

/// Validates `value` against a plain (non-resource) schema.
pub fn validate(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
) -> Result<(), ValidationErrors> {
    SchemaValidator::from_json(schema)
        .unwrap()
        .validate(value, old)
}

/// `(field, kind, message)` of every error, empty when valid.
pub fn outcome(result: Result<(), ValidationErrors>) -> Vec<(String, ErrorKind, String)> {
    match result {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .0
            .iter()
            .map(|e| (e.field.clone(), e.kind, e.to_string()))
            .collect(),
    }
}

/// Asserts the exact errors (paths, kinds and messages, in order).
#[track_caller]
pub fn assert_errors(name: &str, result: Result<(), ValidationErrors>, want: &[Expected<'_>]) {
    let got = outcome(result);
    let want: Vec<(String, ErrorKind, String)> = want
        .iter()
        .map(|(f, k, m)| ((*f).to_owned(), *k, (*m).to_owned()))
        .collect();
    pretty_assertions::assert_eq!(got, want, "case {name}");
}

/// Runs a table of `spec.x` cases: `(name, schema of x, value of x, expected errors)`.
#[track_caller]
pub fn run_spec_x_table(cases: &[(&str, Value, Value, Vec<Expected<'_>>)]) {
    for (name, prop, x, want) in cases {
        let schema = spec_x(prop.clone());
        let obj = json!({"spec": {"x": x}});
        assert_errors(name, validate(&schema, &obj, None), want);
    }
}
