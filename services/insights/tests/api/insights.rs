//! Trends and anomalies computed from events in MongoDB.

use reqwest::StatusCode;

use crate::helpers::{HOUR_MS, event, now_ms, spawn_app};

#[tokio::test]
async fn a_burst_of_one_item_is_a_trend() {
    let app = spawn_app("trends").await;
    let now = now_ms();
    let mut events = Vec::new();
    // "steady": 3 views a day for 8 days; "hot": 30 views in the last two hours.
    for n in 0..24 {
        let ts = now - (n as i64) * 8 * HOUR_MS - HOUR_MS;
        events.push(event(
            n,
            "item.viewed",
            ts,
            Some(&format!("s{n}")),
            Some("steady"),
        ));
    }
    for n in 0..30 {
        let ts = now - (n as i64) * 4 * 60_000 - 60_000;
        events.push(event(
            100 + n,
            "item.viewed",
            ts,
            Some(&format!("h{n}")),
            Some("hot"),
        ));
    }
    app.insert(events).await;
    app.recompute().await;

    let body = app
        .get("/v1/insights/trends?dimension=item")
        .await
        .expect(StatusCode::OK);
    let trends = body["trends"].as_array().expect("trends array");
    assert_eq!(trends.len(), 1, "{body}");
    let hot = &trends[0];
    assert_eq!(hot["key"], "hot");
    assert_eq!(hot["dimension"], "item");
    assert_eq!(hot["recent"], 30);
    assert!(hot["z"].as_f64().unwrap() > 5.0, "{hot}");
    assert!(hot["pValue"].as_f64().unwrap() < 1e-6, "{hot}");

    // The cold-start list leads with what is trending.
    let body = app
        .get("/v1/recommendations/users/newcomer?k=2")
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["items"][0]["item"], "hot", "{body}");
    assert_eq!(body["items"][0]["reason"], "trending", "{body}");
}

#[tokio::test]
async fn a_spike_in_hourly_counts_is_an_anomaly() {
    let app = spawn_app("anomalies").await;
    let hour = now_ms() / HOUR_MS * HOUR_MS;
    let mut events = Vec::new();
    // One event an hour for three weeks, and 40 in the hour starting 30 hours ago.
    for h in 1..=504i64 {
        events.push(event(
            h as usize,
            "page.viewed",
            hour - h * HOUR_MS + 1_000,
            None,
            None,
        ));
    }
    let spike = hour - 30 * HOUR_MS;
    for n in 0..40 {
        events.push(event(
            1_000 + n,
            "page.viewed",
            spike + 2_000 + n as i64,
            None,
            None,
        ));
    }
    app.insert(events).await;
    app.recompute().await;

    for series in ["events", "type:page.viewed"] {
        let body = app
            .get(&format!("/v1/insights/anomalies?series={series}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(body["seasonHours"], 168, "{body}");
        let anomalies = body["anomalies"].as_array().expect("anomalies array");
        assert_eq!(anomalies.len(), 1, "{body}");
        assert_eq!(anomalies[0]["tsMs"], spike, "{body}");
        assert_eq!(anomalies[0]["direction"], "spike");
        assert_eq!(anomalies[0]["value"], 41.0);
    }
    let status = app.get("/v1/insights/status").await.expect(StatusCode::OK);
    assert_eq!(status["events"], 544, "{status}");
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let app = spawn_app("openapi").await;
    let spec = app.get("/openapi.json").await.expect(StatusCode::OK);
    assert_eq!(spec["openapi"], "3.0.3");
    assert!(spec["paths"]["/v1/insights/anomalies"]["get"].is_object());
}
