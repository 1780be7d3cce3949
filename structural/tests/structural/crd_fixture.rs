//! A realistic CRD (tests/fixtures/pipelines-crd.yaml) end to end: admission of good
//! and bad objects, updates, and the apiserver's messages.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use machina_structural::ErrorKind::{Duplicate, Invalid, NotSupported, Required, TooLong};
use machina_structural::{AdmitError, CrdValidator, FieldValidation, Scope};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::Expected;

const V: &str = "v1alpha1";
const SKIPPED: &str = "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

fn crd() -> CrdValidator {
    let yaml = include_str!("../fixtures/pipelines-crd.yaml");
    let crd: CustomResourceDefinition = serde_yaml::from_str(yaml).unwrap();
    CrdValidator::new(&crd).unwrap()
}

fn good() -> Value {
    json!({
        "apiVersion": "fixtures.machina.dev/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "p1", "namespace": "default"},
        "spec": {
            "components": [
                {"name": "render", "type": "Template", "config": {"template": "welcome", "anything": [1, 2]}},
                {"name": "publish", "type": "Publish", "timeoutSeconds": 5}
            ],
            "tags": ["a", "b"],
            "resources": {"cpu": "500m", "replicas": 2},
            "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}
        }
    })
}

fn with(path: &[&str], value: Value) -> Value {
    let mut obj = good();
    let mut target = &mut obj;
    for key in &path[..path.len() - 1] {
        target = &mut target[*key];
    }
    target[path[path.len() - 1]] = value;
    obj
}

fn admit(obj: Value, old: Option<&Value>) -> Result<Value, AdmitError> {
    crd()
        .admit(V, obj, old, FieldValidation::Strict)
        .map(|a| a.object)
}

#[test]
fn describes_the_crd() {
    let crd = crd();
    assert_eq!(crd.versions().collect::<Vec<_>>(), vec![V]);
    assert_eq!(crd.qualified_kind(), "Pipeline.fixtures.machina.dev");
    assert_eq!(crd.scope(), Scope::Namespaced);
}

#[test]
fn good_object_is_admitted_with_defaults() {
    let stored = admit(good(), None).unwrap();
    assert_eq!(stored["spec"]["mode"], json!("Streaming"));
    assert_eq!(stored["spec"]["replicas"], json!(1));
    assert_eq!(stored["spec"]["deletionPolicy"], json!("Delete"));
    assert_eq!(stored["spec"]["components"][0]["timeoutSeconds"], json!(30));
    assert_eq!(stored["spec"]["components"][1]["timeoutSeconds"], json!(5));
    assert_eq!(
        stored["spec"]["components"][0]["config"]["anything"],
        json!([1, 2])
    );
    assert_eq!(stored["spec"]["template"]["data"], json!({"k": "v"}));
}

#[test]
fn scheduled_pipeline_with_schedule_is_admitted() {
    let mut obj = with(&["spec", "mode"], json!("Scheduled"));
    obj["spec"]["schedule"] = json!("*/5 * * * *");
    admit(obj, None).unwrap();
}

