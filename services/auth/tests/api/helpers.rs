//! `spawn_app`: the service on `127.0.0.1:0` with a fresh database and Redis
//! prefix, a bootstrap admin client, and request helpers.

use std::sync::Arc;

use machina_auth::{Application, Config, service::Auth};
use machina_devenv::{BackingServices, unique_database_name, unique_redis_prefix};
use machina_kit::Vars;
pub use machina_testkit::Reply;
use machina_testkit::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const ADMIN_ID: &str = "root";
pub const ADMIN_SECRET: &str = "root-secret-for-tests-only";
pub const ISSUER: &str = "http://issuer.test";

/// A running service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub auth: Arc<Auth>,
    database: TestDatabase,
}

/// Starts the service with cheap argon2 parameters (debug builds are slow) and `extra` settings.
pub async fn spawn_app(prefix: &str, extra: &[(&str, &str)]) -> TestApp {
    let services = BackingServices::load_or_panic();
    if let Err(e) = services.mongodb().await {
        panic!("{e}");
    }
    if let Err(e) = services.redis().await {
        panic!("{e}");
    }
    let database = unique_database_name(prefix);
    let redis_prefix = unique_redis_prefix(prefix);
    let mut pairs: Vec<(String, String)> = vec![
        ("LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("MONGODB_URI".into(), services.mongodb_uri.expose().into()),
        ("MONGODB_DATABASE".into(), database.clone()),
        ("REDIS_URL".into(), services.redis_url.expose().into()),
        ("REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
        ("ISSUER".into(), ISSUER.into()),
        (
            "KEY_ENCRYPTION_KEY".into(),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        ),
        ("ARGON2_MEMORY_KIB".into(), "1024".into()),
        ("ARGON2_ITERATIONS".into(), "1".into()),
        ("ADMIN_CLIENT_ID".into(), ADMIN_ID.into()),
        ("ADMIN_CLIENT_SECRET".into(), ADMIN_SECRET.into()),
        ("LOG_LEVEL".into(), "warn".into()),
        ("REQUEST_TIMEOUT".into(), "60s".into()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let config = Config::from_vars(&Vars::from_pairs(pairs)).expect("test config is valid");
    let app = Application::build(config).await.expect("the app builds");
    let port = app.port();
    let auth = app.auth();
    tokio::spawn(app.serve_until(std::future::pending()));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        auth,
        database: TestDatabase::new(database),
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

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Reply {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// POSTs a form to `path`, authenticating with HTTP Basic when `basic` is set.
    pub async fn form(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Reply {
        let mut req = self.client.post(self.url(path)).form(pairs);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        self.send(req).await
    }

    /// A token of the bootstrap admin client.
    pub async fn admin_token(&self) -> String {
        let body = self
            .form(
                "/oauth2/token",
                &[("grant_type", "client_credentials")],
                Some((ADMIN_ID, ADMIN_SECRET)),
            )
            .await
            .expect(StatusCode::OK);
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Creates a client through the admin API; returns `(id, secret)`.
    pub async fn create_client(&self, spec: Value) -> (String, String) {
        let token = self.admin_token().await;
        let body = self
            .post_json("/v1/admin/clients", &spec, Some(&token))
            .await
            .expect(StatusCode::CREATED);
        (
            body["clientId"].as_str().expect("clientId").to_owned(),
            body["clientSecret"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// A first-party confidential client allowed password and refresh grants.
    pub async fn first_party_client(&self) -> (String, String) {
        self.create_client(json!({
            "name": "mobile", "firstParty": true,
            "grantTypes": ["password", "refresh_token"], "scopes": ["read", "write", "openid"],
        }))
        .await
    }

    /// Registers a user; returns its id.
    pub async fn register(&self, email: &str, password: &str) -> String {
        let body = self
            .post_json(
                "/v1/users",
                &json!({"email": email, "password": password}),
                None,
            )
            .await
            .expect(StatusCode::CREATED);
        body["id"].as_str().expect("id").to_owned()
    }

    /// The password grant.
    pub async fn password_grant(
        &self,
        client: &(String, String),
        email: &str,
        password: &str,
    ) -> Reply {
        self.form(
            "/oauth2/token",
            &[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ],
            Some((&client.0, &client.1)),
        )
        .await
    }

    /// The refresh grant.
    pub async fn refresh(&self, client: &(String, String), token: &str) -> Reply {
        self.form(
            "/oauth2/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
            Some((&client.0, &client.1)),
        )
        .await
    }

    /// The first document of a collection of the test's database.
    pub async fn first(&self, collection: &str) -> mongodb::bson::Document {
        let client = BackingServices::load_or_panic()
            .mongodb()
            .await
            .expect("mongodb");
        client
            .database(self.database.name())
            .collection::<mongodb::bson::Document>(collection)
            .find_one(mongodb::bson::doc! {})
            .await
            .expect("find")
            .expect("a document")
    }

    /// Documents in a collection of the test's database.
    pub async fn count(&self, collection: &str) -> u64 {
        let client = BackingServices::load_or_panic()
            .mongodb()
            .await
            .expect("mongodb");
        client
            .database(self.database.name())
            .collection::<mongodb::bson::Document>(collection)
            .count_documents(mongodb::bson::doc! {})
            .await
            .expect("count")
    }
}

/// The payload of a JWT, decoded without verification (for assertions).
pub fn claims(jwt: &str) -> Value {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}
