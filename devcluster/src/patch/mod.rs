//! Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902, with `test`), the
//! subset of strategic merge patch kubectl sends, and server-side apply.

pub mod apply;
pub mod fields;
mod merge;

use serde_json::Value;

use crate::errors::ApiError;

pub use merge::{merge_patch, strategic_merge_patch};

/// The patch types of the `Content-Type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchKind {
    /// Maps a Content-Type to a patch type; anything else is 415.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/json-patch+json" => Ok(Self::Json),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(Self::Apply),
            _ => Err(ApiError::unsupported_media_type(ct)),
        }
    }
}

/// Applies an RFC 6902 patch; a failed `test` or a bad path is 422 like the apiserver.
/// As in the apiserver (evanphx/json-patch), `test` with `null` passes on a missing
/// path: kube-runtime's finalizer helper relies on it.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| {
        ApiError::bad_request(format!(
            "the server rejected our request due to an error in our request: {e}"
        ))
    })?;
    let invalid = |message: String| ApiError {
        code: 422,
        reason: "Invalid",
        message,
        details: None,
    };
    let mut doc = target.clone();
    for op in ops.0 {
        if let json_patch::PatchOperation::Test(t) = &op
            && t.value.is_null()
        {
            match doc.pointer(&t.path.to_string()) {
                None | Some(Value::Null) => continue,
                Some(_) => {
                    return Err(invalid(format!(
                        "the server rejected our request due to an error in our request: testing value {} failed",
                        t.path
                    )));
                }
            }
        }
        json_patch::patch(&mut doc, &[op]).map_err(|e| {
            invalid(format!(
                "the server rejected our request due to an error in our request: {e}"
            ))
        })?;
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_test_op_guards() {
        let doc = json!({"metadata": {"finalizers": ["a"]}});
        let ok = json!([{"op": "test", "path": "/metadata/finalizers", "value": ["a"]},
                        {"op": "remove", "path": "/metadata/finalizers/0"}]);
        assert_eq!(
            json_patch(&doc, &ok).expect("patch"),
            json!({"metadata": {"finalizers": []}})
        );
        let stale = json!([{"op": "test", "path": "/metadata/finalizers", "value": ["b"]}]);
        assert_eq!(json_patch(&doc, &stale).unwrap_err().code, 422);
    }

    #[test]
    fn unknown_patch_type_is_415() {
        assert_eq!(
            PatchKind::from_content_type("text/plain").unwrap_err().code,
            415
        );
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml; charset=utf-8")
                .expect("apply"),
            PatchKind::Apply
        );
    }
}

#[cfg(test)]
mod kube_runtime_finalizer_patch {
    use super::*;
    use serde_json::json;

    /// kube-runtime's `finalizer()` adds the first finalizer with `test null` + `add`.
    #[test]
    fn test_null_on_missing_path_passes() {
        let doc = json!({"metadata": {"name": "x"}});
        let p = json!([{"op": "test", "path": "/metadata/finalizers", "value": null},
                       {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}]);
        assert_eq!(
            json_patch(&doc, &p).expect("patch")["metadata"]["finalizers"],
            json!(["f"])
        );
    }
}
