//! Authentication at the edge: verifies the bearer token of non-public routes
//! with the kit's [`JwtVerifier`] and checks the route's scopes and permissions.

use axum::http::{HeaderMap, Method, header};
use machina_kit::{
    ApiError,
    auth::{Claims, JwtVerifier},
};

use crate::{headers::string_list, routes::Policy};

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Verifies the request against `policy`: `None` for public routes, the claims
/// otherwise; 401 without a valid token, 403 when a scope or permission is missing.
pub async fn authorize(
    verifier: Option<&JwtVerifier>,
    policy: &Policy,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<Claims>, ApiError> {
    if policy.public {
        return Ok(None);
    }
    let verifier = verifier.ok_or_else(|| {
        // Startup refuses this configuration; keep failing closed regardless.
        ApiError::Unavailable("no token verifier configured".to_owned())
    })?;
    let token =
        bearer(headers).ok_or_else(|| ApiError::Unauthorized("missing bearer token".to_owned()))?;
    let claims = verifier.verify(token).await?;
    check_grants(policy, method, &claims)?;
    Ok(Some(claims))
}

/// 403 naming the first scope or permission `claims` lacks.
pub fn check_grants(policy: &Policy, method: &Method, claims: &Claims) -> Result<(), ApiError> {
    if let Some(missing) = policy.scopes_for(method).find(|s| !claims.has_scope(s)) {
        return Err(ApiError::Forbidden(format!(
            "token lacks the scope {missing}"
        )));
    }
    let held = string_list(claims.extra.get("permissions")).unwrap_or_default();
    if let Some(missing) = policy
        .permissions
        .iter()
        .find(|p| !held.contains(&p.as_str()))
    {
        return Err(ApiError::Forbidden(format!(
            "token lacks the permission {missing}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scope: &str, permissions: &[&str]) -> Claims {
        serde_json::from_value(serde_json::json!({
            "sub": "u", "exp": 1, "scope": scope, "permissions": permissions
        }))
        .unwrap()
    }

    #[test]
    fn scopes_and_permissions() {
        let policy = Policy {
            scopes: vec!["content:read".into()],
            write_scopes: vec!["content:write".into()],
            permissions: vec!["content.publish".into()],
            public: false,
        };
        let reader = claims("content:read", &["content.publish"]);
        assert!(check_grants(&policy, &Method::GET, &reader).is_ok());
        let err = check_grants(&policy, &Method::POST, &reader).unwrap_err();
        assert_eq!(
            err.to_string(),
            "forbidden: token lacks the scope content:write"
        );
        let err = check_grants(&policy, &Method::GET, &claims("content:read", &[])).unwrap_err();
        assert!(err.to_string().contains("content.publish"));
    }

    #[tokio::test]
    async fn public_routes_skip_tokens_and_others_need_one() {
        let headers = HeaderMap::new();
        let open = authorize(None, &Policy::public(), &Method::POST, &headers).await;
        assert!(matches!(open, Ok(None)));
        let closed = authorize(None, &Policy::default(), &Method::GET, &headers).await;
        assert!(matches!(closed, Err(ApiError::Unavailable(_))));
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
