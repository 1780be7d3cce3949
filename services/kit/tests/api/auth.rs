//! JWT verification: configured key, JWKS with rotation, and every rejection
//! as a 401 problem+json that names the problem.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{Router, extract::State, middleware::from_fn_with_state, routing::get};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use machina_kit::{
    Error, Metrics, Vars,
    auth::{Claims, JwtVerifier, require_jwt},
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::helpers::{TestApp, free_addr, problem, spawn_router};

/// Test-only Ed25519 keys (generated for these tests, used nowhere else).
const KEY_A: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEII23cGqVdJnQq3mASO5dXqmXfA9/IUGh2Dl71UVP8KLB\n-----END PRIVATE KEY-----\n";
const KEY_A_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAcUohjyLb3VzHVLwsIePDPJIZUNjRmYd+Dqo+0kbdEKU=\n-----END PUBLIC KEY-----\n";
const KEY_A_X: &str = "cUohjyLb3VzHVLwsIePDPJIZUNjRmYd-Dqo-0kbdEKU";
const KEY_B: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOwJ75kEhzeAnoFh88Eh5ovohGviU4U0QpC2c8tlsRQV\n-----END PRIVATE KEY-----\n";
const KEY_B_X: &str = "P3ycxWpF0SXAr3cMIEHyLO_rGhCw_YnqUPRzAby5KqE";
const HMAC_SECRET: &[u8] = b"test-only-hmac-secret";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn claims(extra: Value) -> Value {
    let mut claims =
        json!({ "sub": "user-1", "exp": now() + 600, "scope": "templates:read templates:write" });
    if let (Some(base), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    claims
}

fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(HMAC_SECRET),
    )
    .expect("sign")
}

