//! The write and read operations on [`State`]: create, update, patch, delete, get,
//! list. HTTP parsing lives in `http`; the rules of the apiserver live here.

use machina_structural::FieldValidation;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use crate::admission;
use crate::crd;
use crate::defaults;
use crate::errors::{ApiError, ApiResult, Subject};
use crate::events;
use crate::housekeeping;
use crate::patch::fields::{self, Scope};
use crate::registry::Resource;
use crate::store::{EventType, Key, State};

/// Options shared by every write.
#[derive(Debug, Clone)]
pub struct WriteOpts {
    /// `fieldManager` (or derived from the User-Agent).
    pub manager: String,
    /// Whether the manager was given explicitly (required for apply).
    pub manager_explicit: bool,
    /// `fieldValidation`.
    pub validation: FieldValidation,
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// `force` for apply.
    pub force: bool,
}

/// The result of a write.
#[derive(Debug, Clone)]
pub struct Written {
    /// The object as stored (or as it would be, for a dry run).
    pub object: Value,
    /// `Warning` headers to send.
    pub warnings: Vec<String>,
    /// Whether the write created the object (201).
    pub created: bool,
}

/// Fields the server owns: never taken from a client's body.
const SERVER_FIELDS: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "managedFields",
    "selfLink",
];

pub(crate) fn subject<'a>(res: &'a Resource, name: &'a str) -> Subject<'a> {
    Subject {
        group: &res.group,
        resource: &res.plural,
        name,
    }
}

/// The store key of `name` in `ns` for `res`.
pub fn key(res: &Resource, ns: Option<&str>, name: &str) -> Key {
    let (group, plural) = events::storage(res);
    Key {
        group: group.to_owned(),
        plural: plural.to_owned(),
        namespace: if res.namespaced {
            ns.unwrap_or_default().to_owned()
        } else {
            String::new()
        },
        name: name.to_owned(),
    }
}

pub(crate) fn scope_of(res: &Resource, sub: Option<&str>) -> Scope {
    match (sub, res.status) {
        (Some("status"), _) => Scope::Status,
        (_, true) => Scope::NoStatus,
        _ => Scope::All,
    }
}

/// Sets `apiVersion` to the requested version (CRD conversion strategy `None`).
pub fn present(res: &Resource, mut obj: Value) -> Value {
    if events::is_view(res) {
        return events::to_view(&obj);
    }
    obj["apiVersion"] = json!(res.api_version());
    obj["kind"] = json!(res.kind);
    obj
}

/// [`present`] by reference: `obj` as clients see it, serialised without copying it (a
/// watch renders every change of every object it matches).
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    res: &'a Resource,
    obj: &'a Value,
}

impl<'a> Presented<'a> {
    /// `obj`, stored as a `res`, as clients see it.
    pub fn new(res: &'a Resource, obj: &'a Value) -> Self {
        Self { res, obj }
    }
}

impl Serialize for Presented<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = match self.obj.as_object() {
            Some(fields) if !events::is_view(self.res) => fields,
            _ => return present(self.res, self.obj.clone()).serialize(serializer),
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("apiVersion", &self.res.api_version())?;
        map.serialize_entry("kind", &self.res.kind)?;
        for (k, v) in fields {
            if k != "apiVersion" && k != "kind" {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

pub(crate) fn check_kind(res: &Resource, obj: &Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON or YAML object",
        ));
    }
    match obj["kind"].as_str() {
        None | Some("") => {
            return Err(ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{obj}'"
            )));
        }
        Some(k) if k != res.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                res.kind
            )));
        }
        _ => {}
    }
    let av = obj["apiVersion"].as_str().unwrap_or_default();
    if av != res.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            res.api_version()
        )));
    }
    Ok(())
}

/// Whether `a` and `b` differ outside `metadata`, `status`, `apiVersion` and `kind` (a
/// spec change: the generation moves). Compares in place: this runs on every write.
fn spec_differs(a: &Value, b: &Value) -> bool {
    const SKIPPED: [&str; 4] = ["metadata", "status", "apiVersion", "kind"];
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            let keys = |m: &'_ Map<String, Value>| {
                m.iter()
                    .filter(|(k, _)| !SKIPPED.contains(&k.as_str()))
                    .count()
            };
            keys(a) != keys(b)
                || a.iter()
                    .filter(|(k, _)| !SKIPPED.contains(&k.as_str()))
                    .any(|(k, v)| b.get(k) != Some(v))
        }
        _ => a != b,
    }
}

