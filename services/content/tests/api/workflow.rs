//! The workflow: who may make which transition.

use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{EDITOR, PUBLISHER, spawn_app, spawn_with, token};

#[tokio::test]
async fn an_editor_cannot_publish_when_the_role_forbids_it() {
    let app = spawn_app("wf_editor").await;
    app.create_article_type().await;
    let editor = token("ed", EDITOR);
    let created = app
        .post_as(
            &editor,
            "/v1/content/entries",
            &json!({"type": "article", "slug": "news", "fields": {"title": "News"}}),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/content/entries/{id}/transitions");
    let submitted = app
        .post_as(&editor, &path, &json!({"to": "in_review"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(submitted["locales"]["en"]["state"], "in_review");

    let refused = app
        .post_as(&editor, &path, &json!({"to": "published"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("content:publish"),
        "{refused}"
    );
    let entry = app
        .get(&format!("/v1/content/entries/{id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(entry["locales"]["en"]["state"], "in_review");
    assert!(app.documents("published", doc! {}).await.is_empty());
    assert!(app.documents("outbox", doc! {}).await.is_empty());

    // A publisher may; the published copy appears.
    let publisher = token("pub", PUBLISHER);
    let published = app
        .post_as(&publisher, &path, &json!({"to": "published"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(published["locales"]["en"]["state"], "published");
    assert_eq!(published["locales"]["en"]["publishedVersion"], 1);
    assert_eq!(app.documents("published", doc! {}).await.len(), 1);
    // A move no rule allows is a conflict, whoever asks.
    app.post(&path, &json!({"to": "archived"}))
        .await
        .expect(StatusCode::OK);
    // Archiving withdrew the published copy.
    assert!(app.documents("published", doc! {}).await.is_empty());
    app.post(&path, &json!({"to": "published"}))
        .await
        .problem(StatusCode::CONFLICT);
    app.post(&path, &json!({"to": "draft"}))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn the_rules_come_from_workflow_config() {
    let dir = std::env::temp_dir().join(format!("content-wf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("workflow.json");
    std::fs::write(
        &file,
        r#"{"transitions": [{"from": "draft", "to": "published", "permissions": ["content:write"]}]}"#,
    )
    .unwrap();
    let database = machina_devenv::unique_database_name("wf_config");
    let app = spawn_with(&database, &[("WORKFLOW_CONFIG", file.to_str().unwrap())]).await;
    app.create_article_type().await;
    let id = app
        .create_entry("article", "a", json!({"title": "A"}))
        .await;
    let editor = token("ed", EDITOR);
    let path = format!("/v1/content/entries/{id}/transitions");
    app.post_as(&editor, &path, &json!({"to": "in_review"}))
        .await
        .problem(StatusCode::CONFLICT);
    app.post_as(&editor, &path, &json!({"to": "published"}))
        .await
        .expect(StatusCode::OK);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_publication_interrupted_after_its_write_is_completed() {
    let database = machina_devenv::unique_database_name("wf_interrupted");
    let app = spawn_with(&database, &[("SCHEDULER_INTERVAL", "50ms")]).await;
    app.create_article_type().await;
    let id = app
        .create_entry("article", "crash", json!({"title": "Crash"}))
        .await;
    app.move_to(&id, "en", "published").await;
    let events = app.documents("outbox", doc! {}).await;
    let event_id = events[0]["_id"].as_str().unwrap().to_owned();

    // What a replica dying right after the transition's write leaves: the state
    // is published, the event pending, and none of its effects written.
    let db = app.content.store().database();
    db.collection::<mongodb::bson::Document>("published")
        .delete_many(doc! {})
        .await
        .unwrap();
    db.collection::<mongodb::bson::Document>("outbox")
        .delete_many(doc! {})
        .await
        .unwrap();
    let pending = doc! {"id": &event_id, "event": "content.published", "locale": "en", "version": 1_i64, "at": 0_i64};
    db.collection::<mongodb::bson::Document>("entries")
        .update_one(doc! {"_id": &id}, doc! {"$set": {"pending": [pending]}})
        .await
        .unwrap();

    let completed = crate::helpers::eventually(std::time::Duration::from_secs(10), || async {
        let published = app
            .documents("published", doc! {"entryId": &id, "locale": "en"})
            .await;
        let outbox = app.documents("outbox", doc! {"_id": &event_id}).await;
        let entry = app.documents("entries", doc! {"_id": &id}).await;
        let settled = entry[0]["pending"].as_array().is_none_or(Vec::is_empty);
        (published.len() == 1 && outbox.len() == 1 && settled).then_some(published)
    })
    .await
    .expect("the sweep completes the publication");
    assert_eq!(completed[0]["fields"], json!({"title": "Crash"}));
    assert_eq!(completed[0]["version"], 1);
}
