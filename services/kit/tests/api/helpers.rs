//! `spawn_app` and the demo service router the tests run against.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Extension, Router,
    extract::Path,
    http::StatusCode,
    routing::{get, post},
};
use machina_kit::{ApiError, ApiJson, App, CommonConfig, RequestId, Vars};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// The body `/items` accepts.
#[derive(Debug, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub tags: Vec<u32>,
}

/// A running app and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    pub server: JoinHandle<machina_kit::Result<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    /// Sends the shutdown signal (once).
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).expect("server already gone");
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on (right now).
pub async fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    listener.local_addr().expect("local addr")
}

/// Config for tests: small limits so they are quick to hit.
pub fn test_config() -> CommonConfig {
    let vars = Vars::from_pairs([
        ("BODY_LIMIT", "1KiB"),
        ("REQUEST_TIMEOUT", "1s"),
        ("SHUTDOWN_GRACE", "5s"),
        ("LISTEN_ADDR", "127.0.0.1:0"),
    ]);
    CommonConfig::from_vars(&vars, "kit-test").expect("test config")
}

/// Starts the demo service with the default test config.
pub async fn spawn_app() -> TestApp {
    spawn_with(|app| app).await
}

/// Starts the demo service after `customize` has adjusted the [`App`].
pub async fn spawn_with(customize: impl FnOnce(App) -> App) -> TestApp {
    spawn_router(demo_router(), customize).await
}

/// Starts `router` wrapped in an [`App`] adjusted by `customize`.
pub async fn spawn_router(router: Router, customize: impl FnOnce(App) -> App) -> TestApp {
    let app = customize(App::new(&test_config(), router));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        server,
    }
}

/// A small service exercising each kind of response.
fn demo_router() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/items", post(create_item))
        .route(
            "/items/{id}",
            get(|Path(id): Path<u32>| async move {
                Err::<(), _>(ApiError::NotFound(format!("item {id} does not exist")))
            }),
        )
        .route("/sleep/{ms}", get(sleep_ms))
        .route(
            "/whoami",
            get(|Extension(id): Extension<RequestId>| async move { id.0 }),
        )
        .route(
            "/boom",
            get(|| async {
                Err::<(), _>(ApiError::Internal(anyhow::anyhow!(
                    "db password hunter2 rejected"
                )))
            }),
        )
        .route("/panic", get(panics))
}

async fn create_item(ApiJson(item): ApiJson<Item>) -> (StatusCode, ApiJson<Item>) {
    (StatusCode::CREATED, ApiJson(item))
}

async fn sleep_ms(Path(ms): Path<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "done"
}

async fn panics() -> &'static str {
    panic!("handler bug")
}

/// Asserts a problem+json response with `status` and returns its body.
pub async fn problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], "about:blank");
    assert!(body["title"].is_string(), "{body}");
    body
}

/// Polls `/readyz` until it answers `status`, failing the test after `within`.
pub async fn wait_for_readyz(app: &TestApp, status: u16, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let got = app.get("/readyz").await.status().as_u16();
        if got == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz stayed {got}, wanted {status} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
