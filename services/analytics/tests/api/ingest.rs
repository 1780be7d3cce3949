//! Ingestion: mixed batches, idempotent retries, bad input, events reaching MongoDB,
//! generation events through the same path.

use crate::support::{TestApp, eventually};
use chrono::{Duration, Utc};
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use serde_json::{Value, json};

fn ts(minutes_ago: i64) -> String {
    (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339()
}

fn view(path: &str, who: &str) -> Value {
    json!({"type": "page.viewed", "timestamp": ts(5), "anonymousId": who, "properties": {"path": path}})
}

/// Waits until exactly `n` events are stored (and stay so after a marker event is stored
/// behind them, which proves nothing else was on its way).
async fn stored_exactly(app: &TestApp, n: usize) {
    let marker = json!({"id": format!("marker-{n}-{}", uuid_like()), "type": "test.marker", "timestamp": ts(0),
                        "actorId": "m", "properties": {}});
    let (status, _) = app.post("/v1/events", &marker, None).await;
    assert_eq!(status, 202);
    let id = marker["id"].as_str().unwrap_or_default().to_owned();
    eventually("the marker event to be stored", || async {
        app.stored()
            .await
            .iter()
            .any(|d| d.get_str("_id").ok() == Some(id.as_str()))
            .then_some(())
    })
    .await;
    let real = app
        .stored()
        .await
        .iter()
        .filter(|d| d.get_str("type").ok() != Some("test.marker"))
        .count();
    assert_eq!(real, n, "stored events");
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_mixed_batch_accepts_the_valid_and_reports_the_invalid() {
    let app = TestApp::spawn(true).await;
    let batch = json!({"events": [
        view("/a", "v1"),
        {"type": "page.viewed", "timestamp": "not a time", "anonymousId": "v2", "properties": {}},
        view("/b", "v2"),
        {"type": "page.viewed", "timestamp": ts(1), "properties": {}},
        {"id": "c-1", "type": "item.purchased", "timestamp": ts(2), "actorId": "u1", "properties": {"itemId": "sku-1", "price": 12.5}},
        {"type": "page.viewed", "timestamp": (Utc::now() + Duration::hours(2)).to_rfc3339(), "anonymousId": "v3", "properties": {}},
    ]});
    let (status, body) = app.post("/v1/events/batch", &batch, None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], 3);
    let rejected: Vec<(u64, &str)> = body["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap_or(99),
                r["field"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [(1, "timestamp"), (3, "actorId"), (5, "timestamp")]
    );
    assert_eq!(body["ids"][2], "c-1");
    stored_exactly(&app, 3).await;
    let docs = app.stored().await;
    let purchase = docs
        .iter()
        .find(|d| d.get_str("_id").ok() == Some("c-1"))
        .expect("purchase stored");
    assert_eq!(purchase.get_str("type").expect("type"), "item.purchased");
    assert_eq!(
        purchase
            .get_document("properties")
            .expect("props")
            .get_f64("price")
            .expect("price"),
        12.5
    );
    assert!(purchase.get_datetime("ts").is_ok() && purchase.get_datetime("receivedAt").is_ok());
    app.cleanup().await;
}

#[tokio::test]
async fn retried_batches_never_double_count() {
    retries_count_once(false).await;
}

/// The same with a request's events of one type packed into one message.
#[tokio::test]
async fn retried_packed_batches_never_double_count() {
    retries_count_once(true).await;
}

async fn retries_count_once(pack: bool) {
    let app = TestApp::spawn_with(true, |config| machina_analytics::config::Config {
        publish_pack: pack,
        ..config
    })
    .await;
    let batch = json!({"events": [view("/a", "v1"), view("/b", "v1"), view("/a", "v2")]});
    // Keyed retries: same key, same ids.
    let (s1, first) = app.post("/v1/events/batch", &batch, Some("req-42")).await;
    let (s2, second) = app.post("/v1/events/batch", &batch, Some("req-42")).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first["ids"], second["ids"]);
    // Unkeyed retries: ids from the content.
    let plain = json!({"events": [view("/c", "v9")]});
    let (_, a) = app.post("/v1/events/batch", &plain, None).await;
    let (_, b) = app.post("/v1/events/batch", &plain, None).await;
    assert_eq!(a["ids"], b["ids"]);
    // Client ids.
    let single = json!({"id": "client-1", "type": "item.viewed", "timestamp": ts(1), "actorId": "u", "properties": {"itemId": "x"}});
    for _ in 0..3 {
        assert_eq!(app.post("/v1/events", &single, None).await.0, 202);
    }
    stored_exactly(&app, 5).await;
    app.cleanup().await;
}

/// Requests share the publisher's channels and pipeline their publishes: with one
/// channel, concurrent batches must each get their own confirms and every event must be
/// stored once (a swapped delivery tag would confirm the wrong request's events).
#[tokio::test]
async fn concurrent_batches_on_one_channel_are_each_confirmed_and_stored_once() {
    let app = TestApp::spawn_with(true, |config| machina_analytics::config::Config {
        publish_channels: 1,
        ..config
    })
    .await;
    let requests = (0..8).map(|r| {
        let batch = json!({"events": (0..50).map(|i| view(&format!("/{i}"), &format!("v{r}"))).collect::<Vec<_>>()});
        let app = &app;
        async move { app.post("/v1/events/batch", &batch, Some(&format!("concurrent-{r}"))).await }
    });
    let answers = futures::future::join_all(requests).await;
    let mut ids = std::collections::HashSet::new();
    for (status, body) in &answers {
        assert_eq!(
            (*status, body["accepted"].as_u64()),
            (202, Some(50)),
            "{body}"
        );
        ids.extend(body["ids"].as_array().expect("ids").iter().cloned());
    }
    assert_eq!(ids.len(), 400, "every event has its own id");
    stored_exactly(&app, 400).await;
    app.cleanup().await;
}

#[tokio::test]
async fn bad_requests_name_the_problem_and_store_nothing() {
    let app = TestApp::spawn(true).await;
    let all_bad = json!({"events": [{"type": "x y", "timestamp": ts(1), "actorId": "a", "properties": {}}, 7]});
    let (status, body) = app.post("/v1/events/batch", &all_bad, None).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "type");
    assert_eq!(body["errors"][1]["index"], 1);

    let (status, body) = app
        .post(
            "/v1/events",
            &json!({"type": "page.viewed", "timestamp": ts(1), "anonymousId": "a"}),
            None,
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("properties")));

    let too_many = json!({"events": vec![view("/", "v"); 51]});
    let (status, body) = app.post("/v1/events/batch", &too_many, None).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("events")));
    let (status, _) = app
        .post("/v1/events/batch", &json!({"events": []}), None)
        .await;
    assert_eq!(status, 422);
    let (status, body) = app
        .post("/v1/events/batch", &json!([view("/", "v")]), None)
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("events")));

    let duplicate = json!({"events": [{"id": "d", "type": "a", "timestamp": ts(1), "actorId": "u", "properties": {}},
                                      {"id": "d", "type": "a", "timestamp": ts(1), "actorId": "u", "properties": {}}]});
    let (status, body) = app.post("/v1/events/batch", &duplicate, None).await;
    assert_eq!(
        (
            status,
            body["accepted"].as_u64(),
            body["rejected"][0]["field"].as_str()
        ),
        (202, Some(1), Some("id"))
    );

    let (status, body) = app
        .post("/v1/events", &view("/", "v"), Some("bad key with spaces"))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("Idempotency-Key"))
    );

    let response = app
        .http
        .post(format!("{}/v1/events", app.base))
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 415);
    let response = app
        .http
        .post(format!("{}/v1/events", app.base))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 400);
    stored_exactly(&app, 1).await;
    app.cleanup().await;
}

