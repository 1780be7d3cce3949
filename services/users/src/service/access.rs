//! Who may read or modify a profile: its owner (`sub` == id) or a token carrying the
//! admin permission (`ADMIN_PERMISSION`). Anyone else gets the same 404 as for a
//! profile that does not exist, so ids cannot be probed.

use machina_kit::auth::Claims;

use super::{Users, not_found};
use crate::error::{Error, Result};

/// True if the token grants `permission` (auth's `permissions` claim).
pub fn has_permission(claims: &Claims, permission: &str) -> bool {
    claims
        .extra
        .get("permissions")
        .and_then(|p| p.as_array())
        .is_some_and(|p| p.iter().any(|v| v.as_str() == Some(permission)))
}

impl Users {
    /// True for an admin token.
    pub fn is_admin(&self, claims: &Claims) -> bool {
        has_permission(claims, &self.admin_permission)
    }

    /// Refuses with 404 unless `claims` owns profile `id` or is an admin.
    pub fn may_access(&self, claims: &Claims, id: &str) -> Result<()> {
        if claims.sub == id || self.is_admin(claims) {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }

    /// Refuses with 403 unless `claims` is an admin (listing and lookup by email).
    pub fn require_admin(&self, claims: &Claims) -> Result<()> {
        if self.is_admin(claims) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "listing and looking up profiles needs the {} permission",
                self.admin_permission
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(permissions: serde_json::Value) -> Claims {
        serde_json::from_value(json!({"sub": "u1", "exp": 1, "permissions": permissions})).unwrap()
    }

    #[test]
    fn permissions_are_read_from_the_claim() {
        assert!(has_permission(
            &claims(json!(["users:admin"])),
            "users:admin"
        ));
        assert!(!has_permission(
            &claims(json!(["auth:admin"])),
            "users:admin"
        ));
        assert!(!has_permission(
            &claims(json!("users:admin")),
            "users:admin"
        ));
    }
}
