//! Reading and changing profiles; who may.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Broker, spawn_app};

#[tokio::test]
async fn a_user_reads_and_patches_their_own_profile() {
    let app = spawn_app(Broker::Up).await;
    let (id, token) = app.user("ada").await;

    let me = app.get("/v1/users/me", &token).await.expect(StatusCode::OK);
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["username"], "ada");
    assert_eq!(me["traits"], json!({"country": "FR"}));
    let path = format!("/v1/users/{id}");
    assert_eq!(app.get(&path, &token).await.expect(StatusCode::OK), me);

    let patched = app
        .patch(
            &path,
            &json!({"username": "Ada.L", "displayName": "Ada Lovelace", "traits": {"age": 36}}),
            &token,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["username"], "Ada.L");
    assert_eq!(patched["displayName"], "Ada Lovelace");
    assert_eq!(patched["traits"], json!({"country": "FR", "age": 36}));

    // Merge-patch semantics: null removes.
    let patched = app
        .patch(
            &path,
            &json!({"displayName": null, "traits": {"age": null}}),
            &token,
        )
        .await
        .expect(StatusCode::OK);
    assert!(patched.get("displayName").is_none(), "{patched}");
    assert_eq!(patched["traits"], json!({"country": "FR"}));
}

#[tokio::test]
async fn a_user_cannot_read_or_change_another_users_profile() {
    let app = spawn_app(Broker::Up).await;
    let (ada, _) = app.user("ada").await;
    let (_, bob_token) = app.user("bob").await;
    app.settle().await;
    let before = app.stored(&ada).await.expect("stored");

    // 404, exactly like a profile that does not exist, so ids cannot be probed.
    let missing = app
        .get("/v1/users/no-such-id", &bob_token)
        .await
        .problem(StatusCode::NOT_FOUND);
    let other = app
        .get(&format!("/v1/users/{ada}"), &bob_token)
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(
        missing["detail"]
            .as_str()
            .map(|d| d.replace("no-such-id", "X")),
        other["detail"].as_str().map(|d| d.replace(&ada, "X"))
    );
    for (method, path) in [
        (reqwest::Method::PATCH, format!("/v1/users/{ada}")),
        (reqwest::Method::DELETE, format!("/v1/users/{ada}")),
        (reqwest::Method::GET, format!("/v1/users/{ada}/preferences")),
        (reqwest::Method::PUT, format!("/v1/users/{ada}/preferences")),
        (reqwest::Method::GET, format!("/v1/users/{ada}/export")),
        (reqwest::Method::POST, format!("/v1/users/{ada}/erase")),
    ] {
        let reply = app
            .call(
                method.clone(),
                &path,
                Some(&json!({"username": "mallory"})),
                Some(&bob_token),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            reply.body
        );
    }
    assert_eq!(app.stored(&ada).await.expect("stored"), before);
    // Listing and lookups are for admins only.
    app.get("/v1/users?q=a", &bob_token)
        .await
        .problem(StatusCode::FORBIDDEN);
    app.get("/v1/users?email=ada@example.com", &bob_token)
        .await
        .problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_reads_and_changes_any_profile() {
    let app = spawn_app(Broker::Up).await;
    let (ada, _) = app.user("ada").await;
    let admin = app.admin_token().await;
    let path = format!("/v1/users/{ada}");
    app.get(&path, &admin).await.expect(StatusCode::OK);
    let patched = app
        .patch(&path, &json!({"displayName": "By Admin"}), &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["displayName"], "By Admin");
}

#[tokio::test]
async fn usernames_are_unique_case_insensitively() {
    let app = spawn_app(Broker::Up).await;
    let (ada, token) = app.user("ada").await;
    app.register("bob").await;
    app.settle().await;
    let before = app.stored(&ada).await.expect("stored");
    let body = app
        .patch(
            &format!("/v1/users/{ada}"),
            &json!({"username": "BOB"}),
            &token,
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("username"),
        "{body}"
    );
    assert_eq!(app.stored(&ada).await.expect("stored"), before);
}

#[tokio::test]
async fn soft_deleted_profiles_are_hidden_and_keep_their_names() {
    let app = spawn_app(Broker::Up).await;
    let (ada, token) = app.user("ada").await;
    let path = format!("/v1/users/{ada}");
    app.delete(&path, &token)
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get(&path, &token).await.problem(StatusCode::NOT_FOUND);
    app.get("/v1/users/me", &token)
        .await
        .problem(StatusCode::NOT_FOUND);
    app.patch(&path, &json!({"displayName": "x"}), &token)
        .await
        .problem(StatusCode::NOT_FOUND);
    // The username stays reserved until erasure.
    let body = app
        .register_raw(&json!({"email": "other@example.com", "username": "ADA", "password": "another password"}))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("username"),
        "{body}"
    );
    // Admins still see it when they ask.
    let admin = app.admin_token().await;
    let page = app
        .get("/v1/users?q=ada&includeDeleted=true", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"][0]["id"], ada.as_str());
    assert!(page["items"][0]["deletedAt"].is_string(), "{page}");
    let page = app
        .get("/v1/users?q=ada", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"], json!([]));
}
