//! DELETE: preconditions, propagation policy, finalizers (the deletion itself and
//! what follows is in `housekeeping`).

use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::housekeeping;
use crate::ops::{key, live, present, subject};
use crate::registry::Resource;
use crate::store::State;

/// `propagationPolicy` of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Delete now; the garbage collector removes dependents.
    #[default]
    Background,
    /// Keep the owner until its dependents are gone.
    Foreground,
    /// Delete the owner, keep dependents (without the ownerReference).
    Orphan,
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    /// How dependents are handled.
    pub propagation: Propagation,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `gracePeriodSeconds` (Pods, with graceful Pod deletion enabled).
    pub grace_period: Option<i64>,
}

/// DELETE: removes an object, or marks it (deletionTimestamp) while finalizers remain.
/// Returns the object and whether deletion is still pending (202).
pub fn delete(
    st: &mut State,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOpts,
) -> ApiResult<(Value, bool)> {
    let old = live(st, res, ns, name)?.clone();
    if let Some(uid) = &opts.uid
        && old["metadata"]["uid"].as_str() != Some(uid)
    {
        return Err(ApiError::conflict(
            subject(res, name),
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                old["metadata"]["uid"].as_str().unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = &opts.resource_version
        && old["metadata"]["resourceVersion"].as_str() != Some(rv)
    {
        return Err(ApiError::conflict(
            subject(res, name),
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                old["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
            ),
        ));
    }
    if res.group.is_empty()
        && res.plural == "namespaces"
        && matches!(name, "default" | "kube-system" | "kube-public")
    {
        return Err(ApiError::forbidden(
            subject(res, name),
            "this namespace may not be deleted",
        ));
    }
    if opts.dry_run {
        return Ok((present(res, old), false));
    }
    let key = key(res, ns, name);
    if st.graceful_pods
        && res.group.is_empty()
        && res.plural == "pods"
        && let Some(result) = graceful_pod_delete(st, &key, &old, opts.grace_period)
    {
        return Ok((present(res, result), true));
    }
    let (obj, pending) = housekeeping::delete_key(st, &key, opts.propagation);
    housekeeping::settle(st);
    Ok((present(res, obj.unwrap_or(old)), pending))
}

/// A scheduled, running Pod is not removed at once: it gets a `deletionTimestamp` in
/// the future and `deletionGracePeriodSeconds`; the kubelet stops it and deletes it
/// again with `gracePeriodSeconds=0`, which removes it. `None`: delete normally.
fn graceful_pod_delete(
    st: &mut State,
    key: &crate::store::Key,
    pod: &Value,
    grace: Option<i64>,
) -> Option<Value> {
    let scheduled = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    let deleting = !pod["metadata"]["deletionTimestamp"].is_null();
    if !scheduled || finished {
        return None;
    }
    let grace = grace
        .unwrap_or_else(|| {
            pod["spec"]["terminationGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(30)
        })
        .max(0);
    if grace == 0 {
        if deleting {
            let fins = pod["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty());
            // The kubelet's final delete: gone now unless finalizers still hold it.
            return if fins {
                Some(pod.clone())
            } else {
                st.remove(key)
            };
        }
        return None;
    }
    if deleting {
        return Some(pod.clone());
    }
    let mut obj = pod.clone();
    let at = chrono::Utc::now() + chrono::Duration::seconds(grace);
    obj["metadata"]["deletionTimestamp"] =
        serde_json::json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    obj["metadata"]["deletionGracePeriodSeconds"] = serde_json::json!(grace);
    Some(st.put(key.clone(), obj, crate::store::EventType::Modified))
}
