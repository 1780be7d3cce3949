//! Cache invalidation across replicas over Redis pub/sub.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Isolation, TestApp, spawn_with};

/// Renders on `app` until the output is `expected`, for at most 2 s.
async fn eventually_renders(app: &TestApp, name: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let output = app.render_ok(name, json!({})).await;
        if output == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still rendering {output:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_change_on_one_replica_reaches_the_other() {
    let isolation = Isolation::fresh("tpl_replicas");
    // A long TTL, so only pub/sub can explain the second replica seeing a change.
    let extra = [("ACTIVE_VERSION_TTL", "10m")];
    let a = spawn_with(&isolation, &extra).await;
    let b = spawn_with(&isolation, &extra).await;
    a.create_text("banner", "first").await;
    assert_eq!(b.render_ok("banner", json!({})).await, "first");
    assert_eq!(b.templates.cache_engines(), 1);

    a.put(
        "/v1/templates/banner",
        &json!({"format": "Text", "source": "second"}),
    )
    .await
    .expect(StatusCode::CREATED);
    eventually_renders(&b, "banner", "second").await;

    a.post("/v1/templates/banner/activate", &json!({"version": 1}))
        .await
        .expect(StatusCode::OK);
    eventually_renders(&b, "banner", "first").await;

    assert_eq!(
        a.delete("/v1/templates/banner").await.status,
        StatusCode::NO_CONTENT
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while b
        .post("/v1/templates/banner/render", &json!({}))
        .await
        .status
        != StatusCode::NOT_FOUND
    {
        assert!(
            Instant::now() < deadline,
            "the retired template still renders on the other replica"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn without_redis_replicas_converge_after_the_ttl() {
    let isolation = Isolation::fresh("tpl_ttl");
    // An empty REDIS_URL counts as unset: no pub/sub, only the short TTL.
    let extra = [("REDIS_URL", ""), ("ACTIVE_VERSION_TTL", "300ms")];
    let a = spawn_with(&isolation, &extra).await;
    let b = spawn_with(&isolation, &extra).await;
    let ready = b.get("/readyz").await.expect(StatusCode::OK);
    assert!(
        ready["checks"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["name"] != "redis")),
        "{ready}"
    );
    a.create_text("motd", "old").await;
    assert_eq!(b.render_ok("motd", json!({})).await, "old");
    a.put(
        "/v1/templates/motd",
        &json!({"format": "Text", "source": "new"}),
    )
    .await
    .expect(StatusCode::CREATED);
    eventually_renders(&b, "motd", "new").await;
}

#[tokio::test]
async fn a_dropped_test_app_drops_its_database() {
    let isolation = Isolation::fresh("tpl_cleanup");
    let app = spawn_with(&isolation, &[]).await;
    app.create_text("x", "x").await;
    drop(app);
    let client = machina_devenv::BackingServices::load_or_panic()
        .mongodb()
        .await
        .expect("MongoDB is up");
    let names = client
        .list_database_names()
        .await
        .expect("databases listed");
    assert!(!names.contains(&isolation.database), "{names:?}");
}
