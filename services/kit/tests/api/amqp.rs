//! The RabbitMQ helper keeps the service up while RabbitMQ is down, answers
//! 503 for calls that need it, turns `/readyz` red and counts the failures.

use machina_kit::{Amqp, Metrics, Secret};

use crate::helpers::{free_addr, spawn_with};

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
