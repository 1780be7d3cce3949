//! `spawn_app`: the service on `127.0.0.1:0` with a fresh database, and request helpers.

use std::sync::Arc;

use machina_devenv::{BackingServices, unique_database_name, unique_redis_prefix};
use machina_kit::Vars;
use machina_templates::{Application, Config, Templates};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A running service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub templates: Arc<Templates>,
    database: String,
}

impl Drop for TestApp {
    /// Drops the test's database, also when the test failed. `Drop` cannot await,
    /// and the test's runtime may be shutting down, so a short-lived thread with its
    /// own runtime and client does it.
    fn drop(&mut self) {
        let database = std::mem::take(&mut self.database);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let client = BackingServices::load().ok()?.mongodb().await.ok()?;
                client.database(&database).drop().await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// Where an app keeps its state: database and invalidation channel.
pub struct Isolation {
    pub database: String,
    pub channel: String,
}

impl Isolation {
    pub fn fresh(prefix: &str) -> Self {
        Self {
            database: unique_database_name(prefix),
            channel: format!("{}templates:changed", unique_redis_prefix(prefix)),
        }
    }
}

/// Starts the service with a fresh database and its own Redis channel.
pub async fn spawn_app(prefix: &str) -> TestApp {
    spawn_with(&Isolation::fresh(prefix), &[]).await
}

/// Starts the service on `isolation`'s database and channel, plus `extra` settings.
pub async fn spawn_with(isolation: &Isolation, extra: &[(&str, &str)]) -> TestApp {
    let services = BackingServices::load_or_panic();
    // Fail loudly (naming devenv/up.sh) when a server is down, instead of timing out later.
    if let Err(e) = services.mongodb().await {
        panic!("{e}");
    }
    if let Err(e) = services.redis().await {
        panic!("{e}");
    }
    let mut pairs: Vec<(String, String)> = vec![
        ("LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("MONGODB_URI".into(), services.mongodb_uri.expose().into()),
        ("MONGODB_DATABASE".into(), isolation.database.clone()),
        ("REDIS_URL".into(), services.redis_url.expose().into()),
        (
            "TEMPLATES_CHANGED_CHANNEL".into(),
            isolation.channel.clone(),
        ),
        ("LOG_LEVEL".into(), "warn".into()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let config = Config::from_vars(&Vars::from_pairs(pairs)).expect("test config is valid");
    let app = Application::build(config).await.expect("the app builds");
    let port = app.port();
    let templates = app.templates();
    tokio::spawn(app.serve_until(std::future::pending()));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        templates,
        database: isolation.database.clone(),
    }
}

/// A response: status, content type and JSON body (`Null` when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Reply {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        self.body
    }

    /// Asserts a problem+json error with `status` and returns the body.
    #[track_caller]
    pub fn problem(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.as_u16(), "{}", self.body);
        self.body
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path))).await
    }

    /// Creates `name` as a Text template and returns the body.
    pub async fn create_text(&self, name: &str, source: &str) -> Value {
        self.post(
            "/v1/templates",
            &json!({"name": name, "format": "Text", "source": source}),
        )
        .await
        .expect(StatusCode::CREATED)
    }

    /// Renders `name` with `context` and returns the output.
    pub async fn render_ok(&self, name: &str, context: Value) -> String {
        let body = self
            .post(
                &format!("/v1/templates/{name}/render"),
                &json!({ "context": context }),
            )
            .await
            .expect(StatusCode::OK);
        body["output"].as_str().unwrap_or_default().to_owned()
    }

    /// Stored versions of `name`, counted in MongoDB.
    pub async fn count_versions(&self, name: &str) -> u64 {
        self.templates
            .store()
            .count_versions(name)
            .await
            .expect("count versions")
    }
}
