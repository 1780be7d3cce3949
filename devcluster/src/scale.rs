//! The `scale` subresource of Deployments, StatefulSets and ReplicaSets
//! (`autoscaling/v1` Scale), used by `kubectl scale`.

use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult};
use crate::ops::{self, WriteOpts, Written};
use crate::patch::{self, PatchKind};
use crate::registry::Resource;
use crate::store::State;

/// Whether `res` has a scale subresource.
pub fn has_scale(res: &Resource) -> bool {
    res.group == "apps"
        && matches!(
            res.plural.as_str(),
            "deployments" | "statefulsets" | "replicasets"
        )
}

fn selector_string(obj: &Value) -> String {
    obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// The Scale view of an object.
pub fn to_scale(obj: &Value) -> Value {
    let md = &obj["metadata"];
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
                     "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector_string(obj)},
    })
}

/// GET .../scale.
pub fn get(st: &State, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<Value> {
    Ok(to_scale(ops::live(st, res, ns, name)?))
}

/// PUT or PATCH .../scale: only `spec.replicas` is taken.
#[allow(clippy::too_many_arguments)]
pub fn write(
    st: &mut State,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    kind: Option<PatchKind>,
    body: Value,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    let old = ops::live(st, res, ns, name)?.clone();
    let current = to_scale(&old);
    let scale = match kind {
        None => body,
        Some(PatchKind::Json) => patch::json_patch(&current, &body)?,
        Some(PatchKind::Apply) => {
            return Err(ApiError::unsupported_media_type(
                "application/apply-patch+yaml",
            ));
        }
        Some(_) => {
            let mut s = current.clone();
            patch::merge_patch(&mut s, &body);
            s
        }
    };
    if let Some(rv) = scale["metadata"]["resourceVersion"].as_str()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(ops::stale(res, name));
    }
    let replicas = scale["spec"]["replicas"].as_i64().filter(|r| *r >= 0).ok_or_else(|| {
        ApiError::invalid("Scale.autoscaling", crate::errors::Subject { group: &res.group, resource: &res.plural, name },
            format!("Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: {}: must be greater than or equal to 0", scale["spec"]["replicas"]),
            vec![json!({"reason": "FieldValueInvalid", "message": "Invalid value: must be greater than or equal to 0", "field": "spec.replicas"})])
    })?;
    let mut new = ops::present(res, old.clone());
    new["spec"]["replicas"] = json!(replicas);
    let key = ops::key(res, ns, name);
    let mut w = ops::commit(st, res, key, Some(&old), new, None, opts, true)?;
    w.object = to_scale(&w.object);
    Ok(w)
}
