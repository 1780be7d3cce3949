//! `spawn_app`: the service on `127.0.0.1:0` with a fresh database, and request helpers.

use std::sync::Arc;

use machina_devenv::{BackingServices, unique_database_name, unique_redis_prefix};
use machina_kit::Vars;
use machina_templates::{Application, Config, Templates};
pub use machina_testkit::Reply;
use machina_testkit::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A running service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub templates: Arc<Templates>,
    _database: TestDatabase,
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
        _database: TestDatabase::new(isolation.database.clone()),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::send(request).await
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
