//! The MongoDB helper keeps the service up while MongoDB is down, fails fast,
//! turns `/readyz` red and counts the failures.

use std::time::{Duration, Instant};

use machina_kit::{Metrics, Mongo, Secret};

use machina_devenv::{BackingServices, Partition};

use crate::helpers::{free_addr, spawn_with, wait_for_readyz};

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

#[tokio::test]
async fn mongodb_outage_turns_readyz_red_and_recovers_without_restart() {
    // The real MongoDB (SecantusDB) of `devenv/up.sh`, behind a proxy the test can cut.
    let backing = BackingServices::load_or_panic();
    let (partition, uri) = Partition::in_front_of(backing.mongodb_uri.expose())
        .await
        .expect("proxy to MongoDB");
    let separator = if uri.contains('?') { '&' } else { '?' };
    let uri = format!("{uri}{separator}directConnection=true");
    let metrics = Metrics::new();
    let mongo = Mongo::connect(&Secret::new(uri), "kit-outage", metrics.clone())
        .await
        .expect("valid URI");
    let check = mongo.readiness_check();
    let app = spawn_with(move |app| app.with_metrics(metrics).readiness_check(check)).await;
    wait_for_readyz(&app, 200, Duration::from_secs(30)).await;

    partition.cut();
    wait_for_readyz(&app, 503, Duration::from_secs(30)).await;
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "the process stays up"
    );

    partition.restore();
    wait_for_readyz(&app, 200, Duration::from_secs(30)).await;
    let db = mongo
        .client()
        .database(&machina_devenv::unique_database_name("kit_outage"));
    db.collection::<mongodb::bson::Document>("probe")
        .insert_one(mongodb::bson::doc! {"ok": 1})
        .await
        .expect("insert after recovery");
    db.drop().await.expect("drop test database");
}
