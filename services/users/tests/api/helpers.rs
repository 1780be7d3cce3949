//! `spawn_app`: a real auth service and the user service on `127.0.0.1:0`, each with a
//! fresh database (auth also a Redis prefix), the user service with a fresh RabbitMQ
//! vhost, and request helpers.

use std::{sync::Arc, time::Duration};

use lapin::{
    Channel, Connection, ConnectionProperties, ExchangeKind,
    options::{BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::FieldTable,
};
use machina_devenv::{BackingServices, unique_database_name, unique_name, unique_redis_prefix};
use machina_kit::Vars;
pub use machina_testkit::Reply;
use machina_users::service::Users;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const ADMIN_ID: &str = "root";
pub const ADMIN_SECRET: &str = "root-secret-for-tests-only";
pub const ISSUER: &str = "http://issuer.test";
pub const EXCHANGE: &str = "test.changes";
pub const PASSWORD: &str = "correct horse battery";
/// Password of the RabbitMQ user a [`Broker::Late`] service logs in as.
const LATE_PASSWORD: &str = "late-user-password";

/// The traits schema every test runs with.
pub fn traits_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "age": {"type": "integer", "minimum": 13},
            "country": {"type": "string", "minLength": 2, "maxLength": 2}
        },
        "additionalProperties": false
    })
}

/// How the user service reaches RabbitMQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broker {
    /// A fresh vhost, created before the service starts.
    Up,
    /// The service logs in as a RabbitMQ user that does not exist yet, so it cannot
    /// connect until [`TestApp::start_broker`] creates it.
    Late,
}

/// A running pair of services.
pub struct TestApp {
    pub address: String,
    pub auth_address: String,
    pub client: reqwest::Client,
    pub users: Arc<Users>,
    pub vhost: String,
    /// Admin AMQP URL of the vhost (for the test's own queues).
    pub amqp_url: String,
    /// The RabbitMQ user of a [`Broker::Late`] service.
    late_user: Option<String>,
    databases: Vec<String>,
    schema_file: std::path::PathBuf,
    first_party: (String, String),
}

impl Drop for TestApp {
    /// Drops the databases and the vhost, also when the test failed (own thread and
    /// runtime: `Drop` cannot await).
    fn drop(&mut self) {
        let databases = std::mem::take(&mut self.databases);
        let vhost = std::mem::take(&mut self.vhost);
        let late_user = self.late_user.take();
        let _ = std::fs::remove_file(&self.schema_file);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let services = BackingServices::load().ok()?;
                if let Ok(management) = services.management() {
                    let _ = management.delete_vhost(&vhost).await;
                    if let Some(user) = late_user {
                        let _ = management.delete_user(&user).await;
                    }
                }
                let client = services.mongodb().await.ok()?;
                for db in databases {
                    let _ = client.database(&db).drop().await;
                }
                Some(())
            })
        });
        let _ = dropped.join();
    }
}

/// The AMQP URL of `vhost` on the dev broker.
fn vhost_url(base: &str, vhost: &str) -> String {
    let start = base.find("://").map_or(0, |i| i + 3);
    let end = base[start..]
        .find(['/', '?'])
        .map_or(base.len(), |i| start + i);
    format!("{}/{vhost}", &base[..end])
}