/// Whether `a` and `b` are the same object but for `resourceVersion` and `managedFields`
/// (a no-op write). Compares in place: this runs on every write.
fn same_ignoring_rv(a: &Value, b: &Value) -> bool {
    const SKIPPED: [&str; 2] = ["resourceVersion", "managedFields"];
    let (Some(ao), Some(bo)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    if ao.len() != bo.len()
        || ao
            .iter()
            .any(|(k, v)| k != "metadata" && bo.get(k) != Some(v))
    {
        return false;
    }
    match (a["metadata"].as_object(), b["metadata"].as_object()) {
        (Some(am), Some(bm)) => {
            let kept = |m: &'_ Map<String, Value>| {
                m.iter()
                    .filter(|(k, _)| !SKIPPED.contains(&k.as_str()))
                    .count()
            };
            kept(am) == kept(bm)
                && am
                    .iter()
                    .filter(|(k, _)| !SKIPPED.contains(&k.as_str()))
                    .all(|(k, v)| bm.get(k) == Some(v))
        }
        _ => a["metadata"] == b["metadata"],
    }
}

/// ObjectMeta's `omitempty`: empty lists and maps are not stored (kube-runtime's
/// finalizer helper depends on a missing, not empty, `finalizers`).
fn normalize_metadata(obj: &mut Value) {
    if let Some(md) = obj["metadata"].as_object_mut() {
        md.retain(|k, v| {
            let empty = v.is_null()
                || v.as_array().is_some_and(Vec::is_empty)
                || v.as_object().is_some_and(Map::is_empty);
            !(empty
                && matches!(
                    k.as_str(),
                    "finalizers" | "ownerReferences" | "labels" | "annotations" | "generateName"
                ))
        });
    }
}

fn random_suffix() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id.chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .take(5)
        .collect()
}

/// Validates the namespace of a create; returns it (`None` for cluster-scoped).
pub(crate) fn namespace_for_create(
    st: &State,
    res: &Resource,
    ns: Option<&str>,
    obj: &mut Value,
    name: &str,
) -> ApiResult<Option<String>> {
    if !res.namespaced {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        return Ok(None);
    }
    let ns = ns.unwrap_or("default").to_owned();
    match obj["metadata"]["namespace"].as_str() {
        Some(b) if !b.is_empty() && b != ns => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        _ => obj["metadata"]["namespace"] = json!(ns),
    }
    match st.namespace_state(&ns) {
        None => Err(ApiError::not_found(Subject {
            group: "",
            resource: "namespaces",
            name: &ns,
        })),
        Some(true) => Err(ApiError::forbidden(
            subject(res, name),
            &format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        )),
        Some(false) => Ok(Some(ns)),
    }
}

