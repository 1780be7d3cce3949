//! The error types' formatting and helpers.

use machina_structural::{ErrorKind, FieldError, ValidationErrors};
use pretty_assertions::assert_eq;
use serde_json::json;

fn required() -> FieldError {
    FieldError::required("spec.name", "")
}

fn invalid() -> FieldError {
    FieldError::invalid(
        "spec.replicas",
        json!(0),
        "spec.replicas in body should be greater than or equal to 1",
    )
}

#[test]
fn one_error_prints_bare() {
    assert_eq!(
        ValidationErrors(vec![required()]).to_string(),
        "spec.name: Required value"
    );
}

#[test]
fn several_errors_print_as_a_deduplicated_list() {
    let errors = ValidationErrors(vec![required(), invalid(), required()]);
    assert_eq!(
        errors.to_string(),
        "[spec.name: Required value, spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1]"
    );
    assert_eq!(
        errors.fields(),
        vec!["spec.name", "spec.replicas", "spec.name"]
    );
    assert_eq!(errors.len(), 3);
}

#[test]
fn status_message_names_the_object() {
    let errors = ValidationErrors(vec![required()]);
    assert_eq!(
        errors.status_message("Widget.example.com", "w1"),
        r#"Widget.example.com "w1" is invalid: spec.name: Required value"#
    );
}

#[test]
fn bodies_and_reasons_match_status_causes() {
    let cases = [
        (required(), "Required value", "FieldValueRequired"),
        (
            invalid(),
            "Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
            "FieldValueInvalid",
        ),
        (
            FieldError::forbidden("spec", "no"),
            "Forbidden: no",
            "FieldValueForbidden",
        ),
        (
            FieldError::duplicate("spec.tags[1]", json!("a")),
            r#"Duplicate value: "a""#,
            "FieldValueDuplicate",
        ),
        (
            FieldError::not_supported("spec.mode", json!("Foo"), &["A".into(), "B".into()]),
            r#"Unsupported value: "Foo": supported values: "A", "B""#,
            "FieldValueNotSupported",
        ),
        (
            FieldError::new(
                "spec.x",
                ErrorKind::TooLong,
                Some(json!("abcd")),
                "may not be more than 3 bytes",
            ),
            "Too long: may not be more than 3 bytes",
            "FieldValueTooLong",
        ),
        (
            FieldError::new(
                "spec.x",
                ErrorKind::TooMany,
                Some(json!(3)),
                "must have at most 2 items",
            ),
            "Too many: 3: must have at most 2 items",
            "FieldValueTooMany",
        ),
        (
            FieldError::new("spec.x", ErrorKind::TypeInvalid, Some(json!("string")), "d"),
            r#"Invalid value: "string": d"#,
            "FieldValueTypeInvalid",
        ),
        (
            FieldError::new("spec", ErrorKind::Invalid, None, "omitted value"),
            "Invalid value: omitted value",
            "FieldValueInvalid",
        ),
    ];
    for (err, body, reason) in cases {
        assert_eq!(err.body(), body);
        assert_eq!(err.kind.reason(), reason);
    }
}

#[test]
fn empty_field_is_the_nil_root() {
    assert_eq!(
        FieldError::invalid("", json!(null), "x").to_string(),
        "<nil>: Invalid value: null: x"
    );
}
