//! `x-kubernetes-validations`: messages, fieldPath, reasons, transition rules,
//! correlation, blocking errors and bad rules.

use machina_structural::ErrorKind::{Forbidden, Invalid, Required, TypeInvalid};
use machina_structural::{Error, SchemaValidator};
use serde_json::{Value, json};

use crate::{assert_errors, validate};

/// A schema whose `spec` has `replicas`/`maxReplicas` and the given rules.
fn replicas_schema(rules: Value) -> Value {
    json!({"type": "object", "properties": {"spec": {
        "type": "object",
        "properties": {"replicas": {"type": "integer", "minimum": 0}, "maxReplicas": {"type": "integer"}},
        "x-kubernetes-validations": rules
    }}})
}

fn too_many() -> Value {
    json!({"spec": {"replicas": 5, "maxReplicas": 3}})
}

#[test]
fn rule_failures_on_an_object() {
    let rule = "self.replicas <= self.maxReplicas";
    let cases: Vec<(&str, Value, Vec<crate::Expected<'_>>)> = vec![
        (
            "message; object values are omitted",
            json!([{"rule": rule, "message": "replicas must not exceed maxReplicas"}]),
            vec![(
                "spec",
                Invalid,
                "spec: Invalid value: replicas must not exceed maxReplicas",
            )],
        ),
        (
            "no message",
            json!([{"rule": rule}]),
            vec![(
                "spec",
                Invalid,
                "spec: Invalid value: failed rule: self.replicas <= self.maxReplicas",
            )],
        ),
        (
            "messageExpression",
            json!([{
                "rule": rule,
                "message": "static",
                "messageExpression": "'replicas ' + string(self.replicas) + ' exceeds ' + string(self.maxReplicas)"
            }]),
            vec![("spec", Invalid, "spec: Invalid value: replicas 5 exceeds 3")],
        ),
        (
            "messageExpression yielding an empty string falls back to message",
            json!([{"rule": rule, "message": "static", "messageExpression": "''"}]),
            vec![("spec", Invalid, "spec: Invalid value: static")],
        ),
        (
            "fieldPath",
            json!([{"rule": rule, "message": "too many", "fieldPath": ".replicas"}]),
            vec![(
                "spec.replicas",
                Invalid,
                "spec.replicas: Invalid value: too many",
            )],
        ),
        (
            "fieldPath in bracket notation",
            json!([{"rule": rule, "message": "too many", "fieldPath": "['maxReplicas']"}]),
            vec![(
                "spec.maxReplicas",
                Invalid,
                "spec.maxReplicas: Invalid value: too many",
            )],
        ),
        (
            "reason Forbidden",
            json!([{"rule": rule, "message": "too many", "reason": "FieldValueForbidden"}]),
            vec![("spec", Forbidden, "spec: Forbidden: too many")],
        ),
        (
            "reason Required with fieldPath",
            json!([{"rule": rule, "message": "raise it", "reason": "FieldValueRequired", "fieldPath": ".maxReplicas"}]),
            vec![(
                "spec.maxReplicas",
                Required,
                "spec.maxReplicas: Required value: raise it",
            )],
        ),
        (
            "passing rule",
            json!([{"rule": "self.replicas >= 0"}]),
            vec![],
        ),
    ];
    for (name, rules, want) in cases {
        assert_errors(
            name,
            validate(&replicas_schema(rules), &too_many(), None),
            &want,
        );
    }
}

#[test]
fn scalar_values_are_shown() {
    let schema = crate::spec_x(json!({
        "type": "string",
        "x-kubernetes-validations": [{"rule": "self.startsWith('app-')", "message": "must start with app-"}]
    }));
    let result = validate(&schema, &json!({"spec": {"x": "db"}}), None);
    assert_errors(
        "scalar",
        result,
        &[(
            "spec.x",
            Invalid,
            r#"spec.x: Invalid value: "db": must start with app-"#,
        )],
    );
}

#[test]
fn root_rules_report_the_nil_path() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object"}},
        "x-kubernetes-validations": [{"rule": "has(self.spec)", "message": "spec is required"}]
    });
    assert_errors(
        "root",
        validate(&schema, &json!({}), None),
        &[("<nil>", Invalid, "<nil>: Invalid value: spec is required")],
    );
}

#[test]
fn unchanged_values_are_ratcheted_unless_the_rule_reads_old_self() {
    let schema = replicas_schema(json!([{"rule": "self.replicas <= self.maxReplicas"}]));
    let want = [(
        "spec",
        Invalid,
        "spec: Invalid value: failed rule: self.replicas <= self.maxReplicas",
    )];
    assert_errors("create", validate(&schema, &too_many(), None), &want);
    // A status write keeps an invalid spec that was stored before the rule existed.
    let mut with_status = too_many();
    with_status["status"] = json!({"ready": true});
    assert_errors(
        "unchanged spec",
        validate(&schema, &with_status, Some(&too_many())),
        &[],
    );
    let mut changed = too_many();
    changed["spec"]["replicas"] = json!(4);
    assert_errors(
        "changed spec",
        validate(&schema, &changed, Some(&too_many())),
        &want,
    );
    // A transition rule reads oldSelf: evaluated on unchanged values too.
    let schema = crate::spec_x(json!({
        "type": "integer",
        "x-kubernetes-validations": [{"rule": "self > oldSelf", "message": "must grow"}]
    }));
    let same = json!({"spec": {"x": 1}});
    assert_errors(
        "transition rule",
        validate(&schema, &same, Some(&same)),
        &[("spec.x", Invalid, "spec.x: Invalid value: 1: must grow")],
    );
}

