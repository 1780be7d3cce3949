//! Pruning of unknown fields and the field-validation modes of admission.

use machina_structural::{AdmitError, FieldValidation, SchemaValidator, Scope};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "groups": {"type": "object", "additionalProperties": {
                        "type": "object", "properties": {"size": {"type": "integer"}}
                    }},
                    "raw": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": true,
                        "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}
                    },
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {
                        "spec": {"type": "object", "properties": {"image": {"type": "string"}}}
                    }}
                }
            }
        }
    })
}

fn resource() -> SchemaValidator {
    SchemaValidator::for_resource(&schema(), Scope::Namespaced).unwrap()
}

fn obj(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}, "spec": spec})
}

#[test]
fn table() {
    let cases: Vec<(&str, Value, Value, Vec<&str>)> = vec![
        (
            "known fields stay",
            json!({"name": "a"}),
            json!({"name": "a"}),
            vec![],
        ),
        (
            "unknown field goes",
            json!({"name": "a", "colour": "red"}),
            json!({"name": "a"}),
            vec!["spec.colour"],
        ),
        (
            "inside array items",
            json!({"items": [{"id": "1"}, {"id": "2", "extra": true}]}),
            json!({"items": [{"id": "1"}, {"id": "2"}]}),
            vec!["spec.items[1].extra"],
        ),
        (
            "map keys are data, not fields",
            json!({"labels": {"any": "x"}}),
            json!({"labels": {"any": "x"}}),
            vec![],
        ),
        (
            "inside map values",
            json!({"groups": {"g1": {"size": 1, "bogus": 2}}}),
            json!({"groups": {"g1": {"size": 1}}}),
            vec!["spec.groups.g1.bogus"],
        ),
        (
            "preserve-unknown keeps unknown fields but prunes declared ones inside",
            json!({"raw": {"anything": {"deep": 1}, "known": {"a": "x", "b": "y"}}}),
            json!({"raw": {"anything": {"deep": 1}, "known": {"a": "x"}}}),
            vec!["spec.raw.known.b"],
        ),
        (
            "embedded resources keep apiVersion, kind and metadata",
            json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"image": "i", "x": 1}}}),
            json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"image": "i"}}}),
            vec!["spec.template.spec.x"],
        ),
        (
            "paths are sorted",
            json!({"zeta": 1, "alpha": 2}),
            json!({}),
            vec!["spec.alpha", "spec.zeta"],
        ),
    ];
    for (name, spec, want_spec, want_paths) in cases {
        let mut value = obj(spec);
        let removed = resource().prune(&mut value);
        assert_eq!(removed, want_paths, "case {name}");
        assert_eq!(value, obj(want_spec), "case {name}");
    }
}

#[test]
fn resource_root_keeps_type_and_object_meta() {
    let mut value = obj(json!({}));
    value["status"] = json!({"phase": "x"});
    let removed = resource().prune(&mut value);
    assert_eq!(removed, vec!["status"]);
    assert_eq!(value, obj(json!({})));
}

#[test]
fn plain_schema_prunes_everything_undeclared() {
    let plain = SchemaValidator::from_json(&schema()).unwrap();
    let mut value = obj(json!({}));
    assert_eq!(
        plain.prune(&mut value),
        vec!["apiVersion", "kind", "metadata"]
    );
}

#[test]
fn strict_admission_rejects_unknown_fields() {
    let err = resource()
        .admit(
            obj(json!({"colour": "red", "size": 1})),
            None,
            FieldValidation::Strict,
        )
        .unwrap_err();
    assert_eq!(
        err,
        AdmitError::UnknownFields(vec!["spec.colour".into(), "spec.size".into()])
    );
    assert_eq!(
        err.to_string(),
        r#"strict decoding error: unknown field "spec.colour", unknown field "spec.size""#
    );
}

#[test]
fn warn_admission_drops_and_warns() {
    let admitted = resource()
        .admit(obj(json!({"colour": "red"})), None, FieldValidation::Warn)
        .unwrap();
    assert_eq!(admitted.warnings, vec![r#"unknown field "spec.colour""#]);
    assert_eq!(admitted.object, obj(json!({})));
}

#[test]
fn ignore_admission_drops_silently() {
    let admitted = resource()
        .admit(obj(json!({"colour": "red"})), None, FieldValidation::Ignore)
        .unwrap();
    assert!(admitted.warnings.is_empty());
    assert_eq!(admitted.object, obj(json!({})));
}
