//! Scope and RBAC rules: pure functions over strings.

use std::collections::{BTreeSet, HashMap};

use crate::{Error, Result};

/// True for a valid scope token (RFC 6749 §3.3 `NQCHAR`s, bounded length).
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The granted scope: the requested tokens if all are allowed, else all allowed ones.
pub fn resolve(requested: Option<&str>, allowed: &[String]) -> Result<String> {
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(allowed.join(" "));
    };
    let mut granted = Vec::new();
    for token in requested.split(' ').filter(|t| !t.is_empty()) {
        if !valid_scope_token(token) {
            return Err(Error::invalid(
                "scope",
                format!("{token:?} is not a valid scope token"),
            ));
        }
        if !allowed.iter().any(|a| a == token) {
            return Err(Error::InvalidScope(format!(
                "scope {token:?} is not allowed for this client"
            )));
        }
        if !granted.contains(&token) {
            granted.push(token);
        }
    }
    Ok(granted.join(" "))
}

/// True if `scope` (space-separated) contains `wanted`.
pub fn contains(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

/// The permissions granted by `roles`, sorted and without duplicates.
pub fn permissions(roles: &[String], table: &HashMap<String, Vec<String>>) -> Vec<String> {
    let set: BTreeSet<&String> = roles
        .iter()
        .filter_map(|r| table.get(r))
        .flatten()
        .collect();
    set.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["read".into(), "write".into(), "openid".into()]
    }

    #[test]
    fn default_is_everything_allowed() {
        assert_eq!(resolve(None, &allowed()).unwrap(), "read write openid");
        assert_eq!(
            resolve(Some("  "), &allowed()).unwrap(),
            "read write openid"
        );
    }

    #[test]
    fn requested_subset_is_granted_once() {
        assert_eq!(
            resolve(Some("write read write"), &allowed()).unwrap(),
            "write read"
        );
    }

    #[test]
    fn unknown_or_malformed_scopes_are_refused() {
        assert!(matches!(
            resolve(Some("admin"), &allowed()),
            Err(Error::InvalidScope(_))
        ));
        assert!(matches!(
            resolve(Some("re\"ad"), &allowed()),
            Err(Error::InvalidRequest { .. })
        ));
    }

    #[test]
    fn roles_map_to_permissions() {
        let table = HashMap::from([
            (
                "admin".to_owned(),
                vec!["auth:admin".to_owned(), "users:read".to_owned()],
            ),
            ("user".to_owned(), vec!["users:read".to_owned()]),
        ]);
        let roles = vec!["user".to_owned(), "admin".to_owned(), "ghost".to_owned()];
        assert_eq!(permissions(&roles, &table), ["auth:admin", "users:read"]);
    }
}
