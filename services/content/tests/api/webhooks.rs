//! Webhooks: signed payloads, retries with backoff, the delivery log.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router, extract::State, http::HeaderMap, http::StatusCode as AxumStatus, routing::post,
};
use machina_content::signature;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{eventually, spawn_app};

/// What the receiver saw: (signature header, body) per request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A receiver that answers 500 to the first request and 204 afterwards.
async fn flaky_receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn receive(State(seen): State<Seen>, headers: HeaderMap, body: String) -> AxumStatus {
        let signature = headers
            .get("machina-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut seen = seen.lock().unwrap();
        seen.push((signature, body));
        if seen.len() == 1 {
            AxumStatus::INTERNAL_SERVER_ERROR
        } else {
            AxumStatus::NO_CONTENT
        }
    }
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_logged() {
    let app = spawn_app("webhooks_retry").await;
    let (url, seen) = flaky_receiver().await;
    let hook = app
        .post(
            "/v1/content/webhooks",
            &json!({"url": url, "events": ["content.published"]}),
        )
        .await
        .expect(StatusCode::CREATED);
    let secret = hook["secret"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let shown = app
        .get(&format!("/v1/content/webhooks/{hook_id}"))
        .await
        .expect(StatusCode::OK);
    assert!(shown.get("secret").is_none());

    app.create_article_type().await;
    let id = app
        .create_entry("article", "hooked", json!({"title": "Hooked"}))
        .await;
    app.move_to(&id, "en", "published").await;

    let log = eventually(Duration::from_secs(15), || async {
        let log = app
            .get(&format!("/v1/content/webhooks/{hook_id}/deliveries"))
            .await
            .expect(StatusCode::OK);
        (log["items"][0]["status"] == "delivered").then_some(log)
    })
    .await
    .expect("the delivery succeeds on a retry");
    let delivery = &log["items"][0];
    let statuses: Vec<u64> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 204]);
    assert_eq!(delivery["event"], "content.published");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for (header, body) in &seen {
        assert!(signature::verify(&secret, header, body), "{header}");
        assert!(!signature::verify("another-secret-of-16", header, body));
        let payload: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(payload["entryId"], id.as_str());
    }
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"machina_content_jobs_total{job="webhook",outcome="retry"} 1"#,
        r#"machina_content_jobs_total{job="webhook",outcome="ok"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} not in {metrics}");
    }
    // The header is t=<unix>,v1=<hex of HMAC-SHA256 over "t.body">.
    let (header, body) = &seen[0];
    let t: i64 = header
        .trim_start_matches("t=")
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(header, &signature::sign(&secret, t, body));
}

#[tokio::test]
async fn webhook_crud_and_validation() {
    let app = spawn_app("webhooks_crud").await;
    let problem = app
        .post(
            "/v1/content/webhooks",
            &json!({"url": "ftp://x", "events": ["content.deleted"], "secret": "short"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["url", "events[0]", "secret"]);
    let created = app
        .post(
            "/v1/content/webhooks",
            &json!({"url": "http://127.0.0.1:9/x", "secret": "a-secret-of-sixteen"}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        created["events"],
        json!(["content.published", "content.unpublished"])
    );
    let id = created["id"].as_str().unwrap();
    let listed = app.get("/v1/content/webhooks").await.expect(StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    app.delete(&format!("/v1/content/webhooks/{id}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get(&format!("/v1/content/webhooks/{id}"))
        .await
        .problem(StatusCode::NOT_FOUND);
}
