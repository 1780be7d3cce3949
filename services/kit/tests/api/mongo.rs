//! The MongoDB helper keeps the service up while MongoDB is down, fails fast,
//! turns `/readyz` red and counts the failures.

use std::time::{Duration, Instant};

use machina_kit::{Metrics, Mongo, Secret};

use crate::helpers::{free_addr, spawn_with};

#[tokio::test]
async fn mongodb_down_keeps_service_up_with_readyz_red() {
    let addr = free_addr().await;
    let metrics = Metrics::new();
    let uri = Secret::new(format!("mongodb://{addr}/app?directConnection=true"));
    let mongo = Mongo::connect(&uri, "kit-test", metrics.clone())
        .await
        .expect("valid URI");
    assert_eq!(
        mongo
            .default_database()
            .map(|db| db.name().to_owned())
            .as_deref(),
        Some("app")
    );
    let check = mongo.readiness_check();
    let app = spawn_with(move |app| app.with_metrics(metrics).readiness_check(check)).await;

    assert_eq!(app.get("/healthz").await.status(), 200);
    let started = Instant::now();
    let response = app.get("/readyz").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "readyz took {:?}",
        started.elapsed()
    );
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["checks"][0]["name"], "mongodb");
    assert_eq!(body["checks"][0]["status"], "failed");
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"machina_dependency_errors_total{dependency="mongodb"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn malformed_mongodb_uri_does_not_echo_the_secret() {
    let uri = Secret::new("mongodb://app:hunter2@host:notaport/db".to_owned());
    let err = Mongo::connect(&uri, "kit-test", Metrics::new())
        .await
        .expect_err("bad port");
    let message = err.to_string();
    assert!(message.contains("mongodb"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
