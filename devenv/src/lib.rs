//! Backing services for development and tests: where to find MongoDB, Redis
//! and RabbitMQ, how to connect to them, and how to isolate one test from
//! another so that tests can run in parallel against the same servers.
//!
//! The servers are started by `devenv/up.sh`, which writes their connection
//! settings to `.machina/backing.env` at the repository root.
//! [`BackingServices::load`] reads the same settings from the process
//! environment first and falls back to that file.
//!
//! Every helper fails loudly: when a setting is missing or a server cannot be
//! reached, the error names the service, its address (never a password) and
//! the command to run, `devenv/up.sh`. Tests must not skip in that case.

#![warn(missing_docs)]

mod partition;

pub use partition::Partition;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The command that starts the backing services and writes their settings.
pub const UP_COMMAND: &str = "devenv/up.sh";

/// Path of the settings file, relative to the repository root.
pub const ENV_FILE: &str = ".machina/backing.env";

/// Environment variable: admin MongoDB URI with credentials and `authSource=admin`.
pub const MONGODB_URI: &str = "MACHINA_MONGODB_URI";
/// Environment variable: Redis URL with password.
pub const REDIS_URL: &str = "MACHINA_REDIS_URL";
/// Environment variable: AMQP URL of the default vhost, with credentials.
pub const AMQP_URL: &str = "MACHINA_AMQP_URL";
/// Environment variable: base URL of the RabbitMQ management HTTP API.
pub const RABBITMQ_MANAGEMENT_URL: &str = "MACHINA_RABBITMQ_MANAGEMENT_URL";
/// Environment variable: RabbitMQ administrator user name.
pub const RABBITMQ_USERNAME: &str = "MACHINA_RABBITMQ_USERNAME";
/// Environment variable: RabbitMQ administrator password.
pub const RABBITMQ_PASSWORD: &str = "MACHINA_RABBITMQ_PASSWORD";