#[tokio::test]
async fn generation_events_arrive_through_the_same_path() {
    let app = TestApp::spawn(true).await;
    // What the generative worker publishes (GenerationEvent, message id `<run>:generation`).
    let payload = json!({"runId": "run-7", "pipeline": "product-copy", "version": "v1", "outcome": "succeeded",
                         "latencyMs": 812.5, "cacheHit": false, "resumed": false, "templateVersions": {"page": 7},
                         "usage": {"promptTokens": 10, "completionTokens": 20, "totalTokens": 30}, "cost": 0.002});
    let connection = app.vhost.connect().await.expect("amqp");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .basic_publish(
            app.config.events_exchange.as_str().into(),
            "analytics.generation".into(),
            BasicPublishOptions::default(),
            payload.to_string().as_bytes(),
            BasicProperties::default()
                .with_message_id("run-7:generation".into())
                .with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    let doc = eventually("the generation event to be stored", || async {
        app.stored()
            .await
            .into_iter()
            .find(|d| d.get_str("_id").ok() == Some("run-7:generation"))
    })
    .await;
    assert_eq!(doc.get_str("type").expect("type"), "content.generated");
    assert_eq!(doc.get_str("anonymousId").expect("anon"), "run-7");
    assert_eq!(
        doc.get_document("properties")
            .expect("props")
            .get_str("pipeline")
            .expect("p"),
        "product-copy"
    );
    app.cleanup().await;
}