fn eddsa(pem: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_ed_pem(pem.as_bytes()).expect("test key");
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

fn jwk(kid: &str, x: &str) -> Value {
    json!({ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig" })
}

/// A service whose `/me` needs a token and echoes the subject and a scope check.
async fn protected(verifier: JwtVerifier) -> TestApp {
    let router = Router::new()
        .route(
            "/me",
            get(|c: Claims| async move { format!("{} {}", c.sub, c.has_scope("templates:write")) }),
        )
        .route_layer(from_fn_with_state(verifier, require_jwt));
    spawn_router(router, |app| app).await
}

async fn call(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let request = app.client.get(app.url("/me"));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.expect("request")
}

fn hmac_verifier() -> JwtVerifier {
    JwtVerifier::with_key(DecodingKey::from_secret(HMAC_SECRET), Algorithm::HS256)
}

#[tokio::test]
async fn valid_token_reaches_the_handler_with_claims() {
    let app = protected(hmac_verifier()).await;
    let response = call(&app, Some(&hs256(&claims(json!({}))))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "user-1 true");
}

#[tokio::test]
async fn missing_token_is_401_problem_with_challenge() {
    let app = protected(hmac_verifier()).await;
    let response = call(&app, None).await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer")
    );
    let body = problem(response, 401).await;
    assert_eq!(body["detail"], "missing bearer token");
}

#[tokio::test]
async fn expired_token_is_401_saying_so() {
    let app = protected(hmac_verifier()).await;
    let token = hs256(&claims(json!({ "exp": now() - 3600 })));
    let body = problem(call(&app, Some(&token)).await, 401).await;
    assert_eq!(body["detail"], "token expired");
}

#[tokio::test]
async fn forged_signature_is_401() {
    let app = protected(hmac_verifier()).await;
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(b"other"),
    )
    .expect("sign");
    let body = problem(call(&app, Some(&forged)).await, 401).await;
    assert_eq!(body["detail"], "invalid token signature");
    let body = problem(call(&app, Some("not.a.jwt")).await, 401).await;
    assert_eq!(body["detail"], "malformed token");
}

#[tokio::test]
async fn audience_and_issuer_are_enforced() {
    let app = protected(
        hmac_verifier()
            .with_audience("templates")
            .with_issuer("https://auth.machina"),
    )
    .await;
    let good = claims(json!({ "aud": "templates", "iss": "https://auth.machina" }));
    assert_eq!(call(&app, Some(&hs256(&good))).await.status(), 200);
    let wrong_aud = claims(json!({ "aud": "users", "iss": "https://auth.machina" }));
    assert_eq!(
        problem(call(&app, Some(&hs256(&wrong_aud))).await, 401).await["detail"],
        "token audience not accepted"
    );
    let wrong_iss = claims(json!({ "aud": "templates", "iss": "https://evil" }));
    assert_eq!(
        problem(call(&app, Some(&hs256(&wrong_iss))).await, 401).await["detail"],
        "token issuer not accepted"
    );
}

/// Serves a JWKS document that the test can change (key rotation).
async fn jwks_server(keys: Arc<Mutex<Vec<Value>>>) -> String {
    let router = Router::new()
        .route(
            "/jwks.json",
            get(|State(keys): State<Arc<Mutex<Vec<Value>>>>| async move {
                axum::Json(
                    json!({ "keys": keys.lock().unwrap_or_else(PoisonError::into_inner).clone() }),
                )
            }),
        )
        .with_state(keys);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test]
async fn jwks_keys_verify_and_rotation_is_picked_up() {
    let keys = Arc::new(Mutex::new(vec![jwk("a", KEY_A_X)]));
    let url = jwks_server(keys.clone()).await;
    let verifier = JwtVerifier::from_jwks_url(url, Metrics::new())
        .with_jwks_refresh(Duration::from_secs(300), Duration::ZERO);
    let app = protected(verifier).await;

    assert_eq!(
        call(&app, Some(&eddsa(KEY_A, "a", &claims(json!({})))))
            .await
            .status(),
        200
    );
    let token_b = eddsa(KEY_B, "b", &claims(json!({})));
    assert_eq!(
        problem(call(&app, Some(&token_b)).await, 401).await["detail"],
        "token signed with an unknown key"
    );

    keys.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(jwk("b", KEY_B_X));
    assert_eq!(
        call(&app, Some(&token_b)).await.status(),
        200,
        "rotated key fetched on first use"
    );
    // A token claiming key "a" but signed with key B is still rejected.
    let mismatched = eddsa(KEY_B, "a", &claims(json!({})));
    assert_eq!(
        problem(call(&app, Some(&mismatched)).await, 401).await["detail"],
        "invalid token signature"
    );
}

#[tokio::test]
async fn jwks_rejects_symmetric_algorithms() {
    let url = jwks_server(Arc::new(Mutex::new(vec![jwk("a", KEY_A_X)]))).await;
    let app = protected(JwtVerifier::from_jwks_url(url, Metrics::new())).await;
    let body = problem(call(&app, Some(&hs256(&claims(json!({}))))).await, 401).await;
    assert_eq!(body["detail"], "token algorithm not allowed");
}

#[tokio::test]
async fn unreachable_jwks_is_503_and_counted() {
    let metrics = Metrics::new();
    let url = format!("http://{}/jwks.json", free_addr().await);
    let app = protected(JwtVerifier::from_jwks_url(url, metrics.clone())).await;
    problem(
        call(&app, Some(&eddsa(KEY_A, "a", &claims(json!({}))))).await,
        503,
    )
    .await;
    assert!(
        metrics
            .encode()
            .contains(r#"machina_dependency_errors_total{dependency="jwks"} 1"#)
    );
}

#[tokio::test]
async fn verifier_from_env_uses_the_configured_public_key() {
    let vars = Vars::from_pairs([
        ("JWT_PUBLIC_KEY", KEY_A_PUBLIC),
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_ISSUER", "machina"),
    ]);
    let verifier = JwtVerifier::from_vars(&vars, Metrics::new())
        .unwrap()
        .expect("configured");
    let token = eddsa(KEY_A, "a", &claims(json!({ "iss": "machina" })));
    assert_eq!(verifier.verify(&token).await.unwrap().sub, "user-1");
    assert!(
        JwtVerifier::from_vars(&Vars::default(), Metrics::new())
            .unwrap()
            .is_none()
    );
}

#[test]
fn symmetric_algorithm_from_env_is_refused() {
    let vars = Vars::from_pairs([("JWT_PUBLIC_KEY", KEY_A_PUBLIC), ("JWT_ALGORITHM", "HS256")]);
    let err = JwtVerifier::from_vars(&vars, Metrics::new()).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidVar { name, .. } if name == "JWT_ALGORITHM"),
        "{err:?}"
    );
}