/// Every variable that [`BackingServices::load`] needs.
pub const REQUIRED_VARS: [&str; 6] = [
    MONGODB_URI,
    REDIS_URL,
    AMQP_URL,
    RABBITMQ_MANAGEMENT_URL,
    RABBITMQ_USERNAME,
    RABBITMQ_PASSWORD,
];

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Errors from loading settings, connecting, or the RabbitMQ management API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required setting is neither in the environment nor in the settings file.
    #[error(
        "backing-services setting {var} is not set (looked in the process environment and in {looked_in}); \
         run `{UP_COMMAND}` from the repository root to start MongoDB, Redis and RabbitMQ and write {ENV_FILE}"
    )]
    Missing {
        /// The missing variable.
        var: &'static str,
        /// Where it was looked for.
        looked_in: String,
    },
    /// The settings file could not be read.
    #[error("cannot read {}: {source}; run `{UP_COMMAND}` to rewrite it", path.display())]
    Read {
        /// The settings file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of the settings file is not `KEY=value`.
    #[error("{origin}:{line}: expected KEY=value; run `{UP_COMMAND}` to rewrite the file")]
    Parse {
        /// The settings file (or other origin) being parsed.
        origin: String,
        /// The 1-based line number.
        line: usize,
    },
    /// A setting is present but unusable (for example, not a URL).
    #[error("{var} is invalid: {reason}; run `{UP_COMMAND}` to rewrite {ENV_FILE}")]
    Invalid {
        /// The invalid variable.
        var: &'static str,
        /// Why it is invalid (never the value itself).
        reason: String,
    },
    /// A server did not answer or refused our credentials.
    #[error(
        "cannot use {service} at {address}: {detail}; is it running? start the backing services with `{UP_COMMAND}`"
    )]
    Unreachable {
        /// The service, e.g. "MongoDB".
        service: &'static str,
        /// Where it was expected, without credentials.
        address: String,
        /// What went wrong.
        detail: String,
    },
    /// The RabbitMQ management API answered with an unexpected status.
    #[error("RabbitMQ management API {method} {url} answered {status}: {body}")]
    Management {
        /// The HTTP method.
        method: &'static str,
        /// The request URL (no credentials).
        url: String,
        /// The HTTP status.
        status: u16,
        /// The response body, shortened.
        body: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A secret string (password or URL with credentials) that `Debug` never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself; pass it on, never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Connection settings of the backing services started by `devenv/up.sh`.
#[derive(Debug, Clone)]
pub struct BackingServices {
    /// Admin MongoDB URI (with credentials and `authSource=admin`).
    pub mongodb_uri: Secret,
    /// Redis URL (with password).
    pub redis_url: Secret,
    /// AMQP URL of the default vhost `/` (with credentials).
    pub amqp_url: Secret,
    /// Base URL of the RabbitMQ management HTTP API, e.g. `http://127.0.0.1:15672`.
    pub rabbitmq_management_url: String,
    /// RabbitMQ administrator user name.
    pub rabbitmq_username: String,
    /// RabbitMQ administrator password.
    pub rabbitmq_password: Secret,
}

impl BackingServices {
    /// Loads the settings: each variable from the process environment, else
    /// from `.machina/backing.env` found above `CARGO_MANIFEST_DIR` or the
    /// current directory.
    pub fn load() -> Result<Self> {
        let file = find_env_file();
        let (file_vars, looked_in) = match &file {
            Some(path) => {
                let contents = std::fs::read_to_string(path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                let vars = parse_env(&contents, &path.display().to_string())?;
                (vars, path.display().to_string())
            }
            None => (
                HashMap::new(),
                format!(
                    "{ENV_FILE} (not found in any parent of {})",
                    search_roots_display()
                ),
            ),
        };
        Self::from_lookup(
            |var| {
                std::env::var(var)
                    .ok()
                    .or_else(|| file_vars.get(var).cloned())
            },
            &looked_in,
        )
    }

    /// Builds the settings from a lookup function; `looked_in` names where
    /// the values came from, for the error message.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>, looked_in: &str) -> Result<Self> {
        let get = |var: &'static str| -> Result<String> {
            match lookup(var) {
                Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
                _ => Err(Error::Missing {
                    var,
                    looked_in: looked_in.to_owned(),
                }),
            }
        };
        let services = Self {
            mongodb_uri: Secret::new(get(MONGODB_URI)?),
            redis_url: Secret::new(get(REDIS_URL)?),
            amqp_url: Secret::new(get(AMQP_URL)?),
            rabbitmq_management_url: get(RABBITMQ_MANAGEMENT_URL)?
                .trim_end_matches('/')
                .to_owned(),
            rabbitmq_username: get(RABBITMQ_USERNAME)?,
            rabbitmq_password: Secret::new(get(RABBITMQ_PASSWORD)?),
        };
        for (var, url) in [
            (MONGODB_URI, services.mongodb_uri.expose()),
            (REDIS_URL, services.redis_url.expose()),
            (AMQP_URL, services.amqp_url.expose()),
            (
                RABBITMQ_MANAGEMENT_URL,
                services.rabbitmq_management_url.as_str(),
            ),
        ] {
            reqwest::Url::parse(url).map_err(|e| Error::Invalid {
                var,
                reason: format!("not a URL ({e})"),
            })?;
        }
        Ok(services)
    }

    /// Like [`BackingServices::load`], but panics with the error (which names
    /// `devenv/up.sh`); for tests, which must fail rather than skip.
    #[track_caller]
    pub fn load_or_panic() -> Self {
        match Self::load() {
            Ok(services) => services,
            Err(e) => panic!("{e}"),
        }
    }

    /// MongoDB address without credentials, e.g. `mongodb://127.0.0.1:27017`.
    pub fn mongodb_address(&self) -> String {
        redacted_address(self.mongodb_uri.expose())
    }

    /// Redis address without credentials, e.g. `redis://127.0.0.1:6380`.
    pub fn redis_address(&self) -> String {
        redacted_address(self.redis_url.expose())
    }

    /// AMQP address without credentials, e.g. `amqp://127.0.0.1:5672`.
    pub fn amqp_address(&self) -> String {
        redacted_address(self.amqp_url.expose())
    }

    /// Connects to MongoDB as the admin user and checks it answers `ping`.
    pub async fn mongodb(&self) -> Result<mongodb::Client> {
        connect_mongodb(self.mongodb_uri.expose(), &self.mongodb_address()).await
    }

    /// Connects to MongoDB with the admin URI's host but other credentials
    /// (`authSource` is `auth_db`), and checks it answers `ping`.
    pub async fn mongodb_as(
        &self,
        user: &str,
        password: &str,
        auth_db: &str,
    ) -> Result<mongodb::Client> {
        let address = self.mongodb_address();
        let mut options = mongodb_options(self.mongodb_uri.expose(), &address).await?;
        options.credential = Some(
            mongodb::options::Credential::builder()
                .username(user.to_owned())
                .password(password.to_owned())
                .source(auth_db.to_owned())
                .build(),
        );
        let client = mongodb::Client::with_options(options)
            .map_err(|e| unreachable("MongoDB", &address, e))?;
        ping_mongodb(&client, auth_db, &address).await?;
        Ok(client)
    }

    /// Opens a multiplexed Redis connection and checks it answers `PING`.
    pub async fn redis(&self) -> Result<redis::aio::MultiplexedConnection> {
        let address = self.redis_address();
        let client = redis::Client::open(self.redis_url.expose())
            .map_err(|e| unreachable("Redis", &address, e))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(REQUEST_TIMEOUT));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| unreachable("Redis", &address, e))?;
        let pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| unreachable("Redis", &address, e))?;
        if pong != "PONG" {
            return Err(unreachable(
                "Redis",
                &address,
                format!("PING answered {pong:?}"),
            ));
        }
        Ok(conn)
    }

    /// Opens an AMQP connection to the default vhost `/`.
    pub async fn amqp(&self) -> Result<lapin::Connection> {
        connect_amqp(self.amqp_url.expose(), &self.amqp_address()).await
    }

    /// A client for the RabbitMQ management HTTP API, as the admin user.
    pub fn management(&self) -> Result<Management> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| {
                unreachable("RabbitMQ management API", &self.rabbitmq_management_url, e)
            })?;
        Ok(Management {
            http,
            base_url: self.rabbitmq_management_url.clone(),
            username: self.rabbitmq_username.clone(),
            password: self.rabbitmq_password.clone(),
        })
    }

    /// Creates a fresh vhost named after `prefix` (made unique), grants the
    /// admin user full permissions on it, and returns it. Delete it with
    /// [`Vhost::delete`] when the test is done.
    pub async fn isolated_vhost(&self, prefix: &str) -> Result<Vhost> {
        let management = self.management()?;
        let name = unique_name(prefix);
        management.create_vhost(&name).await?;
        management
            .set_permissions(&name, &self.rabbitmq_username, ".*", ".*", ".*")
            .await?;
        Ok(Vhost {
            amqp_url: Secret::new(amqp_url_for_vhost(self.amqp_url.expose(), &name)),
            address: format!("{}/{}", self.amqp_address(), encode_component(&name)),
            name,
            management,
        })
    }
}

