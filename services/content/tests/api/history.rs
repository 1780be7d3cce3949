//! Versions, diff and restore.

use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn restoring_a_version_restores_exactly_that_content() {
    let app = spawn_app("history_restore").await;
    app.create_article_type().await;
    let id = app
        .create_entry(
            "article",
            "first",
            json!({"title": "One", "body": "# v1", "price": 1.5, "tags": ["a", "b"]}),
        )
        .await;
    let path = format!("/v1/content/entries/{id}");
    app.put(
        &path,
        &json!({"slug": "second", "fields": {"title": "Two", "price": 2, "tags": ["c"]}}),
    )
    .await
    .expect(StatusCode::OK);
    app.put(
        &path,
        &json!({"locale": "fr", "fields": {"title": "Trois", "price": 3}}),
    )
    .await
    .expect(StatusCode::OK);

    let versions = app
        .get(&format!("{path}/versions"))
        .await
        .expect(StatusCode::OK);
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    let v1 = app
        .get(&format!("{path}/versions/1"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        v1["fields"],
        json!({"title": {"en": "One"}, "body": {"en": "# v1"}, "price": 1.5, "tags": ["a", "b"]})
    );
    assert_eq!(v1["author"], "admin");

    let diff = app
        .get(&format!("{path}/diff?from=1&to=3"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        diff["changes"],
        json!([
            {"field": "slug", "change": "changed", "before": "first", "after": "second"},
            {"field": "fields.body", "change": "removed", "before": {"en": "# v1"}},
            {"field": "fields.price", "change": "changed", "before": 1.5, "after": 3},
            {"field": "fields.tags", "change": "removed", "before": ["a", "b"]},
            {"field": "fields.title.en", "change": "changed", "before": "One", "after": "Two"},
            {"field": "fields.title.fr", "change": "added", "after": "Trois"},
        ])
    );

    let restored = app
        .post(&format!("{path}/versions/1/restore"), &json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(restored["version"], 4);
    let v4 = app
        .get(&format!("{path}/versions/4"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(v4["fields"], v1["fields"]);
    assert_eq!(v4["slug"], "first");
    assert_eq!(v4["restoredFrom"], 1);
    let entry = app.get(&path).await.expect(StatusCode::OK);
    assert_eq!(entry["fields"], v1["fields"]);
    assert_eq!(entry["slug"], "first");
    let none = app
        .get(&format!("{path}/diff?from=1&to=4"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(none["changes"], json!([]));
    // Old versions are untouched.
    let v3 = app
        .get(&format!("{path}/versions/3"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(v3["fields"]["title"], json!({"en": "Two", "fr": "Trois"}));
    app.post(&format!("{path}/versions/9/restore"), &json!({}))
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn concurrent_saves_get_distinct_versions() {
    let app = spawn_app("history_concurrent").await;
    app.create_article_type().await;
    let id = app
        .create_entry("article", "c", json!({"title": "0"}))
        .await;
    let path = format!("/v1/content/entries/{id}");
    let saves = (1..=4).map(|i| {
        let app = &app;
        let path = path.clone();
        async move {
            app.put(&path, &json!({"fields": {"title": i.to_string()}}))
                .await
        }
    });
    let replies = futures::future::join_all(saves).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let versions = app
        .get(&format!("{path}/versions"))
        .await
        .expect(StatusCode::OK);
    let items = versions["items"].as_array().unwrap();
    assert_eq!(items.len(), ok + 1, "{replies:?}");
    let entry = app.get(&path).await.expect(StatusCode::OK);
    assert_eq!(entry["version"], items[0]["version"]);
    assert_eq!(entry["fields"], items[0]["fields"]);
}