#[test]
fn invalid_objects() {
    let cases: Vec<(&str, Value, Vec<Expected<'_>>)> = vec![
        (
            "unknown mode",
            with(&["spec", "mode"], json!("Batch")),
            vec![
                (
                    "spec.mode",
                    NotSupported,
                    r#"spec.mode: Unsupported value: "Batch": supported values: "Streaming", "Scheduled""#,
                ),
                ("<nil>", Invalid, SKIPPED),
            ],
        ),
        (
            "replicas below minimum (not blocking: CEL still runs)",
            with(&["spec", "replicas"], json!(0)),
            vec![(
                "spec.replicas",
                Invalid,
                "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
            )],
        ),
        (
            "scheduled without schedule",
            with(&["spec", "mode"], json!("Scheduled")),
            vec![(
                "spec.schedule",
                Required,
                "spec.schedule: Required value: schedule is required when mode is Scheduled",
            )],
        ),
        (
            "bad schedule",
            with(&["spec", "schedule"], json!("hourly")),
            vec![(
                "spec.schedule",
                Invalid,
                r#"spec.schedule: Invalid value: "hourly": spec.schedule in body should match '^(\S+\s+){4}\S+$'"#,
            )],
        ),
        (
            "replicas above maxReplicas (messageExpression)",
            with(&["spec", "maxReplicas"], json!(1)).pipe(|mut o| {
                o["spec"]["replicas"] = json!(3);
                o
            }),
            vec![(
                "spec",
                Invalid,
                "spec: Invalid value: replicas (3) must not exceed maxReplicas (1)",
            )],
        ),
        (
            "duplicate component name",
            with(
                &["spec", "components"],
                json!([{"name": "a", "type": "LLM"}, {"name": "a", "type": "Cache"}]),
            ),
            vec![(
                "spec.components[1]",
                Duplicate,
                r#"spec.components[1]: Duplicate value: {"name":"a"}"#,
            )],
        ),
        (
            "component without type",
            with(&["spec", "components"], json!([{"name": "a"}])),
            vec![
                (
                    "spec.components[0].type",
                    Required,
                    "spec.components[0].type: Required value",
                ),
                ("<nil>", Invalid, SKIPPED),
            ],
        ),
        (
            "component name too long",
            with(
                &["spec", "components"],
                json!([{"name": "a".repeat(64), "type": "LLM"}]),
            ),
            vec![
                (
                    "spec.components[0].name",
                    TooLong,
                    "spec.components[0].name: Too long: may not be more than 63 bytes",
                ),
                ("<nil>", Invalid, SKIPPED),
            ],
        ),
        (
            "no components",
            with(&["spec", "components"], json!([])),
            vec![(
                "spec.components",
                Invalid,
                "spec.components: Invalid value: 0: spec.components in body should have at least 1 items",
            )],
        ),
        (
            "duplicate tag",
            with(&["spec", "tags"], json!(["a", "a"])),
            vec![(
                "spec.tags[1]",
                Duplicate,
                r#"spec.tags[1]: Duplicate value: "a""#,
            )],
        ),
        (
            "bad object name",
            with(&["metadata", "name"], json!("P1")),
            vec![(
                "metadata.name",
                Invalid,
                r#"metadata.name: Invalid value: "P1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
            )],
        ),
    ];
    for (name, obj, want) in cases {
        let result = admit(obj, None).map(|_| ()).map_err(|e| match e {
            AdmitError::Invalid(errors) => errors,
            other => panic!("case {name}: {other}"),
        });
        crate::assert_errors(name, result, &want);
    }
}

#[test]
fn strict_mode_rejects_unknown_fields() {
    let err = admit(with(&["spec", "colour"], json!("red")), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"strict decoding error: unknown field "spec.colour""#
    );
}

#[test]
fn updates_run_transition_rules() {
    let old = admit(good(), None).unwrap();
    let mut changed = old.clone();
    changed["spec"]["replicas"] = json!(2);
    admit(changed, Some(&old)).unwrap();

    let mut new_mode = old.clone();
    new_mode["spec"]["mode"] = json!("Scheduled");
    new_mode["spec"]["schedule"] = json!("0 * * * *");
    let err = admit(new_mode, Some(&old)).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"spec.mode: Invalid value: "Scheduled": mode is immutable"#
    );
}

#[test]
fn status_message_lists_every_error() {
    let mut obj = with(&["spec", "mode"], json!("Batch"));
    obj["spec"]["replicas"] = json!(11);
    let Err(AdmitError::Invalid(errors)) = admit(obj, None) else {
        panic!("expected invalid")
    };
    assert_eq!(
        errors.status_message(&crd().qualified_kind(), "p1"),
        format!(
            r#"Pipeline.fixtures.machina.dev "p1" is invalid: [spec.mode: Unsupported value: "Batch": supported values: "Streaming", "Scheduled", spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10, {SKIPPED}]"#
        )
    );
}

#[test]
fn unknown_versions_are_refused() {
    let errors = crd().validate("v9", &good(), None).unwrap_err();
    assert_eq!(
        errors.to_string(),
        r#"apiVersion: Unsupported value: "fixtures.machina.dev/v9": supported values: "fixtures.machina.dev/v1alpha1""#
    );
    assert!(crd().prune("v9", &mut good()).is_err());
}

#[test]
fn validators_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CrdValidator>();
}

/// `x.pipe(f)`: keeps table rows as single expressions.
trait Pipe: Sized {
    fn pipe(self, f: impl FnOnce(Self) -> Self) -> Self {
        f(self)
    }
}

impl Pipe for Value {}
