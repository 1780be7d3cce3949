//! The read path is Redis only: results survive the events' database, and a
//! second replica on the same prefix serves the same generation.

use reqwest::StatusCode;

use crate::helpers::{HOUR_MS, Isolation, event, now_ms, spawn_app, spawn_with};

#[tokio::test]
async fn cached_results_are_served_after_the_database_is_gone() {
    let app = spawn_app("cache_hit").await;
    let now = now_ms();
    let events = (0..20)
        .map(|n| {
            let user = format!("u{}", n % 4);
            let item = format!("c0-i{}", n % 6);
            event(
                n,
                "item.viewed",
                now - (n as i64 + 1) * HOUR_MS,
                Some(&user),
                Some(&item),
            )
        })
        .collect();
    app.insert(events).await;
    app.recompute().await;
    let before = app
        .get("/v1/recommendations/users/u1?k=3")
        .await
        .expect(StatusCode::OK);

    let client = machina_devenv::BackingServices::load_or_panic()
        .mongodb()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .database(&app.database)
        .drop()
        .await
        .expect("database dropped");

    let after = app
        .get("/v1/recommendations/users/u1?k=3")
        .await
        .expect(StatusCode::OK);
    assert_eq!(before, after);
    assert_eq!(after["source"], "personalized");
}

#[tokio::test]
async fn another_replica_serves_the_published_generation() {
    let isolation = Isolation::fresh("cache_replica");
    let first = spawn_with(&isolation, &[]).await;
    let now = now_ms();
    let events = (0..6)
        .map(|n| {
            event(
                n,
                "item.viewed",
                now - HOUR_MS,
                Some("u"),
                Some(&format!("i{n}")),
            )
        })
        .collect();
    first.insert(events).await;
    let summary = first.recompute().await;

    let second = spawn_with(&isolation, &[]).await;
    let body = second
        .get("/v1/insights/status")
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["generation"], summary["generation"]);
    assert_eq!(body["items"], 6);
    // Both own the same database and prefix; only one may clean up.
    std::mem::forget(second);
}

#[tokio::test]
async fn each_recompute_publishes_a_newer_generation() {
    let app = spawn_app("cache_generations").await;
    app.insert(vec![event(
        1,
        "item.viewed",
        now_ms() - HOUR_MS,
        Some("u"),
        Some("i"),
    )])
    .await;
    assert_eq!(app.recompute().await["generation"], 1);
    assert_eq!(app.recompute().await["generation"], 2);
    let status = app.get("/v1/insights/status").await.expect(StatusCode::OK);
    assert_eq!(status["generation"], 2);
}
