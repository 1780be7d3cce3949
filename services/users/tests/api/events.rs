//! Change events on RabbitMQ through the outbox.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Broker, spawn_app};

/// Generous: two shared cores and a slow dev MongoDB.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn every_change_is_published_in_order_with_confirms() {
    let app = spawn_app(Broker::Up).await;
    let listener = app.bind_queue().await;
    let (id, token) = app.user("ada").await;
    app.patch(
        &format!("/v1/users/{id}"),
        &json!({"displayName": "Ada L"}),
        &token,
    )
    .await
    .expect(StatusCode::OK);
    app.delete(&format!("/v1/users/{id}"), &token)
        .await
        .expect(StatusCode::NO_CONTENT);
    // Erasure withdraws unpublished events carrying profile data: let them go out first.
    app.settle().await;
    while !app.users.outbox.pending().await.expect("outbox").is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.post(&format!("/v1/users/{id}/erase"), None, Some(&token))
        .await
        .expect(StatusCode::OK);

    let created = listener.next(PATIENCE).await;
    assert_eq!(created.routing_key, "user.created");
    assert!(created.persistent);
    assert_eq!(created.body["id"], created.message_id.as_str());
    assert_eq!(created.body["userId"], id.as_str());
    assert_eq!(created.body["profile"]["email"], "ada@example.com");
    let updated = listener.next(PATIENCE).await;
    assert_eq!(updated.routing_key, "user.updated");
    assert_eq!(updated.body["profile"]["displayName"], "Ada L");
    let deleted = listener.next(PATIENCE).await;
    assert_eq!(deleted.routing_key, "user.deleted");
    assert!(deleted.body.get("profile").is_none());
    let erased = listener.next(PATIENCE).await;
    assert_eq!(erased.routing_key, "user.erased");
    assert_eq!(erased.body["userId"], id.as_str());
    assert!(!erased.body.to_string().contains("ada@example.com"));
}

#[tokio::test]
async fn events_wait_in_the_outbox_while_rabbitmq_is_unreachable() {
    let app = spawn_app(Broker::Late).await;
    let listener = app.bind_queue().await;
    // The service's RabbitMQ user does not exist: it cannot connect, yet accepts the change.
    let id = app.register("ada").await;
    app.settle().await;
    let pending = app.users.outbox.pending().await.expect("outbox");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].user_id, id);

    app.start_broker().await;
    let created = listener.next(PATIENCE).await;
    assert_eq!(created.routing_key, "user.created");
    assert_eq!(created.body["userId"], id.as_str());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !app.users.outbox.pending().await.expect("outbox").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never marked sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