/// Writes `new` (a create when `old` is `None`): scope rules, admission, generation,
/// managed fields (`track`), no-op detection, deletion when the last finalizer goes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn commit(
    st: &mut State,
    res: &Resource,
    key: Key,
    old: Option<&Value>,
    mut new: Value,
    sub: Option<&str>,
    opts: &WriteOpts,
    track: bool,
) -> ApiResult<Written> {
    let scope = scope_of(res, sub);
    let api_version = res.api_version();
    if events::is_view(res) {
        new = events::to_core(&new);
    }
    match old {
        None => {
            if let Some(md) = new["metadata"].as_object_mut() {
                for f in SERVER_FIELDS {
                    if *f != "managedFields" || track {
                        md.remove(*f);
                    }
                }
            }
            if res.status
                && let Some(m) = new.as_object_mut()
            {
                m.remove("status");
            }
            new["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
            new["metadata"]["creationTimestamp"] = json!(fields::now());
            new["metadata"]["generation"] = json!(1);
            if res.group.is_empty() && res.plural == "namespaces" {
                new["spec"] = json!({"finalizers": ["kubernetes"]});
                new["status"] = json!({"phase": "Active"});
            }
        }
        Some(old) => {
            if scope == Scope::Status {
                let status = new.get("status").cloned();
                let managed = new["metadata"].get("managedFields").cloned();
                new = old.clone();
                match status {
                    Some(s) => new["status"] = s,
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                if !track && let Some(m) = managed {
                    new["metadata"]["managedFields"] = m;
                }
            } else if scope == Scope::NoStatus {
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            for f in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "name",
                "namespace",
            ] {
                match old["metadata"].get(f) {
                    Some(v) => new["metadata"][f] = v.clone(),
                    None => {
                        if let Some(md) = new["metadata"].as_object_mut() {
                            md.remove(f);
                        }
                    }
                }
            }
            if track && let Some(md) = new["metadata"].as_object_mut() {
                md.remove("managedFields");
                if let Some(m) = old["metadata"].get("managedFields") {
                    md.insert("managedFields".into(), m.clone());
                }
            }
        }
    }
    normalize_metadata(&mut new);
    defaults::apply(st, res, &mut new, old);
    let (mut new, warnings) = admission::admit(res, new, old, opts.validation)?;
    if crd::is_crd(res) {
        crd::prepare(st, &mut new, old.is_none())?;
    }
    // After defaulting, so a defaulted field never counts as a spec change.
    if let Some(old) = old
        && spec_differs(old, &new)
    {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
        new["metadata"]["generation"] = json!(g + 1);
    }
    if track {
        fields::track_update(old, &mut new, &opts.manager, &api_version, sub, scope);
    }
    if let Some(old) = old
        && same_ignoring_rv(old, &new)
    {
        return Ok(Written {
            object: present(res, old.clone()),
            warnings,
            created: false,
        });
    }
    let finalizers_done = new["metadata"]["finalizers"]
        .as_array()
        .is_none_or(Vec::is_empty);
    if old.is_some() && !new["metadata"]["deletionTimestamp"].is_null() && finalizers_done {
        if opts.dry_run {
            return Ok(Written {
                object: present(res, new),
                warnings,
                created: false,
            });
        }
        st.replace_before_removal(&key, new);
        let gone = st.remove(&key).unwrap_or(Value::Null);
        housekeeping::settle(st);
        return Ok(Written {
            object: present(res, gone),
            warnings,
            created: false,
        });
    }
    if opts.dry_run {
        return Ok(Written {
            object: present(res, new),
            warnings,
            created: old.is_none(),
        });
    }
    let kind = if old.is_some() {
        EventType::Modified
    } else {
        EventType::Added
    };
    let stored = st.put(key, new, kind);
    if crd::is_crd(res) {
        crd::register(st, &stored);
    }
    housekeeping::settle(st);
    Ok(Written {
        object: present(res, stored),
        warnings,
        created: old.is_none(),
    })
}

/// POST: creates an object.
pub fn create(
    st: &mut State,
    res: &Resource,
    ns: Option<&str>,
    mut obj: Value,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    check_kind(res, &obj)?;
    if !obj["metadata"].is_object() {
        obj["metadata"] = Value::Object(Map::new());
    }
    let name = match (
        obj["metadata"]["name"].as_str(),
        obj["metadata"]["generateName"].as_str(),
    ) {
        (Some(n), _) if !n.is_empty() => n.to_owned(),
        (_, Some(g)) if !g.is_empty() => format!("{g}{}", random_suffix()),
        _ => {
            return Err(admission::invalid_field(
                res,
                "",
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required".into(),
            ));
        }
    };
    obj["metadata"]["name"] = json!(name);
    admission::check_name(res, &name)?;
    let ns = namespace_for_create(st, res, ns, &mut obj, &name)?;
    let key = key(res, ns.as_deref(), &name);
    if st.objects.contains_key(&key) {
        return Err(ApiError::already_exists(subject(res, &name)));
    }
    commit(st, res, key, None, obj, None, opts, true)
}

pub(crate) fn live<'a>(
    st: &'a State,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<&'a Value> {
    st.objects
        .get(&key(res, ns, name))
        .ok_or_else(|| ApiError::not_found(subject(res, name)))
}

/// GET one object.
pub fn get(st: &State, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<Value> {
    live(st, res, ns, name).map(|o| present(res, o.clone()))
}

pub(crate) fn stale(res: &Resource, name: &str) -> ApiError {
    ApiError::conflict(
        subject(res, name),
        "the object has been modified; please apply your changes to the latest version and try again",
    )
}

/// PUT: replaces an object (or its status), honouring `metadata.resourceVersion`.
pub fn update(
    st: &mut State,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    obj: Value,
    sub: Option<&str>,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    check_kind(res, &obj)?;
    match obj["metadata"]["name"].as_str() {
        Some(n) if n == name => {}
        Some(n) if !n.is_empty() => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => {}
    }
    let old = live(st, res, ns, name)?.clone();
    if let Some(rv) = obj["metadata"]["resourceVersion"].as_str()
        && !rv.is_empty()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(stale(res, name));
    }
    let key = key(res, ns, name);
    commit(st, res, key, Some(&old), obj, sub, opts, true)
}

pub use crate::delete::{DeleteOpts, Propagation, delete};
pub use crate::patching::patch;
