//! The harness: the service on port 0 with a fresh database and vhost, helpers to poll.

use machina_analytics::config::Config;
use machina_analytics::service::{self, Connections};
use machina_analytics::store::EventStore;
use machina_devenv::{BackingServices, Vhost, unique_database_name};
use machina_kit::{Amqp, CommonConfig, Metrics, Mongo, Secret, Vars};
use mongodb::Database;
use mongodb::bson::Document;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Generous: two cores shared with other builds, SecantusDB at ~1k writes/s.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running service.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The test's database.
    pub db: Database,
    /// The test's vhost (deleted on drop by [`TestApp::cleanup`]).
    pub vhost: Vhost,
    /// The service's connections.
    pub connections: Connections,
    /// Its settings.
    pub config: Arc<Config>,
    stop: watch::Sender<bool>,
}

impl TestApp {
    /// Starts the service (with its store consumer unless `store` is false).
    pub async fn spawn(store: bool) -> Self {
        Self::spawn_with(store, |config| config).await
    }

    /// Like [`TestApp::spawn`], with the test's settings changed by `adjust`.
    pub async fn spawn_with(store: bool, adjust: impl FnOnce(Config) -> Config) -> Self {
        let services = BackingServices::load_or_panic();
        let vhost = services
            .isolated_vhost("analytics")
            .await
            .expect("vhost (run devenv/up.sh)");
        let database = unique_database_name("analytics");
        let metrics = Metrics::new();
        let mongo = Mongo::connect(
            &Secret::new(services.mongodb_uri.expose().to_owned()),
            "analytics-test",
            metrics.clone(),
        )
        .await
        .expect("mongo client");
        let amqp = Amqp::connect(
            &Secret::new(vhost.amqp_url.expose().to_owned()),
            "analytics-test",
            metrics.clone(),
        )
        .expect("amqp client");
        let connections = Connections {
            mongo: mongo.clone(),
            amqp,
            metrics,
        };
        let config = Arc::new(adjust(Config {
            database: database.clone(),
            max_batch: 50,
            store_consumer: store,
            store_batch: 100,
            ..Config::default()
        }));
        service::prepare(&connections, &config)
            .await
            .expect("prepare (run devenv/up.sh)");
        let common =
            CommonConfig::from_vars(&Vars::from_pairs([("LOG_FORMAT", "pretty")]), "analytics")
                .expect("common");
        let app = service::app(&common, config.clone(), &connections, None);
        let (stop, stopped) = watch::channel(false);
        if store {
            service::spawn_store_consumer(&connections, &config, stopped.clone());
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut on = stopped;
        tokio::spawn(app.serve(listener, async move {
            let _ = on.wait_for(|s| *s).await;
        }));
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            db: mongo.client().database(&database),
            vhost,
            connections,
            config,
            stop,
        }
    }

    /// The `events` collection.
    pub fn events(&self) -> EventStore {
        EventStore::new(&self.db)
    }

    /// POSTs `body` to `path` with optional idempotency key; status and JSON body.
    pub async fn post(&self, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GETs `path`; status, content type and body text.
    pub async fn get(&self, path: &str) -> (u16, String, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, content_type, response.text().await.expect("body"))
    }

    /// Stored event documents.
    pub async fn stored(&self) -> Vec<Document> {
        use futures::TryStreamExt;
        self.events()
            .collection()
            .find(Document::new())
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("docs")
    }

    /// Stops the service and deletes the vhost and database.
    pub async fn cleanup(self) {
        let _ = self.stop.send(true);
        let _ = self.vhost.delete().await;
        let _ = self.db.drop().await;
    }
}

/// Polls `check` until it returns `Some`, failing after [`PATIENCE`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
