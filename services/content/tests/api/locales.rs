//! Localised values, per-locale publish, fallback reads, and the `published`
//! collection the generative worker's LookupDocument component reads.

use mongodb::bson::doc;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn publishing_one_locale_does_not_publish_another() {
    let app = spawn_app("locales_publish").await;
    app.create_article_type().await;
    let id = app
        .create_entry(
            "article",
            "hello",
            json!({"title": "Hello", "body": "Hi", "price": 3}),
        )
        .await;
    let path = format!("/v1/content/entries/{id}");
    app.put(
        &path,
        &json!({"locale": "fr", "fields": {"title": "Bonjour", "price": 3}}),
    )
    .await
    .expect(StatusCode::OK);

    let published = app.move_to(&id, "fr", "published").await;
    assert_eq!(published["locales"]["fr"]["state"], "published");
    assert!(published["locales"].get("de").is_none());
    assert!(published["locales"].get("en").is_none());

    // One document per published (entry, locale), in the shape LookupDocument reads.
    let docs = app.documents("published", doc! {}).await;
    assert_eq!(docs.len(), 1, "{docs:?}");
    let fr = &docs[0];
    assert_eq!(fr["_id"], format!("{id}:fr"));
    assert_eq!(fr["entryId"], id.as_str());
    assert_eq!(fr["type"], "article");
    assert_eq!(fr["slug"], "hello");
    assert_eq!(fr["locale"], "fr");
    assert_eq!(fr["version"], 2);
    // The body has no French value: the default locale's stands in.
    assert_eq!(
        fr["fields"],
        json!({"title": "Bonjour", "body": "Hi", "price": 3})
    );
    let found = app
        .documents(
            "published",
            doc! {"type": "article", "slug": "hello", "locale": "fr"},
        )
        .await;
    assert_eq!(found.len(), 1);
    assert!(
        app.documents("published", doc! {"locale": "de"})
            .await
            .is_empty()
    );

    // German has no title of its own: publishing it is refused, nothing written.
    let refused = app
        .post(
            &format!("{path}/transitions"),
            &json!({"to": "published", "locale": "de"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["field"], "fields.title");
    assert_eq!(app.documents("published", doc! {}).await.len(), 1);

    // Published reads: the locale, else the fallback.
    let read = app
        .get("/v1/content/published/article/hello?locale=fr")
        .await
        .expect(StatusCode::OK);
    assert_eq!(read["fields"]["title"], "Bonjour");
    app.get("/v1/content/published/article/hello?locale=de")
        .await
        .problem(StatusCode::NOT_FOUND);
    let read = app
        .get("/v1/content/published/article/hello?locale=de&fallback=fr")
        .await
        .expect(StatusCode::OK);
    assert_eq!(read["locale"], "fr");

    // Unpublishing French removes only its copy.
    app.move_to(&id, "en", "published").await;
    app.move_to(&id, "fr", "draft").await;
    let docs = app.documents("published", doc! {}).await;
    let locales: Vec<&str> = docs.iter().map(|d| d["locale"].as_str().unwrap()).collect();
    assert_eq!(locales, ["en"]);
}

#[tokio::test]
async fn reads_resolve_a_locale_with_fallback() {
    let app = spawn_app("locales_read").await;
    app.create_article_type().await;
    let id = app
        .create_entry(
            "article",
            "x",
            json!({"title": "Hello", "body": "Body", "price": 1}),
        )
        .await;
    let path = format!("/v1/content/entries/{id}");
    app.put(
        &path,
        &json!({"locale": "fr", "fields": {"title": "Salut", "price": 1}}),
    )
    .await
    .expect(StatusCode::OK);
    let raw = app.get(&path).await.expect(StatusCode::OK);
    assert_eq!(
        raw["fields"]["title"],
        json!({"en": "Hello", "fr": "Salut"})
    );
    let fr = app
        .get(&format!("{path}?locale=fr"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(fr["locale"], "fr");
    assert_eq!(
        fr["fields"],
        json!({"title": "Salut", "body": "Body", "price": 1})
    );
    let de = app
        .get(&format!("{path}?locale=de"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(de["fields"]["title"], "Hello");
    let de_fr = app
        .get(&format!("{path}?locale=de&fallback=fr"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(de_fr["fields"]["title"], "Salut");
    let listed = app
        .get("/v1/content/entries?type=article&locale=fr")
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["items"][0]["fields"]["title"], "Salut");
    app.get(&format!("{path}?locale=x"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
}
