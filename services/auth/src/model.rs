//! Stored documents (MongoDB) and the closed sets of grant types.

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};

/// The grant types a client may be allowed.
pub const GRANT_TYPES: [&str; 4] = [
    "client_credentials",
    "password",
    "authorization_code",
    "refresh_token",
];

/// A signing key; the private half is sealed (see [`crate::crypto::Sealer`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyDoc {
    /// Key id (`kid`).
    #[serde(rename = "_id")]
    pub kid: String,
    /// Monotonic number; unique, so two replicas rotating at once cannot both win.
    pub generation: i64,
    /// JWS algorithm (`EdDSA`).
    pub alg: String,
    /// Public key, base64url (the JWK `x`).
    pub x: String,
    /// Sealed PKCS#8 private key, base64.
    pub private: String,
    /// How `private` is sealed (`aes-256-gcm` or `none`).
    pub scheme: String,
    /// When it started signing.
    pub created_at: DateTime,
}

/// An OAuth client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientDoc {
    /// `client_id`.
    #[serde(rename = "_id")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// argon2id hash of the secret; `None` for public clients (PKCE only).
    pub secret_hash: Option<String>,
    /// First-party clients may use the password grant.
    pub first_party: bool,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Exact redirect URIs for the authorization code flow.
    pub redirect_uris: Vec<String>,
    /// Scopes the client may request (the default when none is requested).
    pub scopes: Vec<String>,
    /// Roles of the client itself (client credentials tokens).
    pub roles: Vec<String>,
    /// Creation time.
    pub created_at: DateTime,
}

/// A user who can sign in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDoc {
    /// Subject id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Lowercased email, unique.
    pub email: String,
    /// argon2id hash.
    pub password_hash: String,
    /// Roles (mapped to permissions at issuance).
    pub roles: Vec<String>,
    /// Creation time.
    pub created_at: DateTime,
    /// Last password change.
    pub password_changed_at: DateTime,
}

/// A role and the permissions it grants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoleDoc {
    /// Role name.
    #[serde(rename = "_id")]
    pub name: String,
    /// Permissions.
    pub permissions: Vec<String>,
}

/// A refresh token, stored by hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshDoc {
    /// SHA-256 of the token.
    #[serde(rename = "_id")]
    pub hash: String,
    /// Every token descended from one grant shares the family; reuse revokes it.
    pub family: String,
    /// Client it was issued to.
    pub client_id: String,
    /// User id.
    pub sub: String,
    /// Granted scope.
    pub scope: String,
    /// Hard expiry (a TTL index purges it).
    pub expires_at: DateTime,
    /// When it was exchanged for a successor.
    pub rotated_at: Option<DateTime>,
    /// The successor token sealed under this token's hash, kept for the grace period.
    pub successor: Option<String>,
    /// Revoked (family reuse, logout, password change).
    pub revoked: bool,
}