#[test]
fn transition_rules_need_an_old_object() {
    let schema = crate::spec_x(json!({
        "type": "string",
        "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "is immutable"}]
    }));
    let new = json!({"spec": {"x": "b"}});
    assert_errors("create skips the rule", validate(&schema, &new, None), &[]);
    assert_errors("unchanged", validate(&schema, &new, Some(&new)), &[]);
    let old = json!({"spec": {"x": "a"}});
    let want = [(
        "spec.x",
        Invalid,
        r#"spec.x: Invalid value: "b": is immutable"#,
    )];
    assert_errors("changed", validate(&schema, &new, Some(&old)), &want);
    let old_without_field = json!({"spec": {}});
    assert_errors(
        "field added",
        validate(&schema, &new, Some(&old_without_field)),
        &[],
    );
}

#[test]
fn list_map_items_correlate_by_key() {
    let schema = crate::spec_x(json!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.size >= oldSelf.size", "message": "cannot shrink"}]
        }
    }));
    let old = json!({"spec": {"x": [{"name": "a", "size": 5}, {"name": "b", "size": 1}]}});
    let new = json!({"spec": {"x": [{"name": "b", "size": 1}, {"name": "a", "size": 3}, {"name": "c", "size": 0}]}});
    let want = [(
        "spec.x[1]",
        Invalid,
        "spec.x[1]: Invalid value: cannot shrink",
    )];
    assert_errors("reordered", validate(&schema, &new, Some(&old)), &want);
}

#[test]
fn map_values_use_key_paths() {
    let schema = crate::spec_x(json!({
        "type": "object",
        "additionalProperties": {
            "type": "integer",
            "x-kubernetes-validations": [{"rule": "self > 0", "message": "must be positive"}]
        }
    }));
    let want = [(
        "spec.x[cpu]",
        Invalid,
        "spec.x[cpu]: Invalid value: 0: must be positive",
    )];
    assert_errors(
        "map",
        validate(
            &schema,
            &json!({"spec": {"x": {"cpu": 0, "memory": 2}}}),
            None,
        ),
        &want,
    );
}

#[test]
fn all_of_rules_run_at_the_same_path() {
    let schema = crate::spec_x(json!({
        "type": "integer",
        "allOf": [{"x-kubernetes-validations": [{"rule": "self % 2 == 0", "message": "must be even"}]}]
    }));
    let want = [("spec.x", Invalid, "spec.x: Invalid value: 3: must be even")];
    assert_errors(
        "allOf",
        validate(&schema, &json!({"spec": {"x": 3}}), None),
        &want,
    );
}

#[test]
fn null_values_are_not_evaluated() {
    let schema = crate::spec_x(json!({
        "type": "string",
        "nullable": true,
        "x-kubernetes-validations": [{"rule": "self.size() > 3"}]
    }));
    assert_errors(
        "null",
        validate(&schema, &json!({"spec": {"x": null}}), None),
        &[],
    );
}

#[test]
fn blocking_errors_skip_cel() {
    let schema = replicas_schema(
        json!([{"rule": "self.replicas <= self.maxReplicas", "message": "too many"}]),
    );
    let obj = json!({"spec": {"replicas": 5, "maxReplicas": "3"}});
    let want = [
        (
            "spec.maxReplicas",
            TypeInvalid,
            r#"spec.maxReplicas: Invalid value: "string": spec.maxReplicas in body must be of type integer: "string""#,
        ),
        (
            "<nil>",
            Invalid,
            "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
        ),
    ];
    assert_errors("blocking", validate(&schema, &obj, None), &want);
}

#[test]
fn non_blocking_errors_keep_cel() {
    let schema = replicas_schema(
        json!([{"rule": "self.replicas <= self.maxReplicas", "message": "too many"}]),
    );
    let obj = json!({"spec": {"replicas": -1, "maxReplicas": -2}});
    let want = [
        (
            "spec.replicas",
            Invalid,
            "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
        ),
        ("spec", Invalid, "spec: Invalid value: too many"),
    ];
    assert_errors("non-blocking", validate(&schema, &obj, None), &want);
}

#[test]
fn runtime_errors_name_the_rule() {
    let schema = replicas_schema(json!([{"rule": "self.maxReplicas > 0"}]));
    let want = [(
        "spec",
        Invalid,
        r#"spec: Invalid value: "object": no such key: maxReplicas evaluating rule: self.maxReplicas > 0"#,
    )];
    assert_errors(
        "runtime",
        validate(&schema, &json!({"spec": {"replicas": 1}}), None),
        &want,
    );
}

#[test]
fn rules_that_do_not_compile_are_schema_errors() {
    let err = SchemaValidator::from_json(&replicas_schema(json!([{"rule": "self.replicas >"}])))
        .unwrap_err();
    assert!(
        matches!(&err, Error::CelCompile { path, .. } if path == "spec"),
        "{err}"
    );
    let err = SchemaValidator::from_json(&replicas_schema(
        json!([{"rule": "true", "messageExpression": "'a' +"}]),
    ))
    .unwrap_err();
    assert!(matches!(err, Error::CelCompile { .. }), "{err}");
}

#[test]
fn field_paths_must_name_a_field() {
    let schema = replicas_schema(json!([{"rule": "true", "fieldPath": ".nope"}]));
    let err = SchemaValidator::from_json(&schema).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidFieldPath { field_path, .. } if field_path == ".nope"),
        "{err}"
    );
}
