//! The Redis helper keeps the service up while Redis is down, turns `/readyz`
//! red, counts the failures, and recovers without a restart.

use std::time::Duration;

use machina_kit::{Metrics, Redis, Secret};

use crate::{
    fake_redis::FakeRedis,
    helpers::{TestApp, free_addr, spawn_with},
};

/// Polls `/readyz` until it answers `status` or `within` elapses.
async fn wait_for_readyz(app: &TestApp, status: u16, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let got = app.get("/readyz").await.status().as_u16();
        if got == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz stayed {got}, wanted {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn redis_outage_turns_readyz_red_and_recovers_without_restart() {
    let addr = free_addr().await;
    let metrics = Metrics::new();
    let url = Secret::new(format!("redis://{addr}"));
    let redis = Redis::connect(&url, metrics.clone()).expect("valid URL");
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

    // Comes up: ready without restarting the service.
    let fake = FakeRedis::start(addr).await;
    wait_for_readyz(&app, 200, Duration::from_secs(10)).await;

    // Goes down again, then comes back.
    fake.stop().await;
    wait_for_readyz(&app, 503, Duration::from_secs(10)).await;
    let _fake = FakeRedis::start(addr).await;
    wait_for_readyz(&app, 200, Duration::from_secs(10)).await;
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
