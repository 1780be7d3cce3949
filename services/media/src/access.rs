//! Who may do what: bearer tokens (kit verifier) for writes and reads, signed
//! URLs for reads. Without a configured verifier (auth disabled for the
//! Platform) every request is allowed, like the other services.

use axum::http::{HeaderMap, header};
use machina_kit::{
    ApiError,
    auth::{Claims, JwtVerifier},
};

use crate::{
    Error, Result,
    signing::{SigningKeys, is_signed},
};

/// The permission that uploads and deletes need.
pub const WRITE: &str = "media:write";

/// The request's verified caller, if any.
#[derive(Debug, Clone)]
pub struct Access {
    verifier: Option<JwtVerifier>,
    keys: SigningKeys,
}

impl Access {
    /// Checks with `verifier` (none: auth disabled) and signed-URL `keys`.
    pub fn new(verifier: Option<JwtVerifier>, keys: SigningKeys) -> Self {
        Self { verifier, keys }
    }

    /// The signing keys.
    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// A token is valid (any authenticated caller); returns its claims.
    pub async fn authenticated(&self, headers: &HeaderMap) -> Result<Option<Claims>> {
        let Some(verifier) = &self.verifier else {
            return Ok(None);
        };
        let token = bearer(headers)
            .ok_or_else(|| Error::Api(ApiError::Unauthorized("missing bearer token".to_owned())))?;
        Ok(Some(verifier.verify(token).await?))
    }

    /// A token with `permission` (in `permissions` or `scope`).
    pub async fn require(&self, headers: &HeaderMap, permission: &str) -> Result<Option<Claims>> {
        let claims = self.authenticated(headers).await?;
        if let Some(claims) = &claims
            && !has_permission(claims, permission)
        {
            {
                return Err(Error::forbidden(format!(
                    "the token lacks the {permission} permission"
                )));
            }
        }
        Ok(claims)
    }

    /// A read: a valid signed URL for `path`, or else a valid token. Returns
    /// whether the response is private (token-authorised) for caching.
    pub async fn read(
        &self,
        headers: &HeaderMap,
        path: &str,
        params: &[(String, String)],
    ) -> Result<bool> {
        if is_signed(params) {
            if self.keys.is_empty() {
                return Err(Error::forbidden(
                    "signed URLs are not enabled (no SIGNING_KEYS)",
                ));
            }
            self.keys
                .verify(path, params, now())
                .map_err(|e| Error::forbidden(e.to_string()))?;
            return Ok(false);
        }
        Ok(self.authenticated(headers).await?.is_some())
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// True if the claims grant `permission` through `permissions` or `scope`.
pub fn has_permission(claims: &Claims, permission: &str) -> bool {
    let listed = claims
        .extra
        .get("permissions")
        .and_then(|p| p.as_array())
        .is_some_and(|list| list.iter().any(|p| p.as_str() == Some(permission)));
    listed || claims.has_scope(permission)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
