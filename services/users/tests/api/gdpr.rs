//! GDPR export and erasure.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Broker, PASSWORD, spawn_app};

#[tokio::test]
async fn export_holds_everything_stored_about_the_user() {
    let app = spawn_app(Broker::Up).await;
    let (id, token) = app.user("ada").await;
    app.put(
        &format!("/v1/users/{id}/preferences"),
        &json!({"theme": "dark"}),
        &token,
    )
    .await
    .expect(StatusCode::OK);
    let export = app
        .get(&format!("/v1/users/{id}/export"), &token)
        .await
        .expect(StatusCode::OK);
    assert_eq!(export["profile"]["id"], id.as_str());
    assert_eq!(export["profile"]["email"], "ada@example.com");
    assert_eq!(export["profile"]["traits"], json!({"country": "FR"}));
    assert_eq!(export["preferences"], json!({"theme": "dark"}));
    let events: Vec<&str> = export["pendingEvents"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(events, ["user.created", "user.updated"]);
    assert!(export["exportedAt"].is_string());
}

#[tokio::test]
async fn erasure_removes_personal_data_irreversibly_and_frees_the_names() {
    let app = spawn_app(Broker::Up).await;
    let (id, token) = app.user("ada").await;
    app.put(
        &format!("/v1/users/{id}/preferences"),
        &json!({"theme": "dark"}),
        &token,
    )
    .await
    .expect(StatusCode::OK);
    // Erasure also works on a soft-deleted profile.
    app.delete(&format!("/v1/users/{id}"), &token)
        .await
        .expect(StatusCode::NO_CONTENT);
    let erased = app
        .post(&format!("/v1/users/{id}/erase"), None, Some(&token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        erased,
        json!({"id": id, "profileErased": true, "credentialsRemoved": true})
    );
    // The credentials are gone from auth: the password no longer signs in.
    let login = app.password_grant("ada@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::BAD_REQUEST, "{}", login.body);
    assert_eq!(login.body["error"], "invalid_grant");
    // Idempotent (the access token lives until it expires; auth's delete is idempotent).
    app.post(&format!("/v1/users/{id}/erase"), None, Some(&token))
        .await
        .expect(StatusCode::OK);

    let stored = app.stored(&id).await.expect("tombstone").to_string();
    for personal in ["ada@example.com", "\"ada\"", "ada display", "FR", "dark"] {
        assert!(!stored.contains(personal), "{personal} in {stored}");
    }
    app.get(&format!("/v1/users/{id}"), &token)
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get(&format!("/v1/users/{id}/export"), &token)
        .await
        .problem(StatusCode::NOT_FOUND);
    let admin = app.admin_token().await;
    let page = app
        .get("/v1/users?q=ada&includeDeleted=true", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"], json!([]));
    app.settle().await;
    app.settle().await;
    // Only events without profile data remain in the outbox.
    let events = app.users.store.events_of(&id).await.expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.routing_key.as_str()).collect();
    assert_eq!(kinds, ["user.deleted", "user.erased"]);
    assert!(events.iter().all(|e| !e.body.contains("ada@example.com")));
    // Email and username are free again, here and in auth: a new, different user.
    let again = app
        .register_raw(&json!({"email": "ada@example.com", "username": "ada", "password": PASSWORD}))
        .await
        .expect(StatusCode::CREATED);
    assert_ne!(again["id"], id.as_str());
}

#[tokio::test]
async fn admin_erasure_removes_the_credentials_in_auth() {
    let app = spawn_app(Broker::Up).await;
    let (id, _) = app.user("bob").await;
    // The bootstrap admin's role carries auth's admin permission and users:admin.
    let admin = app.admin_token().await;
    let erased = app
        .post(&format!("/v1/users/{id}/erase"), None, Some(&admin))
        .await
        .expect(StatusCode::OK);
    assert_eq!(erased["credentialsRemoved"], true, "{erased}");
    let login = app.password_grant("bob@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::BAD_REQUEST, "{}", login.body);
    app.get(&format!("/v1/users/{id}"), &admin)
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn erasure_by_an_admin_auth_refuses_keeps_the_credentials_and_says_so() {
    let app = spawn_app(Broker::Up).await;
    let (id, _) = app.user("cyd").await;
    let support = app.support_token().await;
    let erased = app
        .post(&format!("/v1/users/{id}/erase"), None, Some(&support))
        .await
        .expect(StatusCode::OK);
    assert_eq!(erased["profileErased"], true, "{erased}");
    assert_eq!(erased["credentialsRemoved"], false, "{erased}");
    assert!(
        erased["credentialsDetail"]
            .as_str()
            .is_some_and(|d| d.contains("403")),
        "{erased}"
    );
    let stored = app.stored(&id).await.expect("tombstone").to_string();
    assert!(!stored.contains("cyd@example.com"), "{stored}");
    app.password_grant("cyd@example.com", PASSWORD)
        .await
        .expect(StatusCode::OK);
    // Retrying with a token auth accepts finishes the job on the erased profile.
    let admin = app.admin_token().await;
    let erased = app
        .post(&format!("/v1/users/{id}/erase"), None, Some(&admin))
        .await
        .expect(StatusCode::OK);
    assert_eq!(erased["credentialsRemoved"], true, "{erased}");
    let login = app.password_grant("cyd@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::BAD_REQUEST, "{}", login.body);
}