/// A RabbitMQ vhost created for one test by [`BackingServices::isolated_vhost`].
#[derive(Debug)]
pub struct Vhost {
    /// The vhost name.
    pub name: String,
    /// AMQP URL of this vhost, with the admin credentials.
    pub amqp_url: Secret,
    address: String,
    management: Management,
}

impl Vhost {
    /// Opens an AMQP connection to this vhost.
    pub async fn connect(&self) -> Result<lapin::Connection> {
        connect_amqp(self.amqp_url.expose(), &self.address).await
    }

    /// Deletes the vhost with everything in it.
    pub async fn delete(&self) -> Result<()> {
        self.management.delete_vhost(&self.name).await
    }
}

/// A small client for the RabbitMQ management HTTP API (admin credentials).
#[derive(Debug, Clone)]
pub struct Management {
    http: reqwest::Client,
    base_url: String,
    username: String,
    password: Secret,
}

impl Management {
    /// Base URL of the API, e.g. `http://127.0.0.1:15672`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// GETs `/api/{path}`; `None` when the object does not exist (404).
    pub async fn get(&self, path: &str) -> Result<Option<serde_json::Value>> {
        let url = format!("{}/api/{path}", self.base_url);
        let response = self.send("GET", self.http.get(&url), &url).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = check_status("GET", &url, response).await?;
        let value = response
            .json()
            .await
            .map_err(|e| unreachable("RabbitMQ management API", &url, e))?;
        Ok(Some(value))
    }

