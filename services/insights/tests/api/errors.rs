//! Bad input gets a problem+json 4xx naming the parameter, and changes nothing.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, Isolation, event, now_ms, spawn_app, spawn_with};

#[track_caller]
fn assert_field(body: &Value, field: &str) {
    assert_eq!(body["field"], field, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains(field)),
        "{body}"
    );
}

#[tokio::test]
async fn before_any_recompute_reads_are_unavailable() {
    let app = spawn_app("errors_empty").await;
    for path in [
        "/v1/recommendations/users/u1",
        "/v1/insights/trends",
        "/v1/insights/status",
    ] {
        app.get(path).await.problem(StatusCode::SERVICE_UNAVAILABLE);
    }
}

#[tokio::test]
async fn bad_parameters_name_the_field() {
    let app = spawn_app("errors_params").await;
    app.insert(vec![event(
        1,
        "item.viewed",
        now_ms() - 1_000,
        Some("u"),
        Some("i"),
    )])
    .await;
    app.recompute().await;
    for k in ["0", "51", "ten", "-3"] {
        let body = app
            .get(&format!("/v1/recommendations/users/u?k={k}"))
            .await
            .problem(StatusCode::BAD_REQUEST);
        assert_field(&body, "k");
        let body = app
            .get(&format!("/v1/recommendations/items/i/similar?k={k}"))
            .await
            .problem(StatusCode::BAD_REQUEST);
        assert_field(&body, "k");
    }
    let long = "x".repeat(300);
    let body = app
        .get(&format!("/v1/recommendations/users/{long}"))
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_field(&body, "id");
    let body = app
        .get("/v1/insights/anomalies")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_field(&body, "series");
    let body = app
        .get("/v1/insights/anomalies?series=type:nothing")
        .await
        .problem(StatusCode::NOT_FOUND);
    assert!(
        body["detail"].as_str().unwrap().contains("type:nothing"),
        "{body}"
    );
    let body = app
        .get("/v1/insights/trends?dimension=colour")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_field(&body, "dimension");
    let body = app
        .get("/v1/insights/trends?limit=1000")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_field(&body, "limit");
    app.get("/v1/recommendations/users/u/nope")
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn recompute_needs_the_admin_token_and_writes_nothing_without_it() {
    let app = spawn_app("errors_admin").await;
    app.insert(vec![event(
        1,
        "item.viewed",
        now_ms() - 1_000,
        Some("u"),
        Some("i"),
    )])
    .await;
    app.recompute_with(None)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.recompute_with(Some("wrong"))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // Nothing was published.
    app.get("/v1/insights/status")
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE);
    let body = app
        .recompute_with(Some(ADMIN_TOKEN))
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["generation"], 1);
}

#[tokio::test]
async fn recompute_is_closed_when_no_admin_credential_is_configured() {
    let isolation = Isolation::fresh("errors_closed");
    let app = spawn_with(&isolation, &[("INSIGHTS_ADMIN_TOKEN", "")]).await;
    app.recompute_with(Some(ADMIN_TOKEN))
        .await
        .problem(StatusCode::FORBIDDEN);
}
