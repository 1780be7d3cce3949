//! Registration and password change through auth.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Broker, PASSWORD, spawn_app};

#[tokio::test]
async fn registration_creates_credentials_in_auth_and_the_profile_here() {
    let app = spawn_app(Broker::Up).await;
    let reply = app
        .register_raw(&json!({
            "email": "Ada@Example.com", "username": "ada", "password": PASSWORD,
            "traits": {"age": 36, "country": "GB"},
        }))
        .await;
    let location = reply
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = reply.expect(StatusCode::CREATED);
    let id = body["id"].as_str().expect("id");
    assert_eq!(location, format!("/v1/users/{id}"));
    // The same id in auth's token, and no password anywhere in our database.
    let token = app.token("ada@example.com", PASSWORD).await;
    let me = app.get("/v1/users/me", &token).await.expect(StatusCode::OK);
    assert_eq!(me["id"], id);
    let stored = app.stored(id).await.expect("stored").to_string();
    assert!(!stored.contains(PASSWORD), "{stored}");
    assert!(!stored.to_lowercase().contains("password"), "{stored}");
}

#[tokio::test]
async fn taken_email_or_username_is_409_case_insensitively() {
    let app = spawn_app(Broker::Up).await;
    app.register("ada").await;
    for (email, username, field) in [
        ("ADA@example.com", "other", "email"),
        ("other@example.com", "ADA", "username"),
    ] {
        let body = app
            .register_raw(&json!({"email": email, "username": username, "password": PASSWORD}))
            .await
            .problem(StatusCode::CONFLICT);
        assert!(
            body["detail"].as_str().unwrap_or_default().contains(field),
            "{body}"
        );
    }
    assert_eq!(app.count("profiles").await, 1);
    // Nothing was created in auth for the refused username either.
    let reply = app.password_grant("other@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
}

#[tokio::test]
async fn invalid_traits_are_422_per_field_and_nothing_is_written_anywhere() {
    let app = spawn_app(Broker::Up).await;
    let body = app
        .register_raw(&json!({
            "email": "ada@example.com", "username": "ada", "password": PASSWORD,
            "traits": {"age": 3, "country": "France", "pet": "cat"},
        }))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "traits_invalid");
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["", "/age", "/country"], "{body}");
    assert_eq!(app.count("profiles").await, 0);
    assert_eq!(app.count("outbox").await, 0);
    // Auth was never called: the email is still free there.
    app.auth_only_user("ada@example.com", PASSWORD).await;
}

#[tokio::test]
async fn auth_password_rules_come_back_as_422() {
    let app = spawn_app(Broker::Up).await;
    let body = app
        .register_raw(&json!({"email": "ada@example.com", "username": "ada", "password": "short"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "password", "{body}");
    assert_eq!(app.count("profiles").await, 0);
}

#[tokio::test]
async fn a_half_finished_registration_is_resumed_by_its_owner_only() {
    let app = spawn_app(Broker::Up).await;
    // Credentials exist in auth but no profile here (the profile insert failed).
    let orphan = app.auth_only_user("ada@example.com", PASSWORD).await;
    let body = app
        .register_raw(
            &json!({"email": "ada@example.com", "username": "ada", "password": "not the password"}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("email"),
        "{body}"
    );
    assert_eq!(app.count("profiles").await, 0);
    let body = app
        .register_raw(&json!({"email": "ada@example.com", "username": "ada", "password": PASSWORD}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(body["id"], orphan.as_str());
    // Once the profile exists, the same request is a plain conflict.
    app.register_raw(
        &json!({"email": "ada@example.com", "username": "ada2", "password": PASSWORD}),
    )
    .await
    .problem(StatusCode::CONFLICT);
}

#[tokio::test]
async fn password_changes_go_through_auth() {
    let app = spawn_app(Broker::Up).await;
    let (_, token) = app.user("ada").await;
    let new = "an even better passphrase";
    app.put(
        "/v1/users/me/password",
        &json!({"currentPassword": "wrong password!", "newPassword": new}),
        &token,
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.put(
        "/v1/users/me/password",
        &json!({"currentPassword": PASSWORD, "newPassword": new}),
        &token,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    app.token("ada@example.com", new).await;
    let old = app.password_grant("ada@example.com", PASSWORD).await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "{}", old.body);
}
