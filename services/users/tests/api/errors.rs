//! Bad input gets problem+json 4xx and writes nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Broker, spawn_app};

#[tokio::test]
async fn bad_input_is_a_problem_and_writes_nothing() {
    let app = spawn_app(Broker::Up).await;
    let (id, token) = app.user("ada").await;
    let path = format!("/v1/users/{id}");
    app.settle().await;
    let before = app.stored(&id).await.expect("stored");
    let outbox = app.count("outbox").await;

    // Malformed JSON: 400 with serde's position.
    let malformed = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"username\": ");
    app.send(malformed).await.problem(StatusCode::BAD_REQUEST);
    // Not JSON: 415.
    let text = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("username=x");
    app.send(text)
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Wrong shapes and values: 422 naming the field.
    for (body, field) in [
        (json!({"username": 7}), "username"),
        (json!({"nickname": "x"}), ""),
        (json!({"username": "a b"}), "username"),
        (json!({"displayName": ""}), "displayName"),
        (json!({"email": "new@example.com"}), "email"),
        (json!({"traits": [1]}), "traits"),
        (json!({"traits": {"age": "old"}}), "traits"),
    ] {
        let problem = app
            .patch(&path, &body, &token)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        if !field.is_empty() {
            assert_eq!(problem["field"], field, "{body}: {problem}");
        }
    }
    // Bad query parameters: 400 naming the parameter.
    let admin = app.admin_token().await;
    for (query, field) in [
        ("limit=1000", "limit"),
        ("cursor=nope", "cursor"),
        ("sort=name", "sort"),
        ("createdAfter=yesterday", "createdAfter"),
    ] {
        let problem = app
            .get(&format!("/v1/users?{query}"), &admin)
            .await
            .problem(StatusCode::BAD_REQUEST);
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
    // Registration with bad fields never reaches auth.
    for body in [
        json!({"email": "not-an-email", "username": "bob", "password": "long enough pw"}),
        json!({"email": "bob@example.com", "username": "b", "password": "long enough pw"}),
        json!({"email": "bob@example.com", "username": "bob", "password": ""}),
        json!({"email": "bob@example.com", "username": "bob", "password": "long enough pw", "traits": "x"}),
        json!({"email": "bob@example.com", "username": "bob", "password": "long enough pw", "admin": true}),
    ] {
        let reply = app.register_raw(&body).await;
        assert!(reply.status.is_client_error(), "{body}: {}", reply.status);
        reply.problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(app.stored(&id).await.expect("stored"), before);
    assert_eq!(app.count("profiles").await, 1);
    assert_eq!(app.count("outbox").await, outbox);
    app.auth_only_user("bob@example.com", "long enough pw")
        .await;
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let app = spawn_app(Broker::Up).await;
    let id = app.register("ada").await;
    let reply = app
        .call(reqwest::Method::GET, &format!("/v1/users/{id}"), None, None)
        .await;
    assert!(reply.headers.contains_key("www-authenticate"));
    reply.problem(StatusCode::UNAUTHORIZED);
    app.get(&format!("/v1/users/{id}"), "not.a.jwt")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let doc = app
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await
        .expect(StatusCode::OK);
    assert!(doc["paths"]["/v1/users/register"].is_object(), "{doc}");
}
