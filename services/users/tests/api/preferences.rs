//! Preferences CRUD with merge-patch semantics and a size limit.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Broker, spawn_app};

#[tokio::test]
async fn preferences_replace_merge_read_and_clear() {
    let app = spawn_app(Broker::Up).await;
    let (id, token) = app.user("ada").await;
    let path = format!("/v1/users/{id}/preferences");
    assert_eq!(
        app.get(&path, &token).await.expect(StatusCode::OK),
        json!({})
    );
    let put = app
        .put(
            &path,
            &json!({"theme": "dark", "lang": "fr", "notify": {"email": true}}),
            &token,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(put["theme"], "dark");
    let merged = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&token)
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"lang": null, "notify": {"sms": false}}"#),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        merged,
        json!({"theme": "dark", "notify": {"email": true, "sms": false}})
    );
    assert_eq!(app.get(&path, &token).await.expect(StatusCode::OK), merged);
    app.delete(&path, &token)
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&path, &token).await.expect(StatusCode::OK),
        json!({})
    );
}

#[tokio::test]
async fn oversized_or_non_object_preferences_are_refused_and_nothing_changes() {
    let app = spawn_app(Broker::Up).await;
    let (id, token) = app.user("ada").await;
    let path = format!("/v1/users/{id}/preferences");
    app.put(&path, &json!({"theme": "dark"}), &token)
        .await
        .expect(StatusCode::OK);
    app.settle().await;
    let before = app.stored(&id).await.expect("stored");
    let outbox = app.count("outbox").await;
    // PREFERENCES_MAX_BYTES is 256 in tests.
    let body = app
        .patch(&path, &json!({"blob": "x".repeat(300)}), &token)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "preferences");
    app.put(&path, &json!(["not", "an", "object"]), &token)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.stored(&id).await.expect("stored"), before);
    assert_eq!(app.count("outbox").await, outbox);
}

#[tokio::test]
async fn concurrent_merges_lose_no_accepted_update() {
    let app = spawn_app(Broker::Up).await;
    let (id, token) = app.user("ada").await;
    let path = format!("/v1/users/{id}/preferences");
    let replies = futures::future::join_all((0..6).map(|i| {
        let body = json!({ format!("k{i}"): i });
        let (app, path, token) = (&app, &path, &token);
        async move { (i, app.patch(path, &body, token).await) }
    }))
    .await;
    let stored = app.get(&path, &token).await.expect(StatusCode::OK);
    let mut accepted = 0;
    for (i, reply) in replies {
        match reply.status {
            // Optimistic concurrency: an accepted merge is never overwritten by another.
            StatusCode::OK => {
                accepted += 1;
                assert_eq!(stored[format!("k{i}")], i, "{stored}");
            }
            // Too many concurrent writers on one profile: refused, nothing written.
            StatusCode::CONFLICT => assert!(stored.get(format!("k{i}")).is_none(), "{stored}"),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert!(accepted >= 1);
}
