//! `spawn_app`: the service on `127.0.0.1:0` with a fresh database, test tokens
//! signed with a key whose public half the service is configured with, and
//! request helpers.

use std::{sync::Arc, time::Duration};

use machina_content::{Application, Config, Content};
use machina_devenv::{BackingServices, unique_database_name};
use machina_kit::Vars;
pub use machina_testkit::Reply;
use machina_testkit::{TestDatabase, keys};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Scopes of an editor (may write and submit, not publish).
pub const EDITOR: &str = "content:write";
/// Scopes of a publisher.
pub const PUBLISHER: &str = "content:read content:publish";
/// Scopes of an admin.
pub const ADMIN: &str = "content:admin";

/// A token for `sub` with `scope`, valid for ten minutes.
pub fn token(sub: &str, scope: &str) -> String {
    keys::token(sub, json!({ "scope": scope }))
}

/// A running service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub content: Arc<Content>,
    pub database: TestDatabase,
    /// The token requests carry unless told otherwise (admin).
    pub token: String,
}

/// Starts the service on a fresh database.
pub async fn spawn_app(prefix: &str) -> TestApp {
    spawn_with(&unique_database_name(prefix), &[]).await
}

/// Starts the service on `database` with `extra` settings (which win over the defaults).
pub async fn spawn_with(database: &str, extra: &[(&str, &str)]) -> TestApp {
    let services = BackingServices::load_or_panic();
    // Fail loudly (naming devenv/up.sh) when a server is down, instead of timing out later.
    if let Err(e) = services.mongodb().await {
        panic!("{e}");
    }
    let mut pairs: Vec<(String, String)> = vec![
        ("LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("MONGODB_URI".into(), services.mongodb_uri.expose().into()),
        ("MONGODB_DATABASE".into(), database.into()),
        ("JWT_PUBLIC_KEY".into(), keys::PUBLIC_KEY.into()),
        ("JWT_ALGORITHM".into(), "EdDSA".into()),
        ("SCHEDULER_INTERVAL".into(), "200ms".into()),
        ("OUTBOX_INTERVAL".into(), "100ms".into()),
        ("WEBHOOK_RETRY_BASE".into(), "200ms".into()),
        ("LOG_LEVEL".into(), "warn".into()),
    ];
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        pairs.push(((*k).to_owned(), (*v).to_owned()));
    }
    let config = Config::from_vars(&Vars::from_pairs(pairs)).expect("test config is valid");
    let app = Application::build(config).await.expect("the app builds");
    let port = app.port();
    let content = app.content();
    tokio::spawn(app.serve_until(std::future::pending()));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        content,
        database: TestDatabase::new(database),
        token: token("admin", ADMIN),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends with `token` as the bearer.
    pub async fn send_as(&self, token: &str, request: reqwest::RequestBuilder) -> Reply {
        Reply::send(request.bearer_auth(token)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send_as(&self.token, self.client.get(self.url(path)))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send_as(&self.token, self.client.post(self.url(path)).json(body))
            .await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> Reply {
        self.send_as(token, self.client.post(self.url(path)).json(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send_as(&self.token, self.client.put(self.url(path)).json(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send_as(&self.token, self.client.delete(self.url(path)))
            .await
    }

    /// Creates the `article` type: localized title (required, max 40), body,
    /// price, tags, author (reference to `person`) and related articles.
    pub async fn create_article_type(&self) {
        self.post(
            "/v1/content/types",
            &json!({"id": "person", "fields": [
                {"name": "name", "kind": "text", "required": true},
                {"name": "mentor", "kind": "reference", "to": ["person"]}
            ]}),
        )
        .await
        .expect(StatusCode::CREATED);
        self.post("/v1/content/types", &json!({"id": "article", "title": "Article", "fields": [
            {"name": "title", "kind": "text", "required": true, "maxLength": 40, "localized": true},
            {"name": "body", "kind": "richText", "localized": true},
            {"name": "price", "kind": "number", "min": 0},
            {"name": "tags", "kind": "list", "of": {"kind": "text"}},
            {"name": "author", "kind": "reference", "to": ["person"]},
            {"name": "related", "kind": "list", "of": {"kind": "reference", "to": ["article"]}}
        ]}))
        .await
        .expect(StatusCode::CREATED);
    }

    /// Creates an entry and returns its id.
    pub async fn create_entry(&self, type_id: &str, slug: &str, fields: Value) -> String {
        let body = self
            .post(
                "/v1/content/entries",
                &json!({"type": type_id, "slug": slug, "fields": fields}),
            )
            .await
            .expect(StatusCode::CREATED);
        body["id"].as_str().expect("an id").to_owned()
    }

    /// Moves `locale` of entry `id` to `to` as the admin.
    pub async fn move_to(&self, id: &str, locale: &str, to: &str) -> Value {
        self.post(
            &format!("/v1/content/entries/{id}/transitions"),
            &json!({"to": to, "locale": locale}),
        )
        .await
        .expect(StatusCode::OK)
    }

    /// Documents of `collection` in the service database matching `filter`.
    pub async fn documents(&self, collection: &str, filter: mongodb::bson::Document) -> Vec<Value> {
        use futures::TryStreamExt;
        let cursor = self
            .content
            .store()
            .database()
            .collection::<mongodb::bson::Document>(collection)
            .find(filter)
            .await
            .expect("find");
        let docs: Vec<mongodb::bson::Document> = cursor.try_collect().await.expect("collect");
        docs.into_iter()
            .map(|d| mongodb::bson::Bson::Document(d).into_relaxed_extjson())
            .collect()
    }
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
