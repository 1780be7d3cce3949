//! The Redis helper keeps the service up while Redis is down, turns `/readyz`
//! red, counts the failures, and recovers without a restart.

use std::time::Duration;

use machina_kit::{Metrics, Redis, Secret};

use machina_devenv::{BackingServices, Partition};
use redis::AsyncCommands;

use crate::helpers::{free_addr, spawn_with, wait_for_readyz};

#[tokio::test]
async fn redis_outage_turns_readyz_red_and_recovers_without_restart() {
    // The real Redis of `devenv/up.sh`, behind a proxy the test can cut.
    let backing = BackingServices::load_or_panic();
    let (partition, url) = Partition::in_front_of(backing.redis_url.expose())
        .await
        .expect("proxy to Redis");
    partition.cut();
    let metrics = Metrics::new();
    let redis = Redis::connect(&Secret::new(url), metrics.clone()).expect("valid URL");
    let check = redis.readiness_check();
    let app = spawn_with(move |app| app.with_metrics(metrics).readiness_check(check)).await;

    // Down from the start: the service is up, not ready, and counts errors.
    assert_eq!(app.get("/healthz").await.status(), 200);
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["checks"][0]["name"], "redis");
    assert_eq!(body["checks"][0]["status"], "failed");
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"machina_dependency_errors_total{dependency="redis"}"#),
        "{text}"
    );

    // Comes up: ready without restarting the service, and commands work.
    partition.restore();
    wait_for_readyz(&app, 200, Duration::from_secs(20)).await;
    let key = machina_devenv::unique_redis_prefix("kit-outage");
    let mut conn = redis.connection();
    let () = conn.set(&key, "v").await.expect("SET after recovery");

    // Goes down again, then comes back; data written before is still there.
    partition.cut();
    wait_for_readyz(&app, 503, Duration::from_secs(20)).await;
    partition.restore();
    wait_for_readyz(&app, 200, Duration::from_secs(20)).await;
    let value: String = conn.get(&key).await.expect("GET after recovery");
    assert_eq!(value, "v");
    let () = conn.del(&key).await.expect("DEL");
}

#[tokio::test]
async fn redis_failure_maps_to_503_problem() {
    let addr = free_addr().await;
    let redis =
        Redis::connect(&Secret::new(format!("redis://{addr}")), Metrics::new()).expect("valid URL");
    let err = redis.ping().await.expect_err("nothing listens there");
    let api_error = redis.unavailable(&err);
    assert_eq!(api_error.status(), 503);
}

#[test]
fn malformed_redis_url_does_not_echo_the_secret() {
    let err = Redis::connect(
        &Secret::new("notredis://:hunter2@x".to_owned()),
        Metrics::new(),
    )
    .expect_err("bad scheme");
    let message = err.to_string();
    assert!(message.contains("redis"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
