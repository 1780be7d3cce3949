//! Resource-root type/object metadata and embedded resources.

use machina_structural::ErrorKind::{Forbidden, Invalid, Required};
use machina_structural::{SchemaValidator, Scope};
use serde_json::{Value, json};

use crate::assert_errors;

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn schema() -> Value {
    json!({"type": "object", "properties": {
        "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {
            "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
        }}
    }})
}

fn resource(scope: Scope) -> SchemaValidator {
    SchemaValidator::for_resource(&schema(), scope).unwrap()
}

fn obj(metadata: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": metadata})
}

#[test]
fn root_metadata() {
    let too_long = "a".repeat(254);
    let too_long_msg = format!(
        r#"metadata.name: Invalid value: "{too_long}": must be no more than 253 characters"#
    );
    let bad_name_msg = format!(r#"metadata.name: Invalid value: "Foo_Bar": {SUBDOMAIN}"#);
    let cases: Vec<(&str, Scope, Value, Vec<crate::Expected<'_>>)> = vec![
        (
            "valid",
            Scope::Namespaced,
            obj(json!({"name": "w-1.example", "namespace": "default"})),
            vec![],
        ),
        (
            "generateName is enough",
            Scope::Namespaced,
            obj(json!({"generateName": "w-", "namespace": "default"})),
            vec![],
        ),
        (
            "missing name",
            Scope::Namespaced,
            obj(json!({"namespace": "default"})),
            vec![(
                "metadata.name",
                Required,
                "metadata.name: Required value: name or generateName is required",
            )],
        ),
        (
            "invalid name",
            Scope::Namespaced,
            obj(json!({"name": "Foo_Bar", "namespace": "d"})),
            vec![("metadata.name", Invalid, &bad_name_msg)],
        ),
        (
            "name too long",
            Scope::Namespaced,
            obj(json!({"name": too_long, "namespace": "d"})),
            vec![("metadata.name", Invalid, &too_long_msg)],
        ),
        (
            "missing namespace",
            Scope::Namespaced,
            obj(json!({"name": "w"})),
            vec![(
                "metadata.namespace",
                Required,
                "metadata.namespace: Required value",
            )],
        ),
        (
            "namespace on a cluster-scoped resource",
            Scope::Cluster,
            obj(json!({"name": "w", "namespace": "default"})),
            vec![(
                "metadata.namespace",
                Forbidden,
                "metadata.namespace: Forbidden: not allowed on this type",
            )],
        ),
        (
            "missing apiVersion and kind",
            Scope::Cluster,
            json!({"metadata": {"name": "w"}}),
            vec![
                ("apiVersion", Required, "apiVersion: Required value"),
                ("kind", Required, "kind: Required value"),
            ],
        ),
    ];
    for (name, scope, value, want) in cases {
        assert_errors(name, resource(scope).validate(&value, None), &want);
    }
}

#[test]
fn embedded_resources() {
    let with_template = |template: Value| {
        let mut value = obj(json!({"name": "w"}));
        value["spec"] = json!({"template": template});
        value
    };
    let cases: Vec<(&str, Value, Vec<crate::Expected<'_>>)> = vec![
        (
            "valid",
            with_template(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}),
            ),
            vec![],
        ),
        (
            "missing type meta",
            with_template(json!({"metadata": {"name": "cm"}})),
            vec![
                (
                    "spec.template.apiVersion",
                    Required,
                    "spec.template.apiVersion: Required value",
                ),
                (
                    "spec.template.kind",
                    Required,
                    "spec.template.kind: Required value",
                ),
            ],
        ),
        (
            "bad kind and name",
            with_template(
                json!({"apiVersion": "v1", "kind": "Config_Map", "metadata": {"name": "a/b"}}),
            ),
            vec![
                (
                    "spec.template.kind",
                    Invalid,
                    r#"spec.template.kind: Invalid value: "Config_Map": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
                ),
                (
                    "spec.template.metadata.name",
                    Invalid,
                    r#"spec.template.metadata.name: Invalid value: "a/b": may not contain '/'"#,
                ),
            ],
        ),
    ];
    for (name, value, want) in cases {
        assert_errors(name, resource(Scope::Cluster).validate(&value, None), &want);
    }
}
