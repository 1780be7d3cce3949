//! CustomResourceDefinitions: checking a CRD, serving its resources (discovery,
//! schema validation via `machina_structural::CrdValidator`), its status conditions,
//! and removing its instances when it is deleted.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use machina_structural::CrdValidator;
use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult, Subject};
use crate::housekeeping;
use crate::ops::Propagation;
use crate::patch::fields;
use crate::registry::{CrdInfo, Resource};
use crate::store::{Key, State};

const GROUP: &str = "apiextensions.k8s.io";
const PLURAL: &str = "customresourcedefinitions";
/// The finalizer the apiserver puts on CRDs so instances are removed first.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Whether `res` is the CRD resource itself.
pub fn is_crd(res: &Resource) -> bool {
    res.group == GROUP && res.plural == PLURAL
}

/// Whether `key` names a CRD object.
pub fn is_crd_key(key: &Key) -> bool {
    key.group == GROUP && key.plural == PLURAL
}

fn invalid(name: &str, field: &str, message: String) -> ApiError {
    let s = Subject {
        group: GROUP,
        resource: PLURAL,
        name,
    };
    ApiError::invalid(
        "CustomResourceDefinition.apiextensions.k8s.io",
        s,
        format!(
            "CustomResourceDefinition.apiextensions.k8s.io \"{name}\" is invalid: {field}: {message}"
        ),
        vec![json!({"reason": "FieldValueInvalid", "message": message, "field": field})],
    )
}

fn parse(obj: &Value) -> ApiResult<(CustomResourceDefinition, CrdValidator)> {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let crd: CustomResourceDefinition = serde_json::from_value(obj.clone()).map_err(|e| {
        ApiError::bad_request(format!("unable to decode CustomResourceDefinition: {e}"))
    })?;
    let expected = format!("{}.{}", crd.spec.names.plural, crd.spec.group);
    if name != expected {
        return Err(invalid(
            name,
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if crd.spec.versions.iter().filter(|v| v.storage).count() != 1 {
        return Err(invalid(
            name,
            "spec.versions",
            "Invalid value: must have exactly one version marked as storage version".into(),
        ));
    }
    let validator = CrdValidator::new(&crd).map_err(|e| {
        invalid(
            name,
            "spec.validation.openAPIV3Schema",
            format!("Invalid value: {e}"),
        )
    })?;
    Ok((crd, validator))
}

/// Checks a CRD being written and sets what the apiextensions controllers set:
/// the cleanup finalizer and the `NamesAccepted`/`Established` conditions.
pub fn prepare(_st: &State, obj: &mut Value, created: bool) -> ApiResult<()> {
    let (crd, _) = parse(obj)?;
    if created {
        let mut fins: Vec<Value> = obj["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !fins.iter().any(|f| f == CLEANUP_FINALIZER) {
            fins.push(json!(CLEANUP_FINALIZER));
        }
        obj["metadata"]["finalizers"] = Value::Array(fins);
    }
    let now = fields::now();
    let keep_time = |ty: &str| {
        obj["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == ty))
            .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_owned))
            .unwrap_or_else(|| now.clone())
    };
    let conditions = json!([
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": keep_time("NamesAccepted")},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": keep_time("Established")},
    ]);
    let stored: Vec<String> = crd
        .spec
        .versions
        .iter()
        .filter(|v| v.storage)
        .map(|v| v.name.clone())
        .collect();
    obj["status"] = json!({
        "conditions": conditions,
        "acceptedNames": serde_json::to_value(&crd.spec.names).unwrap_or(Value::Null),
        "storedVersions": stored,
    });
    Ok(())
}

/// Serves the resources of a stored CRD (replacing a previous registration).
pub fn register(st: &mut State, obj: &Value) {
    let Ok((crd, validator)) = parse(obj) else {
        tracing::warn!(name = ?obj["metadata"]["name"], "stored CRD no longer parses; not served");
        return;
    };
    let names = &crd.spec.names;
    let mut columns = BTreeMap::new();
    let mut schemas = BTreeMap::new();
    for v in &crd.spec.versions {
        columns.insert(
            v.name.clone(),
            v.additional_printer_columns
                .iter()
                .flatten()
                .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
                .collect(),
        );
        if let Some(s) = v
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
        {
            schemas.insert(
                v.name.clone(),
                serde_json::to_value(s).unwrap_or(Value::Null),
            );
        }
    }
    let info = Arc::new(CrdInfo {
        validator,
        columns,
        schemas,
    });
    st.registry.remove_crd(&crd.spec.group, &names.plural);
    for v in crd.spec.versions.iter().filter(|v| v.served) {
        st.registry.insert(Resource {
            group: crd.spec.group.clone(),
            version: v.name.clone(),
            plural: names.plural.clone(),
            singular: names
                .singular
                .clone()
                .unwrap_or_else(|| names.kind.to_lowercase()),
            kind: names.kind.clone(),
            namespaced: crd.spec.scope != "Cluster",
            short_names: names.short_names.clone().unwrap_or_default(),
            categories: names.categories.clone().unwrap_or_default(),
            status: v.subresources.as_ref().is_some_and(|s| s.status.is_some()),
            crd: Some(info.clone()),
        });
    }
}

/// For a CRD being deleted: deletes its instances, then drops the cleanup finalizer
/// and stops serving it. Returns whether anything changed.
pub fn cleanup(st: &mut State, key: &Key) -> bool {
    let Some((plural, group)) = key.name.split_once('.') else {
        return false;
    };
    let (plural, group) = (plural.to_owned(), group.to_owned());
    let instances: Vec<(Key, bool)> = st
        .objects
        .iter()
        .filter(|(k, _)| k.group == group && k.plural == plural)
        .map(|(k, o)| (k.clone(), !o["metadata"]["deletionTimestamp"].is_null()))
        .collect();
    let live: Vec<&Key> = instances
        .iter()
        .filter(|(_, deleting)| !deleting)
        .map(|(k, _)| k)
        .collect();
    if !live.is_empty() {
        for k in live {
            housekeeping::delete_key(st, k, Propagation::Background);
        }
        return true;
    }
    if !instances.is_empty() {
        return false;
    }
    let Some(mut obj) = st.objects.get(key).cloned() else {
        return false;
    };
    let fins: Vec<Value> = obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| *f != CLEANUP_FINALIZER)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if fins.len() == obj["metadata"]["finalizers"].as_array().map_or(0, Vec::len)
        && !fins.is_empty()
    {
        return false;
    }
    st.registry.remove_crd(&group, &plural);
    if fins.is_empty() {
        st.replace_before_removal(key, obj);
        st.remove(key);
    } else {
        obj["metadata"]["finalizers"] = Value::Array(fins);
        st.put(key.clone(), obj, crate::store::EventType::Modified);
    }
    true
}

/// Re-registers every stored CRD (after loading a snapshot).
pub fn register_all(st: &mut State) {
    let crds: Vec<Value> = st
        .objects
        .iter()
        .filter(|(k, _)| is_crd_key(k))
        .map(|(_, o)| o.clone())
        .collect();
    for c in crds {
        register(st, &c);
    }
}