/// Starts auth, then the user service pointed at it.
pub async fn spawn_app(broker: Broker) -> TestApp {
    let services = BackingServices::load_or_panic();
    if let Err(e) = services.mongodb().await {
        panic!("{e}");
    }
    if let Err(e) = services.redis().await {
        panic!("{e}");
    }
    let auth_db = unique_database_name("users_auth");
    let rbac = std::env::temp_dir().join(format!("{}.json", unique_name("users-rbac")));
    std::fs::write(&rbac, r#"{"admin": ["users:admin"]}"#).expect("rbac file");
    let auth_pairs: Vec<(String, String)> = vec![
        ("LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("MONGODB_URI".into(), services.mongodb_uri.expose().into()),
        ("MONGODB_DATABASE".into(), auth_db.clone()),
        ("REDIS_URL".into(), services.redis_url.expose().into()),
        ("REDIS_KEY_PREFIX".into(), unique_redis_prefix("users_auth")),
        ("ISSUER".into(), ISSUER.into()),
        ("ARGON2_MEMORY_KIB".into(), "1024".into()),
        ("ARGON2_ITERATIONS".into(), "1".into()),
        ("ADMIN_CLIENT_ID".into(), ADMIN_ID.into()),
        ("ADMIN_CLIENT_SECRET".into(), ADMIN_SECRET.into()),
        ("RBAC_CONFIG".into(), rbac.display().to_string()),
        ("LOG_LEVEL".into(), "error".into()),
        ("REQUEST_TIMEOUT".into(), "60s".into()),
    ];
    let auth_config = machina_auth::Config::from_vars(&Vars::from_pairs(auth_pairs))
        .expect("auth test config is valid");
    let auth = machina_auth::Application::build(auth_config)
        .await
        .expect("auth builds");
    let _ = std::fs::remove_file(&rbac);
    let auth_address = format!("http://127.0.0.1:{}", auth.port());
    tokio::spawn(auth.serve_until(std::future::pending()));

    let vhost = services
        .isolated_vhost("users")
        .await
        .expect("vhost (devenv/up.sh)")
        .name;
    let amqp_url = vhost_url(services.amqp_url.expose(), &vhost);
    let late_user = (broker == Broker::Late).then(|| unique_name("users-late"));
    let service_amqp_url = match &late_user {
        Some(user) => {
            let address = services.amqp_address();
            let host = address
                .split_once("://")
                .map_or(address.as_str(), |(_, h)| h);
            format!("amqp://{user}:{LATE_PASSWORD}@{host}/{vhost}")
        }
        None => amqp_url.clone(),
    };
    let database = unique_database_name("users");
    let schema_file = std::env::temp_dir().join(format!("{}.json", unique_name("traits")));
    std::fs::write(&schema_file, traits_schema().to_string()).expect("schema file");
    let pairs: Vec<(String, String)> = vec![
        ("LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("MONGODB_URI".into(), services.mongodb_uri.expose().into()),
        ("MONGODB_DATABASE".into(), database.clone()),
        ("AMQP_URL".into(), service_amqp_url),
        ("CHANGES_EXCHANGE".into(), EXCHANGE.into()),
        ("AUTH_URL".into(), auth_address.clone()),
        (
            "JWT_JWKS_URL".into(),
            format!("{auth_address}/.well-known/jwks.json"),
        ),
        ("JWT_ISSUER".into(), ISSUER.into()),
        ("TRAITS_SCHEMA".into(), schema_file.display().to_string()),
        ("PREFERENCES_MAX_BYTES".into(), "256".into()),
        ("OUTBOX_POLL".into(), "200ms".into()),
        ("LOG_LEVEL".into(), "error".into()),
        ("REQUEST_TIMEOUT".into(), "60s".into()),
    ];
    let config = machina_users::Config::from_vars(&Vars::from_pairs(pairs))
        .expect("users test config is valid");
    let app = machina_users::Application::build(config)
        .await
        .expect("users builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let users = app.users();
    tokio::spawn(app.serve_until(std::future::pending()));
    let mut test = TestApp {
        address,
        auth_address,
        client: reqwest::Client::new(),
        users,
        vhost,
        amqp_url,
        late_user,
        databases: vec![database, auth_db],
        schema_file,
        first_party: (String::new(), String::new()),
    };
    test.first_party = test.create_first_party_client().await;
    test
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::send(request).await
    }

    /// `method path` with an optional JSON body and bearer token.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(reqwest::Method::GET, path, None, Some(token))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value, token: &str) -> Reply {
        self.call(reqwest::Method::PATCH, path, Some(body), Some(token))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value, token: &str) -> Reply {
        self.call(reqwest::Method::PUT, path, Some(body), Some(token))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(reqwest::Method::DELETE, path, None, Some(token))
            .await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>, token: Option<&str>) -> Reply {
        self.call(reqwest::Method::POST, path, body, token).await
    }

    /// `POST /v1/users/register`.
    pub async fn register_raw(&self, body: &Value) -> Reply {
        self.post("/v1/users/register", Some(body), None).await
    }

    /// Registers `name` (`<name>@example.com`, username `name`); returns the id.
    pub async fn register(&self, name: &str) -> String {
        let body = self
            .register_raw(&json!({
                "email": format!("{name}@example.com"), "username": name,
                "password": PASSWORD, "displayName": format!("{name} display"),
                "traits": {"country": "FR"},
            }))
            .await
            .expect(StatusCode::CREATED);
        body["id"].as_str().expect("id").to_owned()
    }

    /// Registers `name` and signs in; returns `(id, token)`.
    pub async fn user(&self, name: &str) -> (String, String) {
        let id = self.register(name).await;
        let token = self.token(&format!("{name}@example.com"), PASSWORD).await;
        (id, token)
    }

    /// An access token from auth's password grant.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let reply = self.password_grant(email, password).await;
        let body = reply.expect(StatusCode::OK);
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Auth's password grant.
    pub async fn password_grant(&self, email: &str, password: &str) -> Reply {
        let (id, secret) = &self.first_party;
        let req = self
            .client
            .post(format!("{}/oauth2/token", self.auth_address))
            .basic_auth(id, Some(secret))
            .form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ]);
        self.send(req).await
    }

    /// A token of the bootstrap admin client (roles `admin` → `users:admin`).
    pub async fn admin_token(&self) -> String {
        let req = self
            .client
            .post(format!("{}/oauth2/token", self.auth_address))
            .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
            .form(&[("grant_type", "client_credentials")]);
        let body = self.send(req).await.expect(StatusCode::OK);
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A token with this service's admin permission (`users:admin`) but not auth's:
    /// a `support` role granting only `users:admin`, on a new confidential client.
    pub async fn support_token(&self) -> String {
        let admin = self.admin_token().await;
        let req = self
            .client
            .put(format!("{}/v1/admin/roles/support", self.auth_address))
            .bearer_auth(&admin)
            .json(&json!({"permissions": ["users:admin"]}));
        self.send(req).await.expect(StatusCode::OK);
        let req = self
            .client
            .post(format!("{}/v1/admin/clients", self.auth_address))
            .bearer_auth(&admin)
            .json(&json!({
                "name": "support", "grantTypes": ["client_credentials"], "roles": ["support"],
            }));
        let client = self.send(req).await.expect(StatusCode::CREATED);
        let req = self
            .client
            .post(format!("{}/oauth2/token", self.auth_address))
            .basic_auth(
                client["clientId"].as_str().expect("clientId"),
                client["clientSecret"].as_str(),
            )
            .form(&[("grant_type", "client_credentials")]);
        let body = self.send(req).await.expect(StatusCode::OK);
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    async fn create_first_party_client(&self) -> (String, String) {
        let token = self.admin_token().await;
        let req = self
            .client
            .post(format!("{}/v1/admin/clients", self.auth_address))
            .bearer_auth(token)
            .json(&json!({
                "name": "app", "firstParty": true,
                "grantTypes": ["password"], "scopes": ["read"],
            }));
        let body = self.send(req).await.expect(StatusCode::CREATED);
        (
            body["clientId"].as_str().expect("clientId").to_owned(),
            body["clientSecret"]
                .as_str()
                .expect("clientSecret")
                .to_owned(),
        )
    }

    /// Registers credentials directly in auth (a registration whose profile was never stored).
    pub async fn auth_only_user(&self, email: &str, password: &str) -> String {
        let req = self
            .client
            .post(format!("{}/v1/users", self.auth_address))
            .json(&json!({"email": email, "password": password}));
        let body = self.send(req).await.expect(StatusCode::CREATED);
        body["id"].as_str().expect("id").to_owned()
    }

    /// Documents in a collection of the user service's database.
    pub async fn count(&self, collection: &str) -> u64 {
        let client = BackingServices::load_or_panic()
            .mongodb()
            .await
            .expect("mongodb");
        client
            .database(&self.databases[0])
            .collection::<mongodb::bson::Document>(collection)
            .count_documents(mongodb::bson::doc! {})
            .await
            .expect("count")
    }

    /// Waits until the relay has moved every staged event out of the profiles, so
    /// stored documents stop changing on their own.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !self.users.outbox.staged().await.expect("staged").is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the relay never caught up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The raw stored profile.
    pub async fn stored(&self, id: &str) -> Option<mongodb::bson::Document> {
        let client = BackingServices::load_or_panic()
            .mongodb()
            .await
            .expect("mongodb");
        client
            .database(&self.databases[0])
            .collection::<mongodb::bson::Document>("profiles")
            .find_one(mongodb::bson::doc! {"_id": id})
            .await
            .expect("find")
    }

    /// Creates the RabbitMQ user of a [`Broker::Late`] app, so the service can connect.
    pub async fn start_broker(&self) {
        let user = self.late_user.as_deref().expect("a Broker::Late app");
        let services = BackingServices::load_or_panic();
        let management = services.management().expect("management API");
        management
            .create_user(user, LATE_PASSWORD, "")
            .await
            .expect("user");
        management
            .set_permissions(&self.vhost, user, ".*", ".*", ".*")
            .await
            .expect("permissions");
    }

    /// A queue bound to every `user.*` event (declares the exchange like the service).
    pub async fn bind_queue(&self) -> Listener {
        let connection = Connection::connect(&self.amqp_url, ConnectionProperties::default())
            .await
            .expect("amqp connection");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .exchange_declare(
                EXCHANGE.into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("exchange");
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("queue");
        channel
            .queue_bind(
                queue.name().clone(),
                EXCHANGE.into(),
                "user.#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind");
        Listener {
            _connection: connection,
            channel,
            queue: queue.name().to_string(),
        }
    }
}

/// A bound queue.
pub struct Listener {
    _connection: Connection,
    channel: Channel,
    queue: String,
}

/// A received event.
#[derive(Debug)]
pub struct Received {
    pub routing_key: String,
    pub message_id: String,
    pub persistent: bool,
    pub body: Value,
}

impl Listener {
    /// The next message, waiting up to `patience`.
    pub async fn next(&self, patience: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let got = self
                .channel
                .basic_get(self.queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .expect("basic.get");
            if let Some(message) = got {
                let delivery = message.delivery;
                return Received {
                    routing_key: delivery.routing_key.to_string(),
                    message_id: delivery
                        .properties
                        .message_id()
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                    persistent: *delivery.properties.delivery_mode() == Some(2),
                    body: serde_json::from_slice(&delivery.data).expect("JSON event"),
                };
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no event within {patience:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
