//! The tests' Ed25519 signing key: tokens signed with it, its public half as PEM (for
//! `JWT_PUBLIC_KEY`) and as a JWKS served on loopback (for `JWT_JWKS_URL`).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{Json, Router, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The private key (tests only).
pub const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPoSXWIqUmCYzdi5S4Yjq9SE0RL7ImjsnPs4UAXNcRjg\n-----END PRIVATE KEY-----\n";
/// Its public half as PEM.
pub const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAOCcnR1F3wOCe6tqYyd7RFCJpBJABB8JG83WmhERXrm0=\n-----END PUBLIC KEY-----\n";
/// Its public half as the JWK `x` coordinate.
pub const PUBLIC_X: &str = "OCcnR1F3wOCe6tqYyd7RFCJpBJABB8JG83WmhERXrm0";
/// The key id tokens carry and the JWKS lists.
pub const KID: &str = "k1";

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A token over `claims` (given as is), signed with the test key under [`KID`].
pub fn sign(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.to_owned());
    let key = EncodingKey::from_ed_pem(PRIVATE_KEY.as_bytes()).expect("test key");
    jsonwebtoken::encode(&header, claims, &key).expect("token")
}

/// A token for `sub` valid ten minutes, with `extra` claims merged in (e.g. `scope`,
/// `permissions`, `aud`).
pub fn token(sub: &str, extra: Value) -> String {
    let mut claims = json!({ "sub": sub, "iat": now(), "exp": now() + 600 });
    if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        claims.extend(extra);
    }
    sign(&claims)
}

/// The JWKS listing the test key.
pub fn jwks() -> Value {
    json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": PUBLIC_X, "kid": KID, "alg": "EdDSA", "use": "sig" }] })
}

/// Serves [`jwks`] on `127.0.0.1:0`; returns its URL (`…/jwks.json`).
pub async fn spawn_jwks() -> String {
    let body = jwks();
    let router = Router::new().route("/jwks.json", get(move || async move { Json(body.clone()) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the JWKS server");
    let url = format!(
        "http://{}/jwks.json",
        listener.local_addr().expect("local address")
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}
