//! OAuth clients: authentication and administration.
//!
//! Secrets are 256-bit random strings shown once at creation and stored as
//! argon2id hashes. Verifying argon2id costs tens of milliseconds of CPU, which
//! would cap client-credentials issuance far below the target rate, so a
//! verified `(client, stored hash, presented secret)` triple is remembered for
//! `CLIENT_SECRET_CACHE_TTL` as a SHA-256 digest. The stored hash is part of the
//! digest, so a changed secret or a deleted client is noticed as soon as the client
//! document is read again (see [`ClientCache`]); the trade-off is that a process
//! memory dump reveals digests of recently used secrets, which for 256-bit random
//! secrets are not reversible.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::{HeaderMap, header};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use futures::TryStreamExt as _;
use machina_kit::Secret;
use mongodb::bson::{DateTime, doc};
use serde::Deserialize;

use super::{Auth, make_hash, verify_hash};
use crate::{
    Error, Result,
    crypto::{random_token, sha256_hex},
    model::{ClientDoc, GRANT_TYPES},
    roles::valid_name,
    scope::valid_scope_token,
    store::is_duplicate,
};

/// Most entries the secret cache holds before it is cleared.
const CACHE_CAP: usize = 10_000;

/// Recently verified client secrets, by digest.
#[derive(Debug)]
pub struct SecretCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Instant>>,
}

impl SecretCache {
    /// A cache keeping entries for `ttl` (zero disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(client: &ClientDoc, hash: &str, secret: &str) -> String {
        sha256_hex(format!("{}\0{hash}\0{secret}", client.id).as_bytes())
    }

    fn hit(&self, digest: &str) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        self.entries
            .lock()
            .ok()
            .and_then(|e| e.get(digest).copied())
            .is_some_and(|at| at.elapsed() < self.ttl)
    }

    fn remember(&self, digest: String) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_CAP {
                entries.clear();
            }
            entries.insert(digest, Instant::now());
        }
    }
}

/// Client documents read recently, so issuance does not query MongoDB for the
/// client on every request. A deleted client or a new secret takes effect on other
/// replicas within the TTL (at once on the replica that made the change).
#[derive(Debug)]
pub struct ClientCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, ClientDoc)>>,
}

impl ClientCache {
    /// A cache keeping clients for `ttl` (zero disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, id: &str) -> Option<ClientDoc> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, client: &ClientDoc) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_CAP {
                entries.clear();
            }
            entries.insert(client.id.clone(), (Instant::now(), client.clone()));
        }
    }

    /// Forgets `id` (after a change on this replica).
    pub fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(id);
        }
    }
}

/// Client credentials presented with a request.
#[derive(Debug)]
pub struct Presented {
    /// `client_id`.
    pub id: String,
    /// `client_secret`, if any.
    pub secret: Option<Secret<String>>,
}

/// Reads HTTP Basic credentials (RFC 6749 §2.3.1, form-encoded id and secret)
/// or `client_id`/`client_secret` form parameters; using both is an error.
pub fn presented(headers: &HeaderMap, form: &HashMap<String, String>) -> Result<Option<Presented>> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    if let Some((_, encoded)) = basic {
        if form.contains_key("client_secret") {
            return Err(Error::invalid(
                "client_secret",
                "use one client authentication method, not Basic and client_secret together",
            ));
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(Error::InvalidClient)?;
        let (id, secret) = decoded.split_once(':').ok_or(Error::InvalidClient)?;
        let unescape = |s: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                .ok()
                .and_then(|mut v| v.pop())
                .map(|(_, v)| v)
        };
        let id = unescape(id).ok_or(Error::InvalidClient)?;
        let secret = unescape(secret).ok_or(Error::InvalidClient)?;
        if let Some(body_id) = form.get("client_id").filter(|b| **b != id) {
            let _ = body_id;
            return Err(Error::InvalidClient);
        }
        return Ok(Some(Presented {
            id,
            secret: Some(Secret::new(secret)),
        }));
    }
    Ok(form.get("client_id").map(|id| Presented {
        id: id.clone(),
        secret: form.get("client_secret").cloned().map(Secret::new),
    }))
}