    /// PUTs a JSON body to `/api/{path}` (create or update).
    pub async fn put(&self, path: &str, body: &serde_json::Value) -> Result<()> {
        let url = format!("{}/api/{path}", self.base_url);
        let response = self
            .send("PUT", self.http.put(&url).json(body), &url)
            .await?;
        check_status("PUT", &url, response).await.map(drop)
    }

    /// DELETEs `/api/{path}`; a missing object counts as deleted.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let url = format!("{}/api/{path}", self.base_url);
        let response = self.send("DELETE", self.http.delete(&url), &url).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        check_status("DELETE", &url, response).await.map(drop)
    }

    /// Creates a vhost (no-op if it exists).
    pub async fn create_vhost(&self, name: &str) -> Result<()> {
        self.put(
            &format!("vhosts/{}", encode_component(name)),
            &serde_json::json!({}),
        )
        .await
    }

    /// Deletes a vhost and everything in it (no-op if it does not exist).
    pub async fn delete_vhost(&self, name: &str) -> Result<()> {
        self.delete(&format!("vhosts/{}", encode_component(name)))
            .await
    }

    /// Creates or updates a user with a password and tags (comma-separated, may be empty).
    pub async fn create_user(&self, name: &str, password: &str, tags: &str) -> Result<()> {
        self.put(
            &format!("users/{}", encode_component(name)),
            &serde_json::json!({ "password": password, "tags": tags }),
        )
        .await
    }

    /// Deletes a user (no-op if it does not exist).
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        self.delete(&format!("users/{}", encode_component(name)))
            .await
    }

    /// Sets a user's configure/write/read permission regexes on a vhost.
    pub async fn set_permissions(
        &self,
        vhost: &str,
        user: &str,
        configure: &str,
        write: &str,
        read: &str,
    ) -> Result<()> {
        self.put(
            &format!(
                "permissions/{}/{}",
                encode_component(vhost),
                encode_component(user)
            ),
            &serde_json::json!({ "configure": configure, "write": write, "read": read }),
        )
        .await
    }

    async fn send(
        &self,
        method: &'static str,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response> {
        request
            .basic_auth(&self.username, Some(self.password.expose()))
            .send()
            .await
            .map_err(|e| Error::Unreachable {
                service: "RabbitMQ management API",
                address: self.base_url.clone(),
                detail: format!("{method} {url}: {e}"),
            })
    }
}

async fn check_status(
    method: &'static str,
    url: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let mut body = response.text().await.unwrap_or_default();
    body.truncate(500);
    Err(Error::Management {
        method,
        url: url.to_owned(),
        status: status.as_u16(),
        body,
    })
}

/// A name unique to this process and call: `prefix` (sanitised to
/// `[A-Za-z0-9_-]`, at most 24 characters) plus process id, time and a counter.
/// Valid as a MongoDB database name, a Redis key part and a RabbitMQ vhost.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or_default();
    let mut clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    if clean.is_empty() {
        clean.push_str("test");
    }
    format!("{clean}_{:x}_{nanos:x}_{n}", std::process::id())
}

/// A fresh MongoDB database name for one test, e.g. `t_orders_1a2b_...`.
pub fn unique_database_name(prefix: &str) -> String {
    unique_name(&format!("t_{prefix}"))
}

/// A fresh Redis key prefix for one test, ending in `:`, e.g. `test:orders_1a2b_...:`.
pub fn unique_redis_prefix(prefix: &str) -> String {
    format!("test:{}:", unique_name(prefix))
}

/// Parses `KEY=value` lines (blank lines and `#` comments ignored, optional
/// `export ` prefix, optional matching quotes around the value, no expansion).
pub fn parse_env(contents: &str, origin: &str) -> Result<HashMap<String, String>> {
    let mut vars = HashMap::new();
    for (index, raw) in contents.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let parse_error = || Error::Parse {
            origin: origin.to_owned(),
            line: index + 1,
        };
        let (key, value) = line.split_once('=').ok_or_else(parse_error)?;
        let key = key.trim();
        let valid_key = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_key {
            return Err(parse_error());
        }
        let value = value.trim();
        let value = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(open, close)| {
                value
                    .strip_prefix(*open)
                    .and_then(|v| v.strip_suffix(*close))
            })
            .unwrap_or(value);
        vars.insert(key.to_owned(), value.to_owned());
    }
    Ok(vars)
}

