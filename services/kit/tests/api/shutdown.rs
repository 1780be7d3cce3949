//! Graceful shutdown: in-flight requests finish, within the grace period.

use std::time::{Duration, Instant};

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn in_flight_request_finishes_after_shutdown_signal() {
    let mut app = spawn_app().await;
    let client = app.client.clone();
    let url = app.url("/sleep/400");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.shutdown();

    let response = in_flight
        .await
        .unwrap()
        .expect("in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "done");
    let served = tokio::time::timeout(Duration::from_secs(5), &mut app.server).await;
    assert!(
        matches!(served, Ok(Ok(Ok(())))),
        "server did not stop cleanly: {served:?}"
    );
    assert!(
        reqwest::get(app.url("/healthz")).await.is_err(),
        "no new connections after shutdown"
    );
}

#[tokio::test]
async fn grace_period_bounds_shutdown() {
    let mut app = spawn_with(|app| {
        app.shutdown_grace(Duration::from_millis(100))
            .request_timeout(Duration::from_secs(30))
    })
    .await;
    let client = app.client.clone();
    let url = app.url("/sleep/10000");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    app.shutdown();
    let served = tokio::time::timeout(Duration::from_secs(5), &mut app.server).await;
    assert!(
        matches!(served, Ok(Ok(Ok(())))),
        "server did not stop: {served:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    in_flight.abort();
}
