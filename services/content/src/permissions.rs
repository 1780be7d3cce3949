//! [`Caller`]: who is calling and what they may do, from the verified JWT.
//!
//! Permissions are read from the `scope` claim (space-separated) and the
//! `permissions` claim (an array, as the auth service issues it). Role
//! permissions written with a dot (`content.publish`) count as the scope of the
//! same name (`content:publish`).

use std::collections::BTreeSet;

use axum::{extract::FromRequestParts, http::request::Parts};
use machina_kit::{ApiError, auth::Claims};

/// Reads entries and types.
pub const READ: &str = "content:read";
/// Creates and edits entries, submits them for review.
pub const WRITE: &str = "content:write";
/// Publishes, unpublishes, archives and schedules.
pub const PUBLISH: &str = "content:publish";
/// Everything, including content types and webhooks.
pub const ADMIN: &str = "content:admin";

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Token subject.
    pub subject: String,
    permissions: BTreeSet<String>,
}

impl Caller {
    /// A caller named `subject` holding `permissions`.
    pub fn new(subject: &str, permissions: impl IntoIterator<Item = String>) -> Self {
        let normalise = |p: String| match p.strip_prefix("content.") {
            Some(rest) => format!("content:{rest}"),
            None => p,
        };
        Self {
            subject: subject.to_owned(),
            permissions: permissions.into_iter().map(normalise).collect(),
        }
    }

    /// The caller of a token.
    pub fn from_claims(claims: &Claims) -> Self {
        let scopes = claims
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned);
        let listed = claims
            .extra
            .get("permissions")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned));
        Self::new(&claims.sub, scopes.chain(listed))
    }

    /// Whether the caller holds `permission`.
    pub fn has(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    /// `Ok` if the caller holds any of `wanted` or is an admin, else 403.
    pub fn require(&self, wanted: &[&str]) -> Result<(), ApiError> {
        if self.has(ADMIN) || wanted.iter().any(|w| self.has(w)) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs one of the permissions: {}",
                wanted.join(", ")
            )))
        }
    }

    /// `Ok` if the caller may read content.
    pub fn require_read(&self) -> Result<(), ApiError> {
        self.require(&[READ, WRITE, PUBLISH])
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = Claims::from_request_parts(parts, state).await?;
        Ok(Self::from_claims(&claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scope_and_permissions_claims() {
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "sub": "ann", "exp": 1, "scope": "content:read",
            "permissions": ["content.publish"]
        }))
        .unwrap();
        let caller = Caller::from_claims(&claims);
        assert!(caller.has(READ) && caller.has(PUBLISH) && !caller.has(WRITE));
        assert!(caller.require(&[PUBLISH]).is_ok());
        assert!(caller.require(&[ADMIN]).is_err());
    }
}
