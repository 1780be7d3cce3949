//! Discovery, JWKS, client credentials, password grant, introspection and revocation.

use machina_kit::{Metrics, auth::JwtVerifier};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{ISSUER, claims, spawn_app};

#[tokio::test]
async fn discovery_and_jwks_describe_the_provider() {
    let app = spawn_app("auth_disc", &[]).await;
    let doc = app
        .get("/.well-known/openid-configuration")
        .await
        .expect(StatusCode::OK);
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["token_endpoint"], format!("{ISSUER}/oauth2/token"));
    assert_eq!(doc["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    let jwks = app
        .get("/.well-known/jwks.json")
        .await
        .expect(StatusCode::OK);
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert!(keys[0].get("d").is_none(), "private key published: {jwks}");
    assert_eq!(app.count("signing_keys").await, 1);
    // The private key is sealed at rest (AES-256-GCM), never in clear.
    let stored = app.first("signing_keys").await;
    assert_eq!(stored.get_str("scheme").unwrap(), "aes-256-gcm");
    let sealed = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        stored.get_str("private").unwrap(),
    )
    .unwrap();
    assert!(sealed.len() > 12 + 48 + 16, "nonce + PKCS#8 + tag");
    assert!(stored.get("d").is_none());
    let openapi = app.get("/openapi.json").await.expect(StatusCode::OK);
    assert!(openapi["paths"]["/oauth2/token"]["post"].is_object());
}

#[tokio::test]
async fn client_credentials_end_to_end() {
    let app = spawn_app("auth_cc", &[]).await;
    let admin = app.admin_token().await;
    app.send(
        app.client
            .put(app.url("/v1/admin/roles/reporter"))
            .bearer_auth(&admin)
            .json(&json!({"permissions": ["reports:read", "reports:write"]})),
    )
    .await
    .expect(StatusCode::OK);
    let (id, secret) = app
        .create_client(json!({
            "name": "billing", "grantTypes": ["client_credentials"],
            "scopes": ["read", "write"], "roles": ["reporter"],
        }))
        .await;
    // client_secret_post works as well as Basic.
    let body = app
        .form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
            None,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body.get("refresh_token").is_none(), "{body}");
    let token = body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["sub"], id.as_str());
    assert_eq!(c["aud"], "machina");
    assert_eq!(c["scope"], "read");
    assert_eq!(c["roles"], json!(["reporter"]));
    assert_eq!(c["permissions"], json!(["reports:read", "reports:write"]));
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 900);
    assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // The kit verifier (JWKS URL mode, as every service runs it) accepts it.
    let verifier = JwtVerifier::from_jwks_url(app.url("/.well-known/jwks.json"), Metrics::new())
        .with_issuer(ISSUER)
        .with_audience("machina");
    let verified = verifier.verify(token).await.expect("kit verifies");
    assert_eq!(verified.sub, id);
    assert!(verified.has_scope("read"));

    // Introspection, then revocation.
    let admin_basic = Some((crate::helpers::ADMIN_ID, crate::helpers::ADMIN_SECRET));
    let info = app
        .form("/oauth2/introspect", &[("token", token)], admin_basic)
        .await
        .expect(StatusCode::OK);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], id.as_str());
    app.form("/oauth2/revoke", &[("token", token)], Some((&id, &secret)))
        .await
        .expect(StatusCode::OK);
    let info = app
        .form("/oauth2/introspect", &[("token", token)], admin_basic)
        .await
        .expect(StatusCode::OK);
    assert_eq!(info, json!({"active": false}));

    // A wrong secret is invalid_client with a Basic challenge.
    let reply = app
        .form(
            "/oauth2/token",
            &[("grant_type", "client_credentials")],
            Some((&id, "wrong")),
        )
        .await;
    assert_eq!(reply.header("www-authenticate"), "Basic realm=\"machina\"");
    reply.oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // A scope outside the client's is refused.
    app.form(
        "/oauth2/token",
        &[("grant_type", "client_credentials"), ("scope", "admin")],
        Some((&id, &secret)),
    )
    .await
    .oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn password_grant_and_password_change() {
    let app = spawn_app("auth_pw", &[]).await;
    let client = app.first_party_client().await;
    let user = app
        .register("Ada@Example.com", "correct horse battery")
        .await;
    let body = app
        .password_grant(&client, "ada@example.com", "correct horse battery")
        .await
        .expect(StatusCode::OK);
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], user.as_str());
    assert_eq!(c["roles"], json!(["user"]));
    assert_eq!(c["client_id"], client.0.as_str());
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let id_token = claims(body["id_token"].as_str().expect("openid was granted"));
    assert_eq!(id_token["aud"], client.0.as_str());
    // A client without the password grant cannot use it, even with the right password.
    let (other, secret) = app
        .create_client(json!({"name": "svc", "grantTypes": ["client_credentials"]}))
        .await;
    app.password_grant(&(other, secret), "ada@example.com", "correct horse battery")
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");

    // Change the password: the old one stops working, refresh tokens are revoked.
    let token = body["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| {
        app.client
            .put(app.url("/v1/users/me/password"))
            .bearer_auth(token)
            .json(&json!({"currentPassword": current, "newPassword": new}))
    };
    app.send(change("wrong password!", "another long password"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.send(change("correct horse battery", "short"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let reply = app
        .send(change("correct horse battery", "another long password"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    app.password_grant(&client, "ada@example.com", "correct horse battery")
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    app.password_grant(&client, "ada@example.com", "another long password")
        .await
        .expect(StatusCode::OK);
    app.refresh(&client, &refresh)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let me = app
        .send(app.client.get(app.url("/v1/users/me")).bearer_auth(token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(me["email"], "ada@example.com");
    assert!(me.get("passwordHash").is_none(), "{me}");
}