/// Finds `.machina/backing.env` in `CARGO_MANIFEST_DIR` (at run time, then
/// this crate's own at build time) or the current directory, or any parent.
pub fn find_env_file() -> Option<PathBuf> {
    search_roots()
        .iter()
        .flat_map(|root| root.ancestors())
        .map(|dir| dir.join(ENV_FILE))
        .find(|candidate| candidate.is_file())
}

fn search_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    let candidates = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
        std::env::current_dir().ok(),
    ];
    for dir in candidates.into_iter().flatten() {
        if !roots.contains(&dir) {
            roots.push(dir);
        }
    }
    roots
}

fn search_roots_display() -> String {
    search_roots()
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `scheme://host:port` of a URL, without credentials, path or query.
pub fn redacted_address(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("?");
            match parsed.port() {
                Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
                None => format!("{}://{host}", parsed.scheme()),
            }
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

/// Replaces the vhost (path) of an AMQP URL.
fn amqp_url_for_vhost(amqp_url: &str, vhost: &str) -> String {
    let authority_start = amqp_url.find("://").map_or(0, |i| i + 3);
    let authority_end = amqp_url[authority_start..]
        .find(['/', '?'])
        .map_or(amqp_url.len(), |i| authority_start + i);
    format!("{}/{}", &amqp_url[..authority_end], encode_component(vhost))
}

/// Percent-encodes everything but unreserved URL characters.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn unreachable(service: &'static str, address: &str, detail: impl fmt::Display) -> Error {
    Error::Unreachable {
        service,
        address: address.to_owned(),
        detail: detail.to_string(),
    }
}

async fn mongodb_options(uri: &str, address: &str) -> Result<mongodb::options::ClientOptions> {
    let mut options = mongodb::options::ClientOptions::parse(uri)
        .await
        .map_err(|e| Error::Invalid {
            var: MONGODB_URI,
            reason: format!("cannot parse it as a MongoDB URI for {address}: {e}"),
        })?;
    options.connect_timeout = Some(CONNECT_TIMEOUT);
    options.server_selection_timeout = Some(SERVER_SELECTION_TIMEOUT);
    options
        .app_name
        .get_or_insert_with(|| "machina-devenv".to_owned());
    Ok(options)
}

async fn connect_mongodb(uri: &str, address: &str) -> Result<mongodb::Client> {
    let options = mongodb_options(uri, address).await?;
    let client =
        mongodb::Client::with_options(options).map_err(|e| unreachable("MongoDB", address, e))?;
    ping_mongodb(&client, "admin", address).await?;
    Ok(client)
}

async fn ping_mongodb(client: &mongodb::Client, db: &str, address: &str) -> Result<()> {
    client
        .database(db)
        .run_command(mongodb::bson::doc! { "ping": 1 })
        .await
        .map(drop)
        .map_err(|e| unreachable("MongoDB", address, e))
}

async fn connect_amqp(url: &str, address: &str) -> Result<lapin::Connection> {
    let connect = lapin::Connection::connect(
        url,
        lapin::ConnectionProperties::default().with_connection_name("machina-devenv".into()),
    );
    match tokio::time::timeout(SERVER_SELECTION_TIMEOUT, connect).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(e)) => Err(unreachable("RabbitMQ (AMQP)", address, e)),
        Err(_) => Err(unreachable(
            "RabbitMQ (AMQP)",
            address,
            format!("no connection within {SERVER_SELECTION_TIMEOUT:?}"),
        )),
    }
}

