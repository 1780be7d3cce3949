//! Admission of a write: object names, CRD schemas (prune → default → validate via
//! `machina_structural`), and the apiserver's error shapes for each failure.

use machina_structural::{AdmitError, FieldValidation, ValidationErrors, unknown_field_message};
use serde_json::{Value, json};

use crate::errors::{ApiError, Subject};
use crate::registry::Resource;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label)
}

/// `fieldValidation` query parameter (kubectl sends `Strict`).
pub fn field_validation(raw: Option<&str>) -> Result<FieldValidation, ApiError> {
    match raw {
        None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
        ))),
    }
}

fn invalid(res: &Resource, name: &str, errs: &ValidationErrors) -> ApiError {
    let causes = errs
        .errors()
        .iter()
        .map(|e| json!({"reason": e.kind.reason(), "message": e.body(), "field": e.field}))
        .collect();
    let qk = res.qualified_kind();
    let s = Subject {
        group: &res.group,
        resource: &res.plural,
        name,
    };
    ApiError::invalid(&qk, s, errs.status_message(&qk, name), causes)
}

/// 422 with one `metadata.name` cause, worded like the apiserver.
pub fn invalid_field(
    res: &Resource,
    name: &str,
    field: &str,
    reason: &str,
    message: String,
) -> ApiError {
    let qk = res.qualified_kind();
    let s = Subject {
        group: &res.group,
        resource: &res.plural,
        name,
    };
    ApiError::invalid(
        &qk,
        s,
        format!("{qk} \"{name}\" is invalid: {field}: {message}"),
        vec![json!({"reason": reason, "message": message, "field": field})],
    )
}

/// Checks the name of a built-in object (CRs are checked by their schema validator).
pub fn check_name(res: &Resource, name: &str) -> Result<(), ApiError> {
    if res.crd.is_some() {
        return Ok(());
    }
    let (ok, msg) = if res.plural == "namespaces" {
        (is_label(name), LABEL_MSG)
    } else {
        (is_subdomain(name), SUBDOMAIN_MSG)
    };
    if ok {
        Ok(())
    } else {
        Err(invalid_field(
            res,
            name,
            "metadata.name",
            "FieldValueInvalid",
            format!("Invalid value: \"{name}\": {msg}"),
        ))
    }
}

/// Built-in kinds: fields their Go types lack are refused (`Strict`) or reported
/// (`Warn`), as the apiserver's strict decoding does; the object is kept as sent.
fn builtin_unknown_fields(
    res: &Resource,
    obj: Value,
    mode: FieldValidation,
) -> Result<(Value, Vec<String>), ApiError> {
    let unknown =
        crate::builtin_schema::unknown_fields(&res.group, &res.plural, &obj).unwrap_or_default();
    if unknown.is_empty() {
        return Ok((obj, Vec::new()));
    }
    match mode {
        FieldValidation::Strict => Err(ApiError::bad_request(
            AdmitError::UnknownFields(unknown).to_string(),
        )),
        FieldValidation::Warn => Ok((
            obj,
            unknown.iter().map(|p| unknown_field_message(p)).collect(),
        )),
        FieldValidation::Ignore => Ok((obj, Vec::new())),
    }
}

/// Prunes, defaults and validates a custom resource; returns the stored form and the
/// unknown-field warnings. Built-in kinds pass through unchanged.
pub fn admit(
    res: &Resource,
    obj: Value,
    old: Option<&Value>,
    mode: FieldValidation,
) -> Result<(Value, Vec<String>), ApiError> {
    let Some(crd) = &res.crd else {
        return builtin_unknown_fields(res, obj, mode);
    };
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match crd.validator.admit(&res.version, obj, old, mode) {
        Ok(a) => Ok((a.object, a.warnings)),
        Err(e @ AdmitError::UnknownFields(_)) => Err(ApiError::bad_request(e.to_string())),
        Err(AdmitError::Invalid(errs)) => Err(invalid(res, &name, &errs)),
    }
}