/// A new client, as the admin API accepts it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewClient {
    /// Wanted id (generated when absent).
    pub client_id: Option<String>,
    /// Display name.
    pub name: String,
    /// Confidential clients get a secret; public ones must use PKCE.
    #[serde(default = "yes")]
    pub confidential: bool,
    /// May use the password grant.
    #[serde(default)]
    pub first_party: bool,
    /// Allowed grants.
    pub grant_types: Vec<String>,
    /// Redirect URIs (authorization code).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Allowed scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Roles of the client itself.
    #[serde(default)]
    pub roles: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Checks a new client; the error names the field.
pub fn validate(new: &NewClient) -> Result<()> {
    if let Some(id) = &new.client_id
        && !valid_name(id)
    {
        return Err(Error::invalid("clientId", "1-64 of A-Z a-z 0-9 _ . : -"));
    }
    if new.name.trim().is_empty() || new.name.len() > 200 {
        return Err(Error::invalid("name", "between 1 and 200 characters"));
    }
    if new.grant_types.is_empty() {
        return Err(Error::invalid("grantTypes", "at least one grant type"));
    }
    for (i, g) in new.grant_types.iter().enumerate() {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(Error::invalid(
                &format!("grantTypes[{i}]"),
                format!("{g:?} is not one of {}", GRANT_TYPES.join(", ")),
            ));
        }
    }
    let has = |g: &str| new.grant_types.iter().any(|x| x == g);
    if !new.confidential && (has("client_credentials") || has("password")) {
        return Err(Error::invalid(
            "grantTypes",
            "a public client can only use authorization_code and refresh_token",
        ));
    }
    if has("password") && !new.first_party {
        return Err(Error::invalid(
            "grantTypes",
            "the password grant is for first-party clients only (set firstParty)",
        ));
    }
    if has("authorization_code") && new.redirect_uris.is_empty() {
        return Err(Error::invalid(
            "redirectUris",
            "authorization_code needs at least one redirect URI",
        ));
    }
    for (i, uri) in new.redirect_uris.iter().enumerate() {
        let ok = (uri.starts_with("https://") || uri.starts_with("http://") || uri.contains(":/"))
            && !uri.contains('#')
            && uri.len() <= 2048;
        if !ok {
            return Err(Error::invalid(
                &format!("redirectUris[{i}]"),
                "an absolute URI without a fragment",
            ));
        }
    }
    for (i, s) in new.scopes.iter().enumerate() {
        if !valid_scope_token(s) {
            return Err(Error::invalid(
                &format!("scopes[{i}]"),
                "not a valid scope token",
            ));
        }
    }
    for (i, r) in new.roles.iter().enumerate() {
        if !valid_name(r) {
            return Err(Error::invalid(
                &format!("roles[{i}]"),
                "1-64 of A-Z a-z 0-9 _ . : -",
            ));
        }
    }
    Ok(())
}

impl Auth {
    /// Authenticates `presented`: a confidential client must prove its secret, a
    /// public client must not send one. Unknown clients and wrong secrets are the
    /// same `invalid_client`.
    pub async fn authenticate_client(&self, presented: Option<Presented>) -> Result<ClientDoc> {
        let presented = presented.ok_or(Error::InvalidClient)?;
        let client = match self.client_cache.get(&presented.id) {
            Some(client) => client,
            None => {
                let found = self
                    .store
                    .clients
                    .find_one(doc! {"_id": &presented.id})
                    .await
                    .map_err(|e| self.db(&e))?;
                let Some(client) = found else {
                    return Err(Error::InvalidClient);
                };
                self.client_cache.put(&client);
                client
            }
        };
        match (&client.secret_hash, presented.secret) {
            (None, None) => Ok(client),
            (Some(hash), Some(secret)) => {
                let digest = SecretCache::digest(&client, hash, secret.expose());
                if self.secret_cache.hit(&digest) {
                    return Ok(client);
                }
                if verify_hash(secret.expose().clone(), hash.clone()).await? {
                    self.secret_cache.remember(digest);
                    Ok(client)
                } else {
                    Err(Error::InvalidClient)
                }
            }
            _ => Err(Error::InvalidClient),
        }
    }

