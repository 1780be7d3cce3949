//! Login sessions and authorization codes, in Redis under hashed keys.
//!
//! A session is what `POST /v1/login` sets as a cookie; `/oauth2/authorize`
//! turns it into a single-use code bound to the client, the redirect URI and a
//! PKCE S256 challenge. Codes live `AUTH_CODE_TTL` and are taken with `GETDEL`,
//! so a code can be exchanged once.
//!
//! Each user's live session keys are also listed in a Redis set
//! (`user-sessions:<user id>`, expiring with the newest session) so that deleting
//! the user can end all of them at once.

use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};

use super::Auth;
use crate::{
    Error, Result,
    crypto::{constant_time_eq, random_token, sha256_b64url, sha256_hex},
};

/// What a code stands for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CodeGrant {
    /// Client that asked.
    pub client_id: String,
    /// Redirect URI it must be exchanged with.
    pub redirect_uri: String,
    /// User id.
    pub sub: String,
    /// Granted scope.
    pub scope: String,
    /// PKCE S256 challenge.
    pub challenge: String,
    /// OIDC nonce, echoed in the ID token.
    pub nonce: Option<String>,
}

/// True for a PKCE verifier or challenge: 43-128 unreserved characters (RFC 7636 §4.1).
pub fn valid_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// True if `verifier` hashes (S256) to `challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    valid_pkce_string(verifier)
        && constant_time_eq(
            sha256_b64url(verifier.as_bytes()).as_bytes(),
            challenge.as_bytes(),
        )
}

impl Auth {
    /// Starts a login session for `user_id`; returns the cookie value.
    pub async fn create_session(&self, user_id: &str) -> Result<String> {
        let token = random_token()?;
        let key = self.key(&format!("session:{}", sha256_hex(token.as_bytes())));
        let ttl = self.policy.session_ttl.as_secs().max(1);
        let index = self.sessions_of(user_id);
        let mut conn = self.redis.connection();
        // Indexed first: a session is never live without being listed for its user.
        let () = redis::pipe()
            .sadd(&index, &key)
            .ignore()
            .expire(&index, i64::try_from(ttl).unwrap_or(i64::MAX))
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| self.cache(&e))?;
        let () = conn
            .set_ex(&key, user_id, ttl)
            .await
            .map_err(|e| self.cache(&e))?;
        Ok(token)
    }

    /// Ends every login session of `user_id` (idempotent).
    pub async fn end_sessions_of(&self, user_id: &str) -> Result<()> {
        let index = self.sessions_of(user_id);
        let mut conn = self.redis.connection();
        let keys: Vec<String> = conn.smembers(&index).await.map_err(|e| self.cache(&e))?;
        let () = conn
            .del(
                keys.iter()
                    .chain(std::iter::once(&index))
                    .collect::<Vec<_>>(),
            )
            .await
            .map_err(|e| self.cache(&e))?;
        Ok(())
    }

    /// The Redis set listing the session keys of `user_id`.
    fn sessions_of(&self, user_id: &str) -> String {
        self.key(&format!("user-sessions:{}", sha256_hex(user_id.as_bytes())))
    }

    /// The user of a session, if it is live.
    pub async fn session_user(&self, token: &str) -> Result<Option<String>> {
        let mut conn = self.redis.connection();
        conn.get(self.key(&format!("session:{}", sha256_hex(token.as_bytes()))))
            .await
            .map_err(|e| self.cache(&e))
    }

    /// Ends a session.
    pub async fn end_session(&self, token: &str) -> Result<()> {
        let mut conn = self.redis.connection();
        let () = conn
            .del(self.key(&format!("session:{}", sha256_hex(token.as_bytes()))))
            .await
            .map_err(|e| self.cache(&e))?;
        Ok(())
    }

    /// Stores `grant` under a new code.
    pub async fn create_code(&self, grant: &CodeGrant) -> Result<String> {
        let code = random_token()?;
        let value = serde_json::to_string(grant).map_err(Error::internal)?;
        let mut conn = self.redis.connection();
        let () = conn
            .set_ex(
                self.key(&format!("code:{}", sha256_hex(code.as_bytes()))),
                value,
                self.policy.code_ttl.as_secs().max(1),
            )
            .await
            .map_err(|e| self.cache(&e))?;
        Ok(code)
    }

    /// Takes (and deletes) the grant of `code`.
    pub async fn take_code(&self, code: &str) -> Result<Option<CodeGrant>> {
        let mut conn = self.redis.connection();
        let value: Option<String> = conn
            .get_del(self.key(&format!("code:{}", sha256_hex(code.as_bytes()))))
            .await
            .map_err(|e| self.cache(&e))?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
        assert!(!valid_pkce_string(&"a".repeat(129)));
        assert!(!valid_pkce_string(&format!("{}+", "a".repeat(50))));
    }
}
