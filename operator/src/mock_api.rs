//! A mock Kubernetes API server for controller tests (the `tower-test` mock behind
//! `kube::Client::new`, as in kube-rs's controller-rs): it serves objects seeded by path,
//! answers server-side applies with the applied object (plus any seeded `status`), answers
//! 404 for anything unknown, and records every request so tests assert the exact calls.

use http::{Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One request the client made.
#[derive(Clone, Debug)]
pub struct Call {
    /// `GET`, `PATCH`, …
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query string.
    pub query: String,
    /// `Content-Type` of the body.
    pub content_type: String,
    /// The body, as JSON (`Null` when empty).
    pub body: Value,
}

impl Call {
    /// `METHOD path`, for compact assertions.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The mock server's state: objects by path, and the calls made.
#[derive(Clone, Debug, Default)]
pub struct ApiServer {
    objects: Arc<Mutex<HashMap<String, Value>>>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl ApiServer {
    /// A client talking to a new mock server, and the server.
    pub fn start() -> (Client, Self) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = Self::default();
        let state = server.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let response = state.answer(request).await;
                send.send_response(response);
            }
        });
        (Client::new(service, "default"), server)
    }

    /// Seeds an object at `path` (e.g. `/api/v1/namespaces/shop/secrets/x`).
    pub fn seed(&self, path: &str, object: Value) {
        self.objects
            .lock()
            .expect("lock")
            .insert(path.to_owned(), object);
    }

    /// Every call made so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("lock").clone()
    }

    /// `METHOD path` of every call made so far.
    pub fn lines(&self) -> Vec<String> {
        self.calls().iter().map(Call::line).collect()
    }

    async fn answer(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("request body");
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .or_else(|_| serde_yaml::from_slice(&bytes))
                .expect("JSON or YAML body")
        };
        let call = Call {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            content_type: parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body: body.clone(),
        };
        self.calls.lock().expect("lock").push(call.clone());
        let stored = self.objects.lock().expect("lock").get(&call.path).cloned();
        match call.method.as_str() {
            "GET" | "DELETE" => match stored {
                Some(object) => respond(StatusCode::OK, &object),
                None => not_found(),
            },
            "POST" => respond(StatusCode::CREATED, &body),
            "PATCH" => self.patch(&call, stored, body),
            _ => not_found(),
        }
    }

    fn patch(&self, call: &Call, stored: Option<Value>, body: Value) -> Response<Body> {
        if let Some(base) = call.path.strip_suffix("/status") {
            // Status subresource: the stored object with the applied status.
            let Some(mut object) = self.objects.lock().expect("lock").get(base).cloned() else {
                return not_found();
            };
            object["status"] = body["status"].clone();
            return respond(StatusCode::OK, &object);
        }
        if call.content_type.starts_with("application/apply-patch") {
            let mut object = body;
            if let Some(status) = stored.as_ref().and_then(|s| s.get("status")) {
                object["status"] = status.clone();
            }
            return respond(StatusCode::OK, &object);
        }
        match stored {
            Some(object) => respond(StatusCode::OK, &object),
            None => not_found(),
        }
    }
}

fn respond(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).expect("serialise")))
        .expect("response")
}

fn not_found() -> Response<Body> {
    respond(
        StatusCode::NOT_FOUND,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "not found", "reason": "NotFound", "code": 404
        }),
    )
}
