//! The test upstream: an axum server that echoes what it received, and can be
//! told to be slow, to fail a number of times, or to answer a given status.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

/// A running upstream and how many requests it saw per `x-test-key`.
pub struct Upstream {
    pub url: String,
    pub attempts: Arc<Mutex<HashMap<String, usize>>>,
}

impl Upstream {
    /// Requests seen with `x-test-key: key`.
    pub fn attempts(&self, key: &str) -> usize {
        self.attempts.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

pub async fn spawn_upstream() -> Upstream {
    let attempts = Arc::new(Mutex::new(HashMap::new()));
    let router = Router::new()
        .route("/openapi.json", get(openapi))
        .fallback(echo)
        .with_state(attempts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Upstream { url, attempts }
}

async fn openapi() -> Json<Value> {
    Json(json!({
        "openapi": "3.1.0",
        "info": { "title": "echo", "version": "1" },
        "paths": { "/v1/echo/items": { "get": { "responses": { "200": { "description": "ok",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } } } } } } },
        "components": { "schemas": { "Item": { "type": "object" } } }
    }))
}

fn query(req: &Request) -> HashMap<String, String> {
    req.uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

async fn echo(
    State(attempts): State<Arc<Mutex<HashMap<String, usize>>>>,
    req: Request,
) -> Response {
    let query = query(&req);
    let key = req
        .headers()
        .get("x-test-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let seen = {
        let mut map = attempts.lock().unwrap();
        let n = map.entry(key).or_insert(0);
        *n += 1;
        *n
    };
    if let Some(ms) = query.get("sleep_ms") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
    }
    let failures: usize = query.get("fail").map_or(0, |f| f.parse().unwrap());
    if seen <= failures {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
    }
    if let Some(status) = query.get("status") {
        let status = StatusCode::from_u16(status.parse().unwrap()).unwrap();
        return (status, "plain upstream error").into_response();
    }
    if query.contains_key("stream") {
        let chunks = futures::stream::iter(
            (0..4).map(|i| Ok::<_, std::io::Error>(Bytes::from(format!("chunk{i};")))),
        );
        return Response::new(Body::from_stream(chunks));
    }
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = headers_json(req.headers());
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut response = Json(json!({
        "method": method,
        "path": path,
        "headers": headers,
        "body_len": body.len(),
        "attempt": seen,
    }))
    .into_response();
    response
        .headers_mut()
        .insert("connection", "x-upstream-hop".parse().unwrap());
    response
        .headers_mut()
        .insert("x-upstream-hop", "1".parse().unwrap());
    response
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        map.insert(
            name.to_string(),
            Value::from(value.to_str().unwrap_or_default()),
        );
    }
    Value::Object(map)
}