    /// Creates a client; returns it with its secret (shown only now).
    pub async fn create_client(&self, new: NewClient) -> Result<(ClientDoc, Option<String>)> {
        validate(&new)?;
        let secret = if new.confidential {
            Some(random_token()?)
        } else {
            None
        };
        let secret_hash = match &secret {
            Some(s) => Some(make_hash(s.clone(), self.hash_params).await?),
            None => None,
        };
        let client = ClientDoc {
            id: new
                .client_id
                .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            name: new.name.trim().to_owned(),
            secret_hash,
            first_party: new.first_party,
            grant_types: new.grant_types,
            redirect_uris: new.redirect_uris,
            scopes: new.scopes,
            roles: new.roles,
            created_at: DateTime::now(),
        };
        match self.store.clients.insert_one(&client).await {
            Ok(_) => Ok((client, secret)),
            Err(e) if is_duplicate(&e) => Err(Error::conflict(format!(
                "client {:?} already exists",
                client.id
            ))),
            Err(e) => Err(self.db(&e)),
        }
    }

    /// Creates or resets the bootstrap admin client with `secret`.
    pub async fn upsert_admin_client(&self, id: &str, secret: &Secret<String>) -> Result<()> {
        let client = ClientDoc {
            id: id.to_owned(),
            name: "bootstrap admin".into(),
            secret_hash: Some(make_hash(secret.expose().clone(), self.hash_params).await?),
            first_party: true,
            grant_types: vec!["client_credentials".into()],
            redirect_uris: Vec::new(),
            scopes: Vec::new(),
            roles: vec!["admin".into()],
            created_at: DateTime::now(),
        };
        self.store
            .clients
            .replace_one(doc! {"_id": id}, &client)
            .upsert(true)
            .await
            .map_err(|e| self.db(&e))?;
        self.client_cache.forget(id);
        Ok(())
    }

    /// Every client.
    pub async fn list_clients(&self) -> Result<Vec<ClientDoc>> {
        self.store
            .clients
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .await
            .map_err(|e| self.db(&e))?
            .try_collect()
            .await
            .map_err(|e| self.db(&e))
    }

    /// One client (404 if absent).
    pub async fn get_client(&self, id: &str) -> Result<ClientDoc> {
        self.store
            .clients
            .find_one(doc! {"_id": id})
            .await
            .map_err(|e| self.db(&e))?
            .ok_or_else(|| Error::not_found(format!("client {id:?}")))
    }

    /// Deletes a client and revokes its refresh tokens.
    pub async fn delete_client(&self, id: &str) -> Result<()> {
        let outcome = self
            .store
            .clients
            .delete_one(doc! {"_id": id})
            .await
            .map_err(|e| self.db(&e))?;
        self.client_cache.forget(id);
        if outcome.deleted_count == 0 {
            return Err(Error::not_found(format!("client {id:?}")));
        }
        self.store
            .refresh
            .update_many(doc! {"clientId": id}, doc! {"$set": {"revoked": true}})
            .await
            .map_err(|e| self.db(&e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(grants: &[&str]) -> NewClient {
        NewClient {
            client_id: Some("web".into()),
            name: "Web".into(),
            confidential: true,
            first_party: false,
            grant_types: grants.iter().map(|g| (*g).to_owned()).collect(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            scopes: vec!["read".into()],
            roles: vec![],
        }
    }

    #[test]
    fn password_grant_needs_first_party() {
        let err = validate(&new(&["password"])).unwrap_err();
        assert!(err.to_string().contains("first-party"), "{err}");
        let mut ok = new(&["password"]);
        ok.first_party = true;
        assert!(validate(&ok).is_ok());
    }

    #[test]
    fn public_clients_cannot_use_secret_grants() {
        let mut c = new(&["client_credentials"]);
        c.confidential = false;
        assert!(validate(&c).is_err());
    }

    #[test]
    fn unknown_grant_is_named() {
        let err = validate(&new(&["implicit"])).unwrap_err();
        assert!(err.to_string().contains("grantTypes[0]"), "{err}");
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let raw = STANDARD.encode("my%20app:s%3Acret");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {raw}").parse().unwrap(),
        );
        let p = presented(&headers, &HashMap::new()).unwrap().unwrap();
        assert_eq!(p.id, "my app");
        assert_eq!(p.secret.unwrap().expose(), "s:cret");
    }

    #[test]
    fn two_authentication_methods_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Basic YTpi".parse().unwrap());
        let form = HashMap::from([("client_secret".to_owned(), "b".to_owned())]);
        assert!(presented(&headers, &form).is_err());
    }
}