/// Returns the repository root: the directory that holds `.machina/` or,
/// failing that, the parent of this crate's directory.
pub fn repo_root() -> PathBuf {
    find_env_file()
        .and_then(|file| file.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| {
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().unwrap_or(manifest).to_path_buf()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# Written by devenv/up.sh
MACHINA_MONGODB_URI=mongodb://root:pw1@127.0.0.1:27017/?authSource=admin

export MACHINA_REDIS_URL=redis://:pw2@127.0.0.1:6380/
MACHINA_AMQP_URL=\"amqp://machina:pw3@127.0.0.1:5672/%2f\"
MACHINA_RABBITMQ_MANAGEMENT_URL=http://127.0.0.1:15672/
MACHINA_RABBITMQ_USERNAME='machina'
MACHINA_RABBITMQ_PASSWORD=pw3
";

    fn from_map(vars: &HashMap<String, String>) -> Result<BackingServices> {
        BackingServices::from_lookup(|k| vars.get(k).cloned(), "test input")
    }

    #[test]
    fn parses_env_file_with_comments_export_and_quotes() {
        let vars = parse_env(SAMPLE, "sample").unwrap();
        assert_eq!(vars.len(), 6);
        assert_eq!(vars[REDIS_URL], "redis://:pw2@127.0.0.1:6380/");
        assert_eq!(vars[AMQP_URL], "amqp://machina:pw3@127.0.0.1:5672/%2f");
        assert_eq!(vars[RABBITMQ_USERNAME], "machina");
        let services = from_map(&vars).unwrap();
        assert_eq!(services.rabbitmq_management_url, "http://127.0.0.1:15672");
        assert_eq!(services.mongodb_address(), "mongodb://127.0.0.1:27017");
        assert_eq!(services.redis_address(), "redis://127.0.0.1:6380");
        assert_eq!(services.amqp_address(), "amqp://127.0.0.1:5672");
    }

    #[test]
    fn malformed_line_is_an_error_with_its_line_number() {
        let err = parse_env("A=1\nnot a setting\n", "x.env").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("x.env:2"), "{message}");
        assert!(message.contains(UP_COMMAND), "{message}");
        assert!(parse_env("1BAD=x\n", "x.env").is_err());
    }

    #[test]
    fn missing_variable_error_names_the_variable_and_the_command() {
        let mut vars = parse_env(SAMPLE, "sample").unwrap();
        vars.remove(AMQP_URL);
        let err = from_map(&vars).unwrap_err();
        assert!(
            matches!(err, Error::Missing { var: AMQP_URL, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("MACHINA_AMQP_URL"), "{message}");
        assert!(message.contains("`devenv/up.sh`"), "{message}");
        assert!(message.contains("test input"), "{message}");

        let empty = from_map(&HashMap::new()).unwrap_err();
        assert!(
            matches!(
                empty,
                Error::Missing {
                    var: MONGODB_URI,
                    ..
                }
            ),
            "{empty:?}"
        );
    }

    #[test]
    fn invalid_url_is_reported_without_its_value() {
        let mut vars = parse_env(SAMPLE, "sample").unwrap();
        vars.insert(REDIS_URL.to_owned(), "secret-not-a-url".to_owned());
        let message = from_map(&vars).unwrap_err().to_string();
        assert!(message.contains(REDIS_URL), "{message}");
        assert!(!message.contains("secret-not-a-url"), "{message}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let services = from_map(&parse_env(SAMPLE, "sample").unwrap()).unwrap();
        let debug = format!("{services:?}");
        for secret in ["pw1", "pw2", "pw3"] {
            assert!(!debug.contains(secret), "{secret} leaked in {debug}");
        }
        assert!(debug.contains("machina"), "{debug}");
        assert_eq!(services.rabbitmq_password.expose(), "pw3");
    }

    #[test]
    fn unique_names_are_unique_and_valid() {
        let a = unique_name("my test/db.name");
        let b = unique_name("my test/db.name");
        assert_ne!(a, b);
        assert!(a.starts_with("my_test_db_name_"), "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{a}"
        );
        let db = unique_database_name(&"x".repeat(100));
        assert!(db.len() < 64, "{db}");
        let prefix = unique_redis_prefix("cache");
        assert!(
            prefix.starts_with("test:cache_") && prefix.ends_with(':'),
            "{prefix}"
        );
    }

    #[test]
    fn amqp_url_for_vhost_replaces_the_path() {
        assert_eq!(
            amqp_url_for_vhost("amqp://u:p@127.0.0.1:5672/%2f", "t_1"),
            "amqp://u:p@127.0.0.1:5672/t_1"
        );
        assert_eq!(
            amqp_url_for_vhost("amqp://u:p@127.0.0.1:5672", "a/b"),
            "amqp://u:p@127.0.0.1:5672/a%2Fb"
        );
    }

    #[test]
    fn unreachable_error_names_service_address_and_command() {
        let message =
            unreachable("Redis", "redis://127.0.0.1:6380", "connection refused").to_string();
        assert!(
            message.contains("Redis at redis://127.0.0.1:6380"),
            "{message}"
        );
        assert!(message.contains("devenv/up.sh"), "{message}");
    }
}
