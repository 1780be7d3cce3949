//! Gateways on `127.0.0.1:0` with a routes file, test tokens and a test JWKS server.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{Json, Router, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use machina_devenv::{BackingServices, unique_redis_prefix};
use machina_gateway::{Gateway, GatewayConfig, routes::SharedRoutes};
use machina_kit::Vars;
use serde_json::{Value, json};

/// Signing key `k1`, published in the test JWKS.
pub const KEY_1: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPoSXWIqUmCYzdi5S4Yjq9SE0RL7ImjsnPs4UAXNcRjg\n-----END PRIVATE KEY-----\n";
const KEY_1_X: &str = "OCcnR1F3wOCe6tqYyd7RFCJpBJABB8JG83WmhERXrm0";
/// A key the JWKS does not publish.
pub const KEY_2: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIItIDNoxkHXAL21Aj4BFkNuj7bQb7gwoujgHYQws9xYG\n-----END PRIVATE KEY-----\n";

pub const ISSUER: &str = "https://auth.machina.test";
pub const AUDIENCE: &str = "machina";

/// Serves `{"keys": [k1]}` at `/.well-known/jwks.json`; returns the URL.
pub async fn spawn_jwks() -> String {
    let jwks = json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": KEY_1_X, "kid": "k1", "alg": "EdDSA", "use": "sig" }] });
    let router = Router::new().route(
        "/.well-known/jwks.json",
        get(move || async move { Json(jwks.clone()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims of a valid token for `sub` with `scope`.
pub fn claims(sub: &str, scope: &str) -> Value {
    json!({
        "iss": ISSUER, "sub": sub, "aud": AUDIENCE, "exp": now() + 600, "iat": now(),
        "scope": scope, "roles": ["editor"], "permissions": ["echo.read"], "client_id": "web"
    })
}

/// Signs `claims` with `key` under key id `kid`.
pub fn sign(claims: &Value, key: &str, kid: &str) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ed_pem(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// A valid token for `sub` with `scope`.
pub fn token(sub: &str, scope: &str) -> String {
    sign(&claims(sub, scope), KEY_1, "k1")
}

/// A running gateway.
pub struct TestGateway {
    pub address: String,
    pub client: reqwest::Client,
    pub routes: SharedRoutes,
    _routes_dir: TempDir,
}

/// A directory removed when the test's gateway goes.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestGateway {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

/// The routes file every test gateway uses, pointing at `upstream`.
pub fn routes_file(upstream: &str) -> String {
    format!(
        r"
routes:
  - {{ name: open, prefix: /v1/open, rewrite: /v1/echo, upstream: '{upstream}', public: true }}
  - {{ name: secure, prefix: /v1/secure, rewrite: /v1/echo, upstream: '{upstream}', scopes: [echo:read], writeScopes: [echo:write] }}
  - {{ name: admin, prefix: /v1/admin, rewrite: /v1/echo, upstream: '{upstream}', permissions: [echo.admin], openapi: false }}
  - {{ name: slow, prefix: /v1/slow, rewrite: /v1/echo, upstream: '{upstream}', public: true, timeout: 300ms, openapi: false }}
  - {{ name: dead, prefix: /v1/dead, upstream: 'http://127.0.0.1:9', public: true, openapi: false }}
pipelines:
  - {{ namespace: shop, name: blog, endpoint: '{upstream}' }}
"
    )
}

/// Starts a gateway routing to `upstream` with `extra` settings; rate limits
/// live under `redis_prefix` (share it to share limits between gateways).
pub async fn spawn_gateway(
    upstream: &str,
    jwks: &str,
    redis_prefix: &str,
    extra: &[(&str, &str)],
) -> TestGateway {
    let services = BackingServices::load_or_panic();
    let dir = std::env::temp_dir().join(unique_redis_prefix("gw-routes").replace(':', "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("routes.yaml");
    std::fs::write(&file, routes_file(upstream)).unwrap();
    let routes_dir = TempDir(dir);
    let mut pairs: Vec<(String, String)> = [
        ("LISTEN_ADDR", "127.0.0.1:0"),
        ("LOG_FORMAT", "pretty"),
        ("REDIS_URL", services.redis_url.expose()),
        ("RATE_LIMIT_PREFIX", redis_prefix),
        ("RATE_LIMIT_PER_MINUTE", "1000"),
        ("JWT_JWKS_URL", jwks),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
        ("ROUTES_FILE", file.to_str().unwrap()),
        ("PIPELINE_DISCOVERY", "off"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        pairs.push(((*k).to_owned(), (*v).to_owned()));
    }
    let config = GatewayConfig::from_vars(&Vars::from_pairs(pairs)).expect("valid gateway config");
    let gateway = Gateway::build(config).await.expect("gateway builds");
    let routes = gateway.routes().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        gateway
            .serve(listener, std::future::pending())
            .await
            .unwrap()
    });
    TestGateway {
        address,
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap(),
        routes,
        _routes_dir: routes_dir,
    }
}

/// An upstream, a JWKS server and one gateway with its own rate-limit keys.
pub async fn setup(extra: &[(&str, &str)]) -> (crate::upstream::Upstream, TestGateway) {
    let upstream = crate::upstream::spawn_upstream().await;
    let jwks = spawn_jwks().await;
    let gateway = spawn_gateway(&upstream.url, &jwks, &unique_redis_prefix("gw"), extra).await;
    (upstream, gateway)
}

/// The JSON body, asserting the content type is problem+json.
pub async fn problem(response: reqwest::Response) -> Value {
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    response.json().await.unwrap()
}
