//! `/healthz`, `/readyz` and `/metrics`.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use machina_kit::check_fn;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn healthz_is_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_503_listing_the_failed_check() {
    let app = spawn_with(|app| {
        app.readiness_check(check_fn("mongodb", || async { Ok(()) }))
            .readiness_check(check_fn("redis", || async {
                Err("connection refused".to_owned())
            }))
    })
    .await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"][0]["name"], "mongodb");
    assert_eq!(body["checks"][0]["status"], "ok");
    assert_eq!(body["checks"][1]["name"], "redis");
    assert_eq!(body["checks"][1]["status"], "failed");
    assert_eq!(body["checks"][1]["error"], "connection refused");
}

#[tokio::test]
async fn readyz_is_200_when_checks_pass() {
    let app = spawn_with(|app| app.readiness_check(check_fn("mongodb", || async { Ok(()) }))).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn readyz_follows_a_dependency_back_up_without_restart() {
    let up = Arc::new(AtomicBool::new(false));
    let flag = up.clone();
    let app = spawn_with(move |app| {
        app.readiness_check(check_fn("redis", move || {
            let up = flag.load(Ordering::SeqCst);
            async move { if up { Ok(()) } else { Err("down".to_owned()) } }
        }))
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "a down dependency must not fail liveness"
    );
    up.store(true, Ordering::SeqCst);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_per_route_template_method_and_status_class() {
    let app = spawn_app().await;
    assert_eq!(app.get("/items/1").await.status(), 404);
    assert_eq!(app.get("/items/2").await.status(), 404);
    assert_eq!(app.get("/hello").await.status(), 200);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"machina_http_requests_total{method="GET",route="/items/{id}",status="4xx"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"machina_http_requests_total{method="GET",route="/hello",status="2xx"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"machina_http_request_duration_seconds_count{method="GET",route="/hello",status="2xx"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_label_unknown_routes_as_unmatched() {
    let app = spawn_app().await;
    app.get("/no/such/route/123").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"route="unmatched",status="4xx"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("/no/such/route"),
        "raw paths must not become labels: {text}"
    );
}

#[tokio::test]
async fn metrics_expose_dependency_errors() {
    let app = spawn_with(|app| {
        app.metrics().dependency_error("redis");
        app.metrics().dependency_error("redis");
        app
    })
    .await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"machina_dependency_errors_total{dependency="redis"} 2"#),
        "{text}"
    );
}
