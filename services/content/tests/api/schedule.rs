//! Scheduled publishing with two replicas on one database: each scheduled
//! publication happens exactly once.

use std::time::Duration;

use machina_content::clock::{now_ms, rfc3339};
use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{EDITOR, eventually, spawn_with, token};

#[tokio::test]
async fn a_scheduled_publish_happens_once_with_two_replicas() {
    let database = machina_devenv::unique_database_name("schedule_twice");
    let fast = [("SCHEDULER_INTERVAL", "50ms")];
    let a = spawn_with(&database, &fast).await;
    let mut b = spawn_with(&database, &fast).await;
    // Only `a` drops the shared database.
    b.database.disarm();
    a.create_article_type().await;

    let at = rfc3339(now_ms() + 1500);
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = a
            .create_entry(
                "article",
                &format!("s{i}"),
                json!({"title": format!("T{i}")}),
            )
            .await;
        let scheduled = a
            .put(
                &format!("/v1/content/entries/{id}/schedule"),
                &json!({"publishAt": at, "locale": "en"}),
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(scheduled["locales"]["en"]["publishAt"], at.as_str());
        ids.push(id);
    }
    // An editor may not schedule.
    b.send_as(
        &token("ed", EDITOR),
        b.client
            .put(b.url(&format!("/v1/content/entries/{}/schedule", ids[0])))
            .json(&json!({"publishAt": at})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);

    let all_published = eventually(Duration::from_secs(15), || async {
        let docs = a.documents("published", doc! {}).await;
        (docs.len() == ids.len()).then_some(docs)
    })
    .await;
    assert!(
        all_published.is_some(),
        "not every scheduled entry was published"
    );
    // Give both replicas time to (wrongly) publish again.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let events = a
        .documents("outbox", doc! {"routingKey": "content.published"})
        .await;
    assert_eq!(
        events.len(),
        ids.len(),
        "one event per publication: {events:?}"
    );
    assert!(a.documents("schedules", doc! {}).await.is_empty());
    for id in &ids {
        let entry = b
            .get(&format!("/v1/content/entries/{id}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(entry["locales"]["en"]["state"], "published");
        assert!(entry["locales"]["en"].get("publishAt").is_none(), "{entry}");
        assert_eq!(entry["version"], 1);
    }
}

#[tokio::test]
async fn a_cancelled_schedule_does_not_publish() {
    let database = machina_devenv::unique_database_name("schedule_cancel");
    let app = spawn_with(&database, &[("SCHEDULER_INTERVAL", "50ms")]).await;
    app.create_article_type().await;
    let id = app
        .create_entry("article", "c", json!({"title": "C"}))
        .await;
    let path = format!("/v1/content/entries/{id}/schedule");
    app.put(&path, &json!({"publishAt": rfc3339(now_ms() + 800)}))
        .await
        .expect(StatusCode::OK);
    app.delete(&path).await.expect(StatusCode::OK);
    app.delete(&path).await.problem(StatusCode::NOT_FOUND);
    app.put(&path, &json!({"publishAt": "soon"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(app.documents("published", doc! {}).await.is_empty());
}

#[tokio::test]
async fn an_unpublishable_schedule_is_dropped_and_cleared() {
    let database = machina_devenv::unique_database_name("schedule_invalid");
    let app = spawn_with(&database, &[("SCHEDULER_INTERVAL", "50ms")]).await;
    app.create_article_type().await;
    let id = app
        .create_entry("article", "d", json!({"title": "D"}))
        .await;
    // No German title: German cannot be published.
    app.put(
        &format!("/v1/content/entries/{id}/schedule"),
        &json!({"publishAt": rfc3339(now_ms()), "locale": "de"}),
    )
    .await
    .expect(StatusCode::OK);
    let cleared = eventually(Duration::from_secs(10), || async {
        let entry = app
            .get(&format!("/v1/content/entries/{id}"))
            .await
            .expect(StatusCode::OK);
        entry["locales"]["de"]
            .get("publishAt")
            .is_none()
            .then_some(entry)
    })
    .await
    .expect("the dropped schedule no longer shows");
    assert_eq!(cleared["locales"]["de"]["state"], "draft");
    assert!(app.documents("schedules", doc! {}).await.is_empty());
    assert!(app.documents("published", doc! {}).await.is_empty());
}
