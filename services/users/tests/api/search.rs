//! Search, cursor pagination and lookup by email (admin).

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Broker, spawn_app};

#[tokio::test]
async fn prefix_search_pages_through_every_match_once() {
    let app = spawn_app(Broker::Up).await;
    let mut expected = HashSet::new();
    for name in ["ann1", "ann2", "Anna3", "ann4", "ann5"] {
        expected.insert(app.register(name).await);
    }
    app.register("bob").await;
    let admin = app.admin_token().await;

    let mut seen = Vec::new();
    let mut path = "/v1/users?q=ANN&limit=2".to_owned();
    for _ in 0..10 {
        let page = app.get(&path, &admin).await.expect(StatusCode::OK);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2, "{page}");
        seen.extend(
            items
                .iter()
                .map(|p| p["id"].as_str().unwrap_or_default().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/users?q=ANN&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "stable order by id");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), expected);

    // Display names and emails match too.
    let page = app
        .get("/v1/users?q=bob%20disp", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    let page = app
        .get("/v1/users?q=bob@example", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    // Date filters.
    let page = app
        .get("/v1/users?createdBefore=2000-01-01T00:00:00Z", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"], Value::Array(vec![]));
}

#[tokio::test]
async fn lookup_by_email_ignores_case() {
    let app = spawn_app(Broker::Up).await;
    let id = app.register("ada").await;
    let admin = app.admin_token().await;
    let found = app
        .get("/v1/users?email=ADA@Example.com", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(found["id"], id.as_str());
    app.get("/v1/users?email=nobody@example.com", &admin)
        .await
        .problem(StatusCode::NOT_FOUND);
}
