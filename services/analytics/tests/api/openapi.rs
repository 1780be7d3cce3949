//! The OpenAPI document: served, every route in it, and the documented bodies matching
//! what the handlers answer.

use crate::support::TestApp;
use chrono::{Duration, Utc};
use machina_analytics::http::ROUTES;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The property names of component schema `name`, including flattened parts.
fn schema_fields(doc: &Value, name: &str) -> BTreeSet<String> {
    let schema = &doc["components"]["schemas"][name];
    let parts = schema["allOf"].as_array().cloned().unwrap_or_default();
    std::iter::once(schema.clone())
        .chain(parts)
        .flat_map(|part| {
            let part = match part["$ref"].as_str() {
                Some(r) => {
                    doc["components"]["schemas"][r.rsplit('/').next().unwrap_or_default()].clone()
                }
                None => part,
            };
            part["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect()
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_document_lists_every_route_and_matches_the_answers() {
    let app = TestApp::spawn(false).await;
    let (status, content_type, text) = app.get("/openapi.json").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for (method, path) in ROUTES {
        let method = method.as_str().to_ascii_lowercase();
        assert!(
            doc["paths"][path][&method].is_object(),
            "{method} {path} missing"
        );
    }

    let event = json!({"type": "page.viewed", "timestamp": (Utc::now() - Duration::minutes(1)).to_rfc3339(),
                       "anonymousId": "a", "properties": {}});
    let (status, body) = app.post("/v1/events", &event, None).await;
    assert_eq!(status, 202);
    assert_eq!(keys(&body), schema_fields(&doc, "SingleAccepted"));
    let (status, body) = app
        .post("/v1/events/batch", &json!({"events": [event, 1]}), None)
        .await;
    assert_eq!(status, 202);
    assert_eq!(keys(&body), schema_fields(&doc, "BatchAccepted"));
    assert_eq!(keys(&body["rejected"][0]), schema_fields(&doc, "Rejection"));
    let (status, body) = app
        .post("/v1/events/batch", &json!({"events": [1]}), None)
        .await;
    assert_eq!(status, 422);
    assert_eq!(keys(&body), schema_fields(&doc, "BatchProblem"));

    let (status, _, text) = app.get("/v1/reports/timeseries?bucket=day").await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(keys(&body), schema_fields(&doc, "TimeseriesReport"));
    let (status, _, text) = app.get("/v1/reports/breakdown?groupBy=type").await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(keys(&body), schema_fields(&doc, "BreakdownReport"));
    let (status, _, text) = app.get("/v1/reports/funnel?steps=a,b").await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(keys(&body), schema_fields(&doc, "FunnelReport"));
    let (status, _, text) = app.get("/v1/reports/retention").await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(keys(&body), schema_fields(&doc, "RetentionReport"));
    app.cleanup().await;
}
