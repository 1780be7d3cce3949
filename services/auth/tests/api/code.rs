//! The authorization code flow with PKCE (S256).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, claims, spawn_app};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "https://app.example.com/callback";

/// A public client, a user, and that user's session cookie.
async fn setup(app: &TestApp) -> (String, String) {
    let (client, secret) = app
        .create_client(json!({
            "name": "spa", "confidential": false, "grantTypes": ["authorization_code", "refresh_token"],
            "redirectUris": [REDIRECT], "scopes": ["openid", "email", "read"],
        }))
        .await;
    assert!(secret.is_empty(), "public clients get no secret");
    app.register("code@example.com", "correct horse battery")
        .await;
    let login = app
        .send(app.client.post(app.url("/v1/login")).json(&json!({
            "email": "code@example.com", "password": "correct horse battery"
        })))
        .await;
    let cookie = login.header("set-cookie");
    login.expect(StatusCode::OK);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let session = cookie.split(';').next().expect("cookie").to_owned();
    (client, session)
}

/// GETs `/oauth2/authorize` and returns the redirect's query parameters.
async fn authorize(
    app: &TestApp,
    query: &[(&str, &str)],
    cookie: Option<&str>,
) -> Vec<(String, String)> {
    let mut req = app.client.get(app.url("/oauth2/authorize")).query(query);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let reply = app.send(req).await;
    assert!(
        reply.status.is_redirection(),
        "{} {}",
        reply.status,
        reply.body
    );
    let location = reply.header("location");
    let (base, q) = location.split_once('?').expect("query");
    assert_eq!(base, REDIRECT);
    serde_urlencoded::from_str(q).expect("query parses")
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn query<'a>(client: &'a str, challenge: &'a str, method: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("state", "xyz"),
        ("nonce", "n-0S6"),
        ("code_challenge", challenge),
        ("code_challenge_method", method),
    ]
}

#[tokio::test]
async fn code_flow_with_pkce_end_to_end() {
    let app = spawn_app("auth_code", &[]).await;
    let (client, session) = setup(&app).await;
    let params = authorize(&app, &query(&client, CHALLENGE, "S256"), Some(&session)).await;
    assert_eq!(param(&params, "state"), Some("xyz"));
    let code = param(&params, "code").expect("code").to_owned();
    let token = app
        .form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &client),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await
        .expect(StatusCode::OK);
    let id = claims(token["id_token"].as_str().expect("id_token"));
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["email"], "code@example.com");
    assert_eq!(token["scope"], "openid email");
    assert!(token["refresh_token"].is_string());
    // A code is single-use.
    app.form(
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await
    .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn wrong_verifier_is_refused_and_burns_the_code() {
    let app = spawn_app("auth_pkce", &[]).await;
    let (client, session) = setup(&app).await;
    let params = authorize(&app, &query(&client, CHALLENGE, "S256"), Some(&session)).await;
    let code = param(&params, "code").expect("code").to_owned();
    let exchange = |verifier: &'static str| {
        let code = code.clone();
        let client = client.clone();
        let app = &app;
        async move {
            app.form(
                "/oauth2/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("client_id", &client),
                    ("code_verifier", verifier),
                ],
                None,
            )
            .await
        }
    };
    let body = exchange("wrongwrongwrongwrongwrongwrongwrongwrongwrong")
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier"),
        "{body}"
    );
    exchange(VERIFIER)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(app.count("refresh_tokens").await, 0);
}

#[tokio::test]
async fn authorize_refuses_bad_requests() {
    let app = spawn_app("auth_authz", &[]).await;
    let (client, session) = setup(&app).await;
    // No session: back to the client with login_required.
    let params = authorize(&app, &query(&client, CHALLENGE, "S256"), None).await;
    assert_eq!(param(&params, "error"), Some("login_required"));
    assert_eq!(param(&params, "state"), Some("xyz"));
    // Only S256.
    let params = authorize(&app, &query(&client, CHALLENGE, "plain"), Some(&session)).await;
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    // PKCE is mandatory.
    let mut q = query(&client, CHALLENGE, "S256");
    q.retain(|(k, _)| *k != "code_challenge");
    let params = authorize(&app, &q, Some(&session)).await;
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    // An unregistered redirect URI is answered here, never redirected to.
    let mut q = query(&client, CHALLENGE, "S256");
    q.retain(|(k, _)| *k != "redirect_uri");
    q.push(("redirect_uri", "https://evil.example.com/cb"));
    let reply = app
        .send(app.client.get(app.url("/oauth2/authorize")).query(&q))
        .await;
    assert!(reply.header("location").is_empty());
    reply.oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}
