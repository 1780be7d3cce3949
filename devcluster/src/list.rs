//! LIST with selectors and `limit`/`continue` pagination.
//!
//! Simplification: each page reads the current state (the token holds the last key
//! served), not a snapshot at the first page's resourceVersion.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult};
use crate::ops::present;
use crate::registry::Resource;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::State;

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0: everything).
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
}

fn decode_token(token: &str) -> ApiResult<(String, String)> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    match (v["ns"].as_str(), v["name"].as_str()) {
        (Some(ns), Some(name)) => Ok((ns.to_owned(), name.to_owned())),
        _ => Err(bad()),
    }
}

fn encode_token(ns: &str, name: &str, rv: u64) -> String {
    URL_SAFE_NO_PAD.encode(json!({"ns": ns, "name": name, "rv": rv}).to_string())
}

/// The `<Kind>List` for `res` in `ns` (all namespaces when `None`).
pub fn list(st: &State, res: &Resource, ns: Option<&str>, req: &ListRequest) -> ApiResult<Value> {
    let after = req
        .continue_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    let mut items = Vec::new();
    let mut next = None;
    let mut remaining = 0usize;
    let (group, plural) = crate::events::storage(res);
    for (k, o) in st.list_candidates(group, plural, ns, &req.labels) {
        if let Some((ans, aname)) = &after
            && (k.namespace.as_str(), k.name.as_str()) <= (ans.as_str(), aname.as_str())
        {
            continue;
        }
        if !(req.labels.matches(o) && req.fields.matches(o)) {
            continue;
        }
        if req.limit > 0 && items.len() >= req.limit {
            remaining += 1;
            continue;
        }
        items.push(present(res, o.clone()));
        if req.limit > 0 && items.len() == req.limit {
            next = Some(encode_token(&k.namespace, &k.name, st.rv));
        }
    }
    let mut metadata = json!({"resourceVersion": st.rv.to_string()});
    if remaining > 0
        && let Some(token) = next
    {
        metadata["continue"] = json!(token);
        metadata["remainingItemCount"] = json!(remaining);
    }
    Ok(
        json!({"apiVersion": res.api_version(), "kind": format!("{}List", res.kind), "metadata": metadata, "items": items}),
    )
}
