//! `spawn_app`: the service on `127.0.0.1:0` with a fresh database, a test
//! JWKS, signing keys and its own exchange; plus images made in code.

use std::{io::Cursor, sync::Arc};

use image::{ImageFormat, RgbImage, RgbaImage};
use machina_devenv::{BackingServices, unique_database_name, unique_name};
use machina_kit::Vars;
use machina_media::{Application, Config, Media};
use machina_testkit::{TestDatabase, keys};
use mongodb::bson::doc;
use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

/// The signing keys every test app gets (the first signs).
pub const SIGNING_KEYS: &str = "k2:second-secret,k1:first-secret";

/// A running service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub media: Arc<Media>,
    pub database: String,
    pub exchange: String,
    /// A token with `media:write`.
    pub writer: String,
    /// A valid token without `media:write`.
    pub reader: String,
    jwks: String,
    guard: TestDatabase,
}

pub use machina_testkit::keys::now;

/// A token for `sub` with `permissions`.
pub fn token(sub: &str, permissions: &[&str]) -> String {
    keys::token(sub, json!({ "permissions": permissions }))
}

/// Starts the service with a fresh database and exchange.
pub async fn spawn_app() -> TestApp {
    spawn_with(&[]).await
}

/// Starts the service with `extra` settings.
pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
    let database = unique_database_name("media");
    let exchange = unique_name("media_changes");
    let jwks = keys::spawn_jwks().await;
    start(database, exchange, jwks, extra).await
}

/// Starts a second instance on the same database and exchange (a restart).
pub async fn restart(app: &TestApp) -> TestApp {
    let mut again = start(
        app.database.clone(),
        app.exchange.clone(),
        app.jwks.clone(),
        &[],
    )
    .await;
    // Only the first instance drops the database.
    again.guard.disarm();
    again
}

async fn start(
    database: String,
    exchange: String,
    jwks: String,
    extra: &[(&str, &str)],
) -> TestApp {
    let services = BackingServices::load_or_panic();
    // Fail loudly (naming devenv/up.sh) when a server is down, instead of timing out later.
    if let Err(e) = services.mongodb().await {
        panic!("{e}");
    }
    if let Err(e) = services.amqp().await {
        panic!("{e}");
    }
    let mut pairs: Vec<(String, String)> = vec![
        ("LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("MONGODB_URI".into(), services.mongodb_uri.expose().into()),
        ("MONGODB_DATABASE".into(), database.clone()),
        ("AMQP_URL".into(), services.amqp_url.expose().into()),
        ("CHANGES_EXCHANGE".into(), exchange.clone()),
        ("JWT_JWKS_URL".into(), jwks.clone()),
        ("SIGNING_KEYS".into(), SIGNING_KEYS.into()),
        ("MAX_UPLOAD_BYTES".into(), "4MiB".into()),
        ("UPLOAD_CHUNK_BYTES".into(), "1MiB".into()),
        ("FFMPEG_PATH".into(), String::new()),
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
    let media = app.media();
    tokio::spawn(app.serve_until(std::future::pending()));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        media,
        guard: TestDatabase::new(database.clone()),
        database,
        exchange,
        writer: token("writer", &["media:write"]),
        reader: token("reader", &[]),
        jwks,
    }
}

/// A response: status, headers and body bytes.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        self.json()
    }

    /// Asserts a problem+json error with `status` and returns the body.
    #[track_caller]
    pub fn problem(&self, status: StatusCode) -> Value {
        let body = self.expect(status);
        assert_eq!(
            self.header("content-type"),
            "application/problem+json",
            "{body}"
        );
        assert_eq!(body["status"], status.as_u16(), "{body}");
        body
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            bytes: response.bytes().await.expect("body read").to_vec(),
        }
    }

    /// GET `path` with the reader token and `headers`.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(self.url(path)).bearer_auth(&self.reader);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request).await
    }

    /// Multipart upload of `bytes` as `filename` declared as `mime`.
    pub async fn upload(&self, bytes: Vec<u8>, filename: &str, mime: &str) -> Reply {
        let part = multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str(mime)
            .unwrap();
        let form = multipart::Form::new().part("file", part);
        let request = self
            .client
            .post(self.url("/v1/media"))
            .bearer_auth(&self.writer)
            .multipart(form);
        self.send(request).await
    }

    /// Uploads a generated image and returns its id.
    pub async fn upload_ok(&self, bytes: Vec<u8>, filename: &str, mime: &str) -> String {
        let body = self
            .upload(bytes, filename, mime)
            .await
            .expect(StatusCode::CREATED);
        body["id"].as_str().unwrap().to_owned()
    }

    /// Documents in `assets`, and files in the GridFS bucket.
    pub async fn stored_counts(&self) -> (u64, u64) {
        let db = self.media.store().mongo().client().database(&self.database);
        let assets = db
            .collection::<mongodb::bson::Document>("assets")
            .count_documents(doc! {})
            .await
            .unwrap();
        let files = db
            .collection::<mongodb::bson::Document>("media.files")
            .count_documents(doc! {})
            .await
            .unwrap();
        (assets, files)
    }
}

/// A noisy RGB image encoded as `format`.
pub fn image_bytes(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) as u8;
        image::Rgb([(x % 256) as u8, (y % 256) as u8, n])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A PNG with transparency.
pub fn rgba_png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, _| image::Rgba([200, 10, 10, (x % 256) as u8]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// An ELF header followed by junk: what a disguised executable looks like.
pub fn executable() -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    bytes.extend(std::iter::repeat_n(0x90u8, 4096));
    bytes
}
