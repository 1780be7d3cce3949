//! The OpenAPI 3.1 document served at `GET /openapi.json` (hand-written: the
//! OAuth endpoints take forms and answer RFC 6749 errors, which derive macros
//! describe poorly).

use serde_json::{Value, json};

fn form_op(summary: &str, params: &[(&str, &str)]) -> Value {
    let props: serde_json::Map<String, Value> = params
        .iter()
        .map(|(name, desc)| {
            (
                (*name).to_owned(),
                json!({"type": "string", "description": desc}),
            )
        })
        .collect();
    json!({
        "summary": summary,
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "properties": props}}}},
        "responses": {
            "200": {"description": "success", "content": {"application/json": {}}},
            "400": {"$ref": "#/components/responses/OAuthError"},
            "401": {"$ref": "#/components/responses/OAuthError"},
            "429": {"$ref": "#/components/responses/OAuthError"},
        },
    })
}

fn json_op(summary: &str, body: Option<Value>, ok: &str, admin: bool) -> Value {
    let mut op = json!({
        "summary": summary,
        "responses": {
            ok: {"description": "success"},
            "4XX": {"$ref": "#/components/responses/Problem"},
        },
    });
    if let Some(schema) = body {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema}}});
    }
    if admin {
        op["security"] = json!([{"bearer": []}]);
    }
    op
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

/// The document.
pub fn document() -> Value {
    let credentials = json!({"type": "object", "required": ["email", "password"], "properties": {
        "email": {"type": "string", "format": "email"}, "password": {"type": "string", "minLength": 10}}});
    let client = json!({"type": "object", "required": ["name", "grantTypes"], "properties": {
        "clientId": {"type": "string"}, "name": {"type": "string"},
        "confidential": {"type": "boolean", "default": true}, "firstParty": {"type": "boolean", "default": false},
        "grantTypes": {"type": "array", "items": {"enum": crate::model::GRANT_TYPES}},
        "redirectUris": strings(), "scopes": strings(), "roles": strings()}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "machina-auth", "version": env!("CARGO_PKG_VERSION"),
                 "description": "OAuth 2.0 / OpenID Connect provider of a Machina platform"},
        "paths": {
            "/.well-known/openid-configuration": {"get": {"summary": "OpenID Provider metadata", "responses": {"200": {"description": "discovery document"}}}},
            "/.well-known/jwks.json": {"get": {"summary": "Public signing keys (JWKS)", "responses": {"200": {"description": "JWK set"}}}},
            "/oauth2/token": {"post": form_op("Token endpoint (client_credentials, password, authorization_code, refresh_token)", &[
                ("grant_type", "the grant"), ("scope", "requested scope"), ("username", "password grant"),
                ("password", "password grant"), ("code", "authorization_code grant"), ("redirect_uri", "authorization_code grant"),
                ("code_verifier", "PKCE verifier"), ("refresh_token", "refresh_token grant"),
                ("client_id", "client_secret_post / public clients"), ("client_secret", "client_secret_post")])},
            "/oauth2/authorize": {"get": {"summary": "Authorization endpoint (code + PKCE S256; needs the session of POST /v1/login)",
                "responses": {"302": {"description": "redirect to the client with code or error"}, "400": {"$ref": "#/components/responses/OAuthError"}}}},
            "/oauth2/revoke": {"post": form_op("Token revocation (RFC 7009)", &[("token", "the token"), ("token_type_hint", "ignored")])},
            "/oauth2/introspect": {"post": form_op("Token introspection (RFC 7662)", &[("token", "the token")])},
            "/v1/users": {"post": json_op("Register a user", Some(credentials.clone()), "201", false)},
            "/v1/login": {"post": json_op("Sign in; sets the session cookie", Some(credentials), "200", false)},
            "/v1/logout": {"post": json_op("End the session", None, "204", false)},
            "/v1/users/me": {"get": json_op("The caller", None, "200", true),
                "delete": json_op("Delete the caller's account: credentials, refresh tokens, sessions (idempotent)", None, "204", true)},
            "/v1/users/me/password": {"put": json_op("Change password", Some(json!({"type": "object",
                "required": ["currentPassword", "newPassword"], "properties": {
                "currentPassword": {"type": "string"}, "newPassword": {"type": "string", "minLength": 10}}})), "204", true)},
            "/v1/admin/clients": {
                "post": json_op("Create a client (secret returned once)", Some(client), "201", true),
                "get": json_op("List clients", None, "200", true)},
            "/v1/admin/clients/{id}": {
                "get": json_op("One client", None, "200", true),
                "delete": json_op("Delete a client and revoke its refresh tokens", None, "204", true)},
            "/v1/admin/roles": {"get": json_op("List roles", None, "200", true)},
            "/v1/admin/roles/{name}": {
                "put": json_op("Create or replace a role", Some(json!({"type": "object", "required": ["permissions"], "properties": {"permissions": strings()}})), "200", true),
                "delete": json_op("Delete a role", None, "204", true)},
            "/v1/admin/users/{id}": {"delete": json_op("Delete a user: credentials, refresh tokens, sessions (idempotent)", None, "204", true)},
            "/v1/admin/users/{id}/roles": {"put": json_op("Set a user's roles", Some(json!({"type": "object", "required": ["roles"], "properties": {"roles": strings()}})), "200", true)},
            "/v1/admin/keys/rotate": {"post": json_op("Rotate the signing key now", None, "200", true)},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "responses": {
                "OAuthError": {"description": "RFC 6749 error", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error"], "properties": {
                        "error": {"type": "string"}, "error_description": {"type": "string"}}}}}},
                "Problem": {"description": "RFC 9457 problem", "content": {"application/problem+json": {}}},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_oauth_endpoint() {
        let doc = document();
        for path in [
            "/oauth2/token",
            "/oauth2/authorize",
            "/oauth2/revoke",
            "/oauth2/introspect",
            "/.well-known/jwks.json",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path}");
        }
    }
}
