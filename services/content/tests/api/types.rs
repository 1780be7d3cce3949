//! Content types CRUD, entry validation, and authentication.

use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{EDITOR, spawn_app, token};

#[tokio::test]
async fn types_crud() {
    let app = spawn_app("types_crud").await;
    let created = app
        .post(
            "/v1/content/types",
            &json!({"id": "page", "fields": [{"name": "title", "kind": "text", "required": true}]}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["revision"], 1);
    app.post("/v1/content/types", &json!({"id": "page", "fields": []}))
        .await
        .problem(StatusCode::CONFLICT);
    let updated = app
        .put(
            "/v1/content/types/page",
            &json!({"title": "Page", "fields": [
                {"name": "title", "kind": "text", "required": true},
                {"name": "color", "kind": "enum", "values": ["red", "blue"]}
            ]}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(updated["revision"], 2);
    assert_eq!(
        updated["fields"][1],
        json!({"name": "color", "kind": "enum", "values": ["red", "blue"], "required": false, "localized": false})
    );
    let listed = app.get("/v1/content/types").await.expect(StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let id = app
        .create_entry("page", "home", json!({"title": "Home", "color": "red"}))
        .await;
    app.delete("/v1/content/types/page")
        .await
        .problem(StatusCode::CONFLICT);
    app.post(
        &format!("/v1/content/entries/{id}/transitions"),
        &json!({"to": "archived"}),
    )
    .await
    .expect(StatusCode::OK);
    app.delete(&format!("/v1/content/entries/{id}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    app.delete("/v1/content/types/page")
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get("/v1/content/types/page")
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invalid_type_lists_every_problem_and_writes_nothing() {
    let app = spawn_app("types_invalid").await;
    let problem = app
        .post(
            "/v1/content/types",
            &json!({"id": "Bad Id", "fields": [
                {"name": "a", "kind": "text"}, {"name": "a", "kind": "enum", "values": []}
            ]}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "id");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id", "fields[1].name", "fields[1].values"]);
    // An unknown kind is a shape error from the JSON extractor, also a 422.
    app.post(
        "/v1/content/types",
        &json!({"id": "x", "fields": [{"name": "a", "kind": "colour"}]}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.documents("content_types", doc! {}).await.is_empty());
}

#[tokio::test]
async fn invalid_values_get_per_field_errors_and_write_nothing() {
    let app = spawn_app("entries_invalid").await;
    app.create_article_type().await;
    let problem = app
        .post("/v1/content/entries", &json!({"type": "article", "slug": "a", "fields": {
            "title": "x".repeat(41), "price": -3, "tags": ["ok", 7], "author": "nobody", "extra": true
        }}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let errors: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "fields.extra",
            "fields.title",
            "fields.price",
            "fields.tags[1]"
        ],
        "{errors:?}"
    );
    assert!(errors[1].1.contains("longer than 40"), "{errors:?}");

    // Values fine, but the reference points nowhere.
    let problem = app
        .post(
            "/v1/content/entries",
            &json!({"type": "article", "slug": "a", "fields": {"title": "T", "author": "nobody"}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "fields.author");
    // Missing required value; bad slug; unknown type.
    let problem = app
        .post(
            "/v1/content/entries",
            &json!({"type": "article", "slug": "a", "fields": {}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "fields.title");
    app.post(
        "/v1/content/entries",
        &json!({"type": "article", "slug": "Not A Slug", "fields": {"title": "T"}}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.post(
        "/v1/content/entries",
        &json!({"type": "nope", "slug": "a", "fields": {}}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.post("/v1/content/entries", &json!({"type": "article", "slug": "a", "fields": {"title": "T"}, "locale": "not a locale"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.documents("entries", doc! {}).await.is_empty());
    assert!(app.documents("entry_versions", doc! {}).await.is_empty());

    // An invalid update writes no version either.
    let id = app
        .create_entry("article", "a", json!({"title": "T"}))
        .await;
    app.put(
        &format!("/v1/content/entries/{id}"),
        &json!({"fields": {"title": 5}}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let duplicate = app
        .post(
            "/v1/content/entries",
            &json!({"type": "article", "slug": "a", "fields": {"title": "T"}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(duplicate["field"], "slug");
    assert_eq!(app.documents("entry_versions", doc! {}).await.len(), 1);
    assert_eq!(app.documents("entries", doc! {}).await.len(), 1);
}

#[tokio::test]
async fn tokens_are_required_and_scopes_checked() {
    let app = spawn_app("types_auth").await;
    let reply = app
        .send_as("not-a-jwt", app.client.get(app.url("/v1/content/types")))
        .await;
    reply.problem(StatusCode::UNAUTHORIZED);
    let anonymous = app
        .client
        .get(app.url("/v1/content/types"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let editor = token("ed", EDITOR);
    app.post_as(
        &editor,
        "/v1/content/types",
        &json!({"id": "x", "fields": []}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    let openapi = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.status(), StatusCode::OK);
    let doc: serde_json::Value = openapi.json().await.unwrap();
    assert!(doc["paths"]["/v1/content/entries/{id}/transitions"].is_object());
}
