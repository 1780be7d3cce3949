//! Retries only where safe, timeouts, unreachable upstreams.

use crate::helpers::{problem, setup};

#[tokio::test]
async fn idempotent_requests_are_retried_on_503() {
    let (up, gw) = setup(&[]).await;
    for (method, key) in [
        (reqwest::Method::GET, "get"),
        (reqwest::Method::PUT, "put"),
        (reqwest::Method::DELETE, "delete"),
    ] {
        let response = gw
            .client
            .request(method.clone(), gw.url("/v1/open/x?fail=1"))
            .header("x-test-key", key)
            .body("same body")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method}");
        assert_eq!(up.attempts(key), 2, "{method}: one failure, one retry");
        let echo: serde_json::Value = response.json().await.unwrap();
        assert_eq!(echo["body_len"], 9, "{method}: the body is replayed");
    }
}

#[tokio::test]
async fn non_idempotent_requests_are_never_retried() {
    let (up, gw) = setup(&[]).await;
    for (method, key) in [
        (reqwest::Method::POST, "post"),
        (reqwest::Method::PATCH, "patch"),
    ] {
        let response = gw
            .client
            .request(method.clone(), gw.url("/v1/open/x?fail=1"))
            .header("x-test-key", key)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            503,
            "{method}: the upstream's answer passes through"
        );
        assert_eq!(up.attempts(key), 1, "{method}");
    }
}

#[tokio::test]
async fn retries_stop_after_the_attempt_limit() {
    let (up, gw) = setup(&[("RETRY_ATTEMPTS", "2")]).await;
    let response = gw
        .client
        .get(gw.url("/v1/open/x?fail=10"))
        .header("x-test-key", "stubborn")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(up.attempts("stubborn"), 3, "first attempt plus two retries");
}

#[tokio::test]
async fn slow_upstreams_get_504_problem() {
    let (_up, gw) = setup(&[]).await;
    let started = std::time::Instant::now();
    let response = gw
        .client
        .get(gw.url("/v1/slow/x?sleep_ms=5000"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "route timeout is 300ms"
    );
    let body = problem(response).await;
    assert_eq!(body["code"], "upstream_timeout");
    let fast = gw
        .client
        .get(gw.url("/v1/slow/x?sleep_ms=10"))
        .send()
        .await
        .unwrap();
    assert_eq!(fast.status(), 200);
}

#[tokio::test]
async fn unreachable_upstreams_get_502_problem_after_safe_retries() {
    let (_up, gw) = setup(&[("RETRY_ATTEMPTS", "2")]).await;
    for (method, retries) in [(reqwest::Method::GET, 2), (reqwest::Method::POST, 2)] {
        let response = gw
            .client
            .request(method.clone(), gw.url("/v1/dead/x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 502);
        let body = problem(response).await;
        assert_eq!(body["code"], "bad_gateway");
        assert_eq!(body["detail"], "the dead service could not be reached");
        assert_eq!(
            retries_counted(&gw).await,
            retries,
            "after {method}: connect errors retried for GET only"
        );
    }
}

/// `machina_gateway_retries_total` from `/metrics`.
async fn retries_counted(gw: &crate::helpers::TestGateway) -> u64 {
    let text = gw
        .client
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("machina_gateway_retries_total "))
        .map_or(0, |v| v.trim().parse().unwrap())
}
