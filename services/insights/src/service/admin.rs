//! [`Admin`]: who may call `POST /v1/insights/recompute`.
//!
//! A bearer token equal to `INSIGHTS_ADMIN_TOKEN` (compared in constant time),
//! or a JWT verified by the kit carrying the scope `insights:admin`. With
//! neither configured the endpoint is closed (403), never open.

use axum::http::{HeaderMap, header};
use machina_kit::{ApiError, Secret, auth::JwtVerifier};

/// The scope a JWT needs to trigger a recompute.
pub const ADMIN_SCOPE: &str = "insights:admin";

/// The configured admin credentials.
#[derive(Debug, Clone, Default)]
pub struct Admin {
    token: Option<Secret<String>>,
    jwt: Option<JwtVerifier>,
}

impl Admin {
    /// Accepts `token` and/or JWTs checked by `jwt`.
    pub fn new(token: Option<Secret<String>>, jwt: Option<JwtVerifier>) -> Self {
        Self { token, jwt }
    }

    /// `Ok` when the request's bearer token grants admin access.
    pub async fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.token.is_none() && self.jwt.is_none() {
            return Err(ApiError::Forbidden(
                "admin access is not configured (set INSIGHTS_ADMIN_TOKEN or JWT_*)".to_owned(),
            ));
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized("a bearer token is required".to_owned()))?;
        if let Some(token) = &self.token
            && constant_time_eq(token.expose().as_bytes(), bearer.as_bytes())
        {
            return Ok(());
        }
        match &self.jwt {
            Some(jwt) => {
                let claims = jwt.verify(bearer).await?;
                if claims.has_scope(ADMIN_SCOPE) {
                    Ok(())
                } else {
                    Err(ApiError::Forbidden(format!(
                        "the token lacks the scope {ADMIN_SCOPE}"
                    )))
                }
            }
            None => Err(ApiError::Unauthorized("invalid admin token".to_owned())),
        }
    }
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, a.parse().unwrap());
        }
        h
    }

    #[tokio::test]
    async fn static_token() {
        let admin = Admin::new(Some(Secret::new("s3cret".to_owned())), None);
        assert!(
            admin
                .authorize(&headers(Some("Bearer s3cret")))
                .await
                .is_ok()
        );
        let wrong = admin
            .authorize(&headers(Some("Bearer nope")))
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), "unauthorized");
        let missing = admin.authorize(&headers(None)).await.unwrap_err();
        assert_eq!(missing.code(), "unauthorized");
    }

    #[tokio::test]
    async fn closed_when_unconfigured() {
        let err = Admin::default()
            .authorize(&headers(Some("Bearer x")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "forbidden");
    }

    #[test]
    fn eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
