//! `/.well-known/openid-configuration` and `/.well-known/jwks.json`.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::AppState;

/// The OpenID Provider metadata (OIDC Discovery 1.0, RFC 8414).
pub fn discovery_document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "password", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "scope", "client_id", "roles", "permissions", "email", "nonce", "at_hash"],
    })
}

/// GET `/.well-known/openid-configuration`.
pub async fn discovery(State(state): State<AppState>) -> Json<Value> {
    Json(discovery_document(&state.auth.policy.issuer))
}

/// GET `/.well-known/jwks.json`: the public keys (cacheable for 5 minutes;
/// verifiers refetch sooner when they meet an unknown `kid`).
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.auth.keys.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
