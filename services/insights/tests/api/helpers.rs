//! `spawn_app`: the service on `127.0.0.1:0` with a fresh database and Redis
//! prefix, event builders in the analytics schema, and request helpers.

use machina_devenv::{BackingServices, unique_database_name, unique_redis_prefix};
use machina_insights::{Application, Config};
use machina_kit::Vars;
pub use machina_testkit::Reply;
use mongodb::bson::{DateTime, Document, doc};
use reqwest::StatusCode;
use serde_json::Value;

/// The admin token every test app accepts.
pub const ADMIN_TOKEN: &str = "test-admin-token";

pub const HOUR_MS: i64 = 3_600_000;

/// A running service and where its state lives.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database: String,
    pub prefix: String,
}

impl Drop for TestApp {
    /// Drops the database and the Redis keys, also when the test failed, from a
    /// short-lived thread with its own runtime (`Drop` cannot await).
    fn drop(&mut self) {
        let database = std::mem::take(&mut self.database);
        let prefix = std::mem::take(&mut self.prefix);
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let services = BackingServices::load().ok()?;
                let client = services.mongodb().await.ok()?;
                client.database(&database).drop().await.ok()?;
                let mut redis = services.redis().await.ok()?;
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}:*"))
                    .query_async(&mut redis)
                    .await
                    .ok()?;
                if !keys.is_empty() {
                    redis::cmd("DEL")
                        .arg(keys)
                        .query_async::<()>(&mut redis)
                        .await
                        .ok()?;
                }
                Some(())
            })
        });
        let _ = cleaned.join();
    }
}

/// Where an app keeps its state.
#[derive(Clone)]
pub struct Isolation {
    pub database: String,
    pub prefix: String,
}

impl Isolation {
    pub fn fresh(name: &str) -> Self {
        Self {
            database: unique_database_name(name),
            prefix: unique_redis_prefix(name).trim_end_matches(':').to_owned(),
        }
    }
}

/// Starts the service on fresh state with the schedule off.
pub async fn spawn_app(name: &str) -> TestApp {
    spawn_with(&Isolation::fresh(name), &[]).await
}

/// Starts the service on `isolation` with `extra` settings.
pub async fn spawn_with(isolation: &Isolation, extra: &[(&str, &str)]) -> TestApp {
    let services = BackingServices::load_or_panic();
    // Fail loudly (naming devenv/up.sh) when a server is down.
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
        ("INSIGHTS_REDIS_PREFIX".into(), isolation.prefix.clone()),
        ("INSIGHTS_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        ("RECOMPUTE_INTERVAL".into(), "0".into()),
        ("RECOMPUTE_ON_START".into(), "false".into()),
        ("CACHE_TTL".into(), "10m".into()),
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
    tokio::spawn(app.serve_until(std::future::pending()));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        database: isolation.database.clone(),
        prefix: isolation.prefix.clone(),
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    DateTime::now().timestamp_millis()
}

/// An event document in the analytics service's schema.
pub fn event(
    n: usize,
    kind: &str,
    ts_ms: i64,
    actor: Option<&str>,
    item: Option<&str>,
) -> Document {
    let mut properties = Document::new();
    if let Some(item) = item {
        properties.insert("itemId", item);
        // Category = the taste cluster, as the synthetic ids encode it (`c3-i7`).
        if let Some((cluster, _)) = item.split_once('-') {
            properties.insert("category", cluster);
        }
    }
    let mut d = doc! {
        "_id": format!("e{n}"),
        "type": kind,
        "ts": DateTime::from_millis(ts_ms),
        "properties": properties,
        "context": { "source": "test" },
        "receivedAt": DateTime::from_millis(ts_ms + 5),
    };
    if let Some(actor) = actor {
        d.insert("actorId", actor);
        d.insert("sessionId", format!("s-{actor}"));
    }
    d
}

impl TestApp {
    /// Inserts raw events, as the analytics service would have stored them.
    pub async fn insert(&self, events: Vec<Document>) {
        let client = BackingServices::load_or_panic()
            .mongodb()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        client
            .database(&self.database)
            .collection::<Document>("events")
            .insert_many(events)
            .await
            .expect("events inserted");
    }

    pub async fn get(&self, path: &str) -> Reply {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent");
        Reply::read(response).await
    }

    pub async fn recompute_with(&self, token: Option<&str>) -> Reply {
        let mut request = self
            .client
            .post(format!("{}/v1/insights/recompute", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::send(request).await
    }

    /// Runs an incremental step as admin and returns its outcome.
    pub async fn step(&self) -> Value {
        let request = self
            .client
            .post(format!(
                "{}/v1/insights/recompute?mode=incremental",
                self.address
            ))
            .bearer_auth(ADMIN_TOKEN);
        Reply::send(request).await.expect(StatusCode::OK)
    }

    /// Recomputes as admin and returns the summary.
    pub async fn recompute(&self) -> Value {
        self.recompute_with(Some(ADMIN_TOKEN))
            .await
            .expect(StatusCode::OK)
    }
}
