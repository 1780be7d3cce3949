//! References loaded to a bounded depth, cycles included.

use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn references_load_to_the_requested_depth_and_cycles_stop() {
    let app = spawn_app("relations_depth").await;
    app.create_article_type().await;
    let ann = app
        .create_entry("person", "ann", json!({"name": "Ann"}))
        .await;
    let bob = app
        .create_entry("person", "bob", json!({"name": "Bob", "mentor": ann}))
        .await;
    // Ann's mentor is Bob, Bob's is Ann: a cycle.
    app.put(
        &format!("/v1/content/entries/{ann}"),
        &json!({"fields": {"name": "Ann", "mentor": bob}}),
    )
    .await
    .expect(StatusCode::OK);
    let other = app
        .create_entry("article", "other", json!({"title": "Other"}))
        .await;
    let article = app
        .create_entry(
            "article",
            "main",
            json!({"title": "Main", "author": bob, "related": [other]}),
        )
        .await;
    let path = format!("/v1/content/entries/{article}");

    let flat = app
        .get(&format!("{path}?locale=en"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(flat["fields"]["author"], bob.as_str());

    let one = app
        .get(&format!("{path}?locale=en&depth=1"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        one["fields"]["author"],
        json!({"id": bob, "type": "person", "slug": "bob", "fields": {"name": "Bob", "mentor": ann}})
    );
    assert_eq!(
        one["fields"]["related"][0]["fields"],
        json!({"title": "Other"})
    );

    let three = app
        .get(&format!("{path}?locale=en&depth=3"))
        .await
        .expect(StatusCode::OK);
    let mentor = &three["fields"]["author"]["fields"]["mentor"];
    assert_eq!(mentor["slug"], "ann");
    // Ann's mentor is Bob again, already on the path: marked, not loaded.
    assert_eq!(
        mentor["fields"]["mentor"],
        json!({"id": bob, "cycle": true})
    );

    let problem = app
        .get(&format!("{path}?locale=en&depth=4"))
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "depth");

    // A reference to the wrong type is refused.
    let problem = app
        .put(
            &path,
            &json!({"fields": {"title": "Main", "author": other}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "fields.author");
}

#[tokio::test]
async fn published_reads_load_published_references() {
    let database = machina_devenv::unique_database_name("relations_published");
    let app = spawn_with(&database, &[("MAX_DEPTH", "1")]).await;
    app.create_article_type().await;
    let ann = app
        .create_entry("person", "ann", json!({"name": "Ann"}))
        .await;
    let draft = app
        .create_entry("person", "dan", json!({"name": "Dan"}))
        .await;
    let article = app
        .create_entry("article", "a", json!({"title": "A", "author": ann}))
        .await;
    let other = app
        .create_entry("article", "b", json!({"title": "B", "author": draft}))
        .await;
    for id in [&ann, &article, &other] {
        app.move_to(id, "en", "published").await;
    }
    let read = app
        .get("/v1/content/published/article/a?depth=1")
        .await
        .expect(StatusCode::OK);
    assert_eq!(read["fields"]["author"]["fields"]["name"], "Ann");
    // Dan is not published: the reference does not resolve.
    let read = app
        .get("/v1/content/published/article/b?depth=1")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        read["fields"]["author"],
        json!({"id": draft, "missing": true})
    );
    app.get("/v1/content/published/article/a?depth=2")
        .await
        .problem(StatusCode::BAD_REQUEST);
}
