//! Bad input: RFC 6749 errors on /oauth2/*, problem+json elsewhere, nothing written.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, spawn_app};

#[tokio::test]
async fn token_endpoint_rejects_malformed_requests() {
    let app = spawn_app("auth_err_tok", &[]).await;
    let admin = Some((ADMIN_ID, ADMIN_SECRET));
    // JSON instead of a form.
    let reply = app
        .send(
            app.client
                .post(app.url("/oauth2/token"))
                .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
                .json(&json!({"grant_type": "client_credentials"})),
        )
        .await;
    reply.oauth_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request");
    let body = app
        .form("/oauth2/token", &[], admin)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("grant_type"),
        "{body}"
    );
    app.form("/oauth2/token", &[("grant_type", "implicit")], admin)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    app.form(
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "password"),
        ],
        admin,
    )
    .await
    .oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    app.form(
        "/oauth2/token",
        &[("grant_type", "client_credentials")],
        None,
    )
    .await
    .oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    app.form(
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "ghost"),
            ("client_secret", "x"),
        ],
        None,
    )
    .await
    .oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    app.form(
        "/oauth2/token",
        &[("grant_type", "refresh_token"), ("refresh_token", "forged")],
        admin,
    )
    .await
    .oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    app.form("/oauth2/introspect", &[("token", "x")], None)
        .await
        .oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(app.count("refresh_tokens").await, 0);
}

#[tokio::test]
async fn registration_rejects_bad_input_and_writes_nothing() {
    let app = spawn_app("auth_err_reg", &[]).await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": "long enough pw"}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "password": "short"}),
            "password",
        ),
        (json!({"email": "a@example.com"}), "password"),
        (
            json!({"email": "a@example.com", "password": "long enough pw", "admin": true}),
            "admin",
        ),
    ];
    for (body, field) in cases {
        let problem = app
            .post_json("/v1/users", &body, None)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        let named = problem["field"]
            .as_str()
            .unwrap_or_default()
            .contains(field)
            || problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(field);
        assert!(named, "{field}: {problem}");
    }
    let reply = app
        .send(
            app.client
                .post(app.url("/v1/users"))
                .header("content-type", "application/json")
                .body("{nope"),
        )
        .await;
    reply.problem(StatusCode::BAD_REQUEST);
    assert_eq!(app.count("users").await, 0);
    app.register("dup@example.com", "long enough pw").await;
    app.post_json(
        "/v1/users",
        &json!({"email": "DUP@example.com", "password": "long enough pw"}),
        None,
    )
    .await
    .problem(StatusCode::CONFLICT);
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test]
async fn admin_api_needs_the_admin_permission() {
    let app = spawn_app("auth_err_admin", &[]).await;
    let spec = json!({"name": "x", "grantTypes": ["client_credentials"]});
    app.post_json("/v1/admin/clients", &spec, None)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.post_json("/v1/admin/clients", &spec, Some("not.a.jwt"))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // A valid token without the permission.
    let (id, secret) = app
        .create_client(json!({"name": "svc", "grantTypes": ["client_credentials"]}))
        .await;
    let body = app
        .form(
            "/oauth2/token",
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await
        .expect(StatusCode::OK);
    let token = body["access_token"].as_str().unwrap();
    app.post_json("/v1/admin/clients", &spec, Some(token))
        .await
        .problem(StatusCode::FORBIDDEN);
    // Invalid client specs name the field.
    let admin = app.admin_token().await;
    let before = app.count("clients").await;
    for (spec, field) in [
        (
            json!({"name": "x", "grantTypes": ["implicit"]}),
            "grantTypes[0]",
        ),
        (
            json!({"name": "x", "grantTypes": ["password"]}),
            "grantTypes",
        ),
        (
            json!({"name": "", "grantTypes": ["client_credentials"]}),
            "name",
        ),
        (
            json!({"name": "x", "grantTypes": ["authorization_code"]}),
            "redirectUris",
        ),
        (
            json!({"name": "x", "grantTypes": ["client_credentials"], "scopes": ["a b"]}),
            "scopes[0]",
        ),
    ] {
        let problem = app
            .post_json("/v1/admin/clients", &spec, Some(&admin))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], field, "{problem}");
    }
    let reply = app
        .send(
            app.client
                .put(app.url("/v1/admin/roles/bad%20name"))
                .bearer_auth(&admin)
                .json(&json!({"permissions": []})),
        )
        .await;
    reply.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("clients").await, before);
}
