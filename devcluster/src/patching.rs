//! PATCH of a stored object: merge, JSON and strategic patches, and server-side apply
//! (which may create the object).

use serde_json::{Value, json};

use crate::admission;
use crate::errors::{ApiError, ApiResult};
use crate::ops::{
    WriteOpts, Written, check_kind, commit, key, namespace_for_create, present, scope_of, stale,
    subject,
};
use crate::patch::apply::{self, Apply};
use crate::patch::{self, PatchKind};
use crate::registry::Resource;
use crate::store::State;

/// PATCH: merge, JSON, strategic or apply patch of an object (or its status).
#[allow(clippy::too_many_arguments)]
pub fn patch(
    st: &mut State,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    kind: PatchKind,
    body: Value,
    sub: Option<&str>,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    let old = st.objects.get(&key(res, ns, name)).cloned();
    if kind == PatchKind::Apply {
        return apply_patch(st, res, ns, name, old, body, sub, opts);
    }
    let Some(old) = old else {
        return Err(ApiError::not_found(subject(res, name)));
    };
    let shown = present(res, old.clone());
    let new = match kind {
        PatchKind::Json => patch::json_patch(&shown, &body)?,
        PatchKind::Merge => {
            let mut n = shown;
            patch::merge_patch(&mut n, &body);
            n
        }
        _ => {
            let mut n = shown;
            patch::strategic_merge_patch(&mut n, &body);
            n
        }
    };
    if let Some(rv) = new["metadata"]["resourceVersion"].as_str()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(stale(res, name));
    }
    check_kind(res, &new)?;
    let key = key(res, ns, name);
    commit(st, res, key, Some(&old), new, sub, opts, true)
}

#[allow(clippy::too_many_arguments)]
fn apply_patch(
    st: &mut State,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    old: Option<Value>,
    body: Value,
    sub: Option<&str>,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    if !opts.manager_explicit {
        return Err(ApiError::bad_request(
            "PATCH: fieldManager is required for apply requests",
        ));
    }
    check_kind(res, &body)?;
    // Like the apiserver, an applied configuration may omit the name (kube-rs status
    // applies do); a different name is refused.
    match body["metadata"]["name"].as_str() {
        None | Some("") => {}
        Some(n) if n == name => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({other}) does not match the name on the URL ({name})"
            )));
        }
    }
    let req = Apply {
        manager: &opts.manager,
        api_version: &res.api_version(),
        subresource: sub,
        scope: scope_of(res, sub),
        force: opts.force,
    };
    let conflicts = |c: Vec<apply::Conflict>| ApiError::apply_conflicts(subject(res, name), &c);
    match old {
        Some(old) => {
            if let Some(rv) = body["metadata"]["resourceVersion"].as_str()
                && Some(rv) != old["metadata"]["resourceVersion"].as_str()
            {
                return Err(stale(res, name));
            }
            let new = apply::apply(&present(res, old.clone()), &body, req).map_err(conflicts)?;
            let key = key(res, ns, name);
            commit(st, res, key, Some(&old), new, sub, opts, false)
        }
        None if sub.is_some() => Err(ApiError::not_found(subject(res, name))),
        None => {
            let mut skeleton = json!({"apiVersion": res.api_version(), "kind": res.kind, "metadata": {"name": name}});
            if res.namespaced {
                skeleton["metadata"]["namespace"] = json!(ns.unwrap_or("default"));
            }
            let mut new = apply::apply(&skeleton, &body, req).map_err(conflicts)?;
            admission::check_name(res, name)?;
            let ns = namespace_for_create(st, res, ns, &mut new, name)?;
            let key = key(res, ns.as_deref(), name);
            commit(st, res, key, None, new, sub, opts, false)
        }
    }
}
