//! The RabbitMQ helper keeps the service up while RabbitMQ is down, answers
//! 503 for calls that need it, turns `/readyz` red and counts the failures.

use machina_kit::{Amqp, Metrics, Secret};

use std::time::Duration;

use machina_devenv::{BackingServices, Partition};

use crate::helpers::{free_addr, spawn_with, wait_for_readyz};

#[tokio::test]
async fn rabbitmq_down_keeps_service_up_with_readyz_red() {
    let addr = free_addr().await;
    let metrics = Metrics::new();
    let uri = Secret::new(format!("amqp://guest:guest@{addr}/%2f"));
    let amqp = Amqp::connect(&uri, "kit-test", metrics.clone()).expect("valid URI");
    let check = amqp.readiness_check();
    let app = spawn_with(move |app| app.with_metrics(metrics).readiness_check(check)).await;

    assert_eq!(app.get("/healthz").await.status(), 200);
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["checks"][0]["name"], "rabbitmq");
    assert_eq!(body["checks"][0]["error"], "not connected");

    let err = amqp.connection().expect_err("no broker");
    assert_eq!(err.status(), 503);
    assert!(!amqp.is_connected());

    // The supervisor's first attempt is refused at once and counted.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"machina_dependency_errors_total{dependency="rabbitmq"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn malformed_amqp_uri_does_not_echo_the_secret() {
    let uri = Secret::new("amqp://guest:hunter2@host:notaport/%2f".to_owned());
    let err = Amqp::connect(&uri, "kit-test", Metrics::new()).expect_err("bad port");
    let message = err.to_string();
    assert!(message.contains("rabbitmq"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn rabbitmq_outage_turns_readyz_red_and_recovers_without_restart() {
    // The real RabbitMQ of `devenv/up.sh`, behind a proxy the test can cut.
    let backing = BackingServices::load_or_panic();
    let (partition, uri) = Partition::in_front_of(backing.amqp_url.expose())
        .await
        .expect("proxy to RabbitMQ");
    let metrics = Metrics::new();
    let amqp = Amqp::connect(&Secret::new(uri), "kit-outage", metrics.clone()).expect("valid URI");
    let check = amqp.readiness_check();
    let app = spawn_with(move |app| app.with_metrics(metrics).readiness_check(check)).await;
    wait_for_readyz(&app, 200, Duration::from_secs(30)).await;
    assert!(amqp.is_connected());

    partition.cut();
    wait_for_readyz(&app, 503, Duration::from_secs(30)).await;
    assert_eq!(
        amqp.connection().expect_err("cut off").status(),
        503,
        "calls that need the broker answer 503 while it is unreachable"
    );

    partition.restore();
    // The supervisor's backoff is capped at 10 s.
    wait_for_readyz(&app, 200, Duration::from_secs(40)).await;
    let connection = amqp.connection().expect("reconnected");
    connection
        .create_channel()
        .await
        .expect("a channel on the new connection");
}
