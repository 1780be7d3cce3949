//! Access and ID tokens: issuance, introspection (RFC 7662), revocation (RFC 7009).

use jsonwebtoken::{Algorithm, Validation};
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Auth, now_secs};
use crate::{Result, crypto::sha256_hex, model::ClientDoc, scope};

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// User id, or the client id for client credentials.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Token id (revocation).
    pub jti: String,
    /// Granted scope, space-separated.
    pub scope: String,
    /// Client the token was issued to.
    pub client_id: String,
    /// Roles of the subject.
    pub roles: Vec<String>,
    /// Permissions those roles grant.
    pub permissions: Vec<String>,
}

/// The token endpoint's success body (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Granted scope.
    pub scope: String,
    /// Opaque refresh token, for user grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// OIDC ID token when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Who a token is for.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `sub`.
    pub id: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Email (ID token), for users.
    pub email: Option<String>,
}

impl Auth {
    /// Signs an access token (and an ID token when `openid` is in scope).
    pub async fn access_token(
        &self,
        subject: &Subject,
        client: &ClientDoc,
        scope: &str,
        nonce: Option<&str>,
    ) -> Result<TokenResponse> {
        let now = now_secs();
        let ttl = self.policy.access_ttl.as_secs();
        let claims = AccessClaims {
            iss: self.policy.issuer.clone(),
            sub: subject.id.clone(),
            aud: self.policy.audience.clone(),
            exp: now + ttl,
            iat: now,
            nbf: now,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            scope: scope.to_owned(),
            client_id: client.id.clone(),
            roles: subject.roles.clone(),
            permissions: self.permissions(&subject.roles).await?,
        };
        let access_token = self.keys.sign(&claims).map_err(crate::Error::internal)?;
        let id_token = if subject.email.is_some() && scope::contains(scope, "openid") {
            let mut id = json!({
                "iss": self.policy.issuer, "sub": subject.id, "aud": client.id,
                "exp": now + ttl, "iat": now, "auth_time": now,
                "at_hash": at_hash(&access_token),
            });
            if let Some(nonce) = nonce {
                id["nonce"] = json!(nonce);
            }
            if scope::contains(scope, "email") {
                id["email"] = json!(subject.email);
            }
            Some(self.keys.sign(&id).map_err(crate::Error::internal)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            scope: scope.to_owned(),
            refresh_token: None,
            id_token,
        })
    }

    /// Verifies one of our access tokens (signature, expiry, issuer, not revoked).
    pub async fn verify_access(&self, token: &str) -> Result<Option<AccessClaims>> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        let Some(key) = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.decoding_key(kid))
        else {
            return Ok(None);
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.policy.issuer]);
        validation.set_audience(&[&self.policy.audience]);
        validation.leeway = 0;
        let Ok(data) = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation) else {
            return Ok(None);
        };
        let mut conn = self.redis.connection();
        let revoked: bool = conn
            .exists(self.key(&format!("revoked:{}", data.claims.jti)))
            .await
            .map_err(|e| self.cache(&e))?;
        Ok((!revoked).then_some(data.claims))
    }

    /// RFC 7662: what a resource server may know about `token`.
    pub async fn introspect(&self, token: &str) -> Result<Value> {
        if let Some(c) = self.verify_access(token).await? {
            return Ok(json!({
                "active": true, "token_type": "access_token", "scope": c.scope,
                "client_id": c.client_id, "sub": c.sub, "aud": c.aud, "iss": c.iss,
                "exp": c.exp, "iat": c.iat, "nbf": c.nbf, "jti": c.jti,
                "roles": c.roles, "permissions": c.permissions,
            }));
        }
        if let Some(r) = self.active_refresh(token).await? {
            return Ok(json!({
                "active": true, "token_type": "refresh_token", "scope": r.scope,
                "client_id": r.client_id, "sub": r.sub, "iss": self.policy.issuer,
                "exp": r.expires_at.timestamp_millis() / 1000,
            }));
        }
        Ok(json!({"active": false}))
    }

    /// RFC 7009: revokes `token` if `client` owns it; unknown tokens are ignored.
    /// A refresh token takes its whole family with it; an access token is denied
    /// by `jti` until it expires.
    pub async fn revoke(&self, token: &str, client: &ClientDoc) -> Result<()> {
        if let Some(c) = self.verify_access(token).await? {
            if c.client_id != client.id {
                return Ok(());
            }
            let ttl = c.exp.saturating_sub(now_secs()).max(1);
            let mut conn = self.redis.connection();
            let () = conn
                .set_ex(self.key(&format!("revoked:{}", c.jti)), 1, ttl)
                .await
                .map_err(|e| self.cache(&e))?;
            return Ok(());
        }
        let hash = sha256_hex(token.as_bytes());
        if let Some(doc) = self
            .store
            .refresh
            .find_one(mongodb::bson::doc! {"_id": &hash})
            .await
            .map_err(|e| self.db(&e))?
            && doc.client_id == client.id
        {
            self.revoke_family(&doc.family).await?;
        }
        Ok(())
    }
}

/// OIDC `at_hash`: left half of SHA-256 of the access token, base64url.
fn at_hash(token: &str) -> String {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}
