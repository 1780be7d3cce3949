//! Brute-force protection: per account and per IP, 429 with Retry-After.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn failed_logins_lock_the_account() {
    let app = spawn_app(
        "auth_thr_acct",
        &[
            ("LOGIN_MAX_FAILURES_ACCOUNT", "3"),
            ("LOGIN_LOCKOUT_BASE", "60s"),
        ],
    )
    .await;
    app.register("victim@example.com", "correct horse battery")
        .await;
    let attempt = |password: &'static str, ip: &'static str| {
        app.send(
            app.client
                .post(app.url("/v1/login"))
                .header("x-forwarded-for", ip)
                .json(&json!({"email": "victim@example.com", "password": password})),
        )
    };
    for _ in 0..3 {
        attempt("guess guess guess", "10.0.0.1")
            .await
            .problem(StatusCode::UNAUTHORIZED);
    }
    // Locked now, even with the right password and from another address.
    let reply = attempt("correct horse battery", "10.0.0.2").await;
    let retry: u64 = reply
        .header("retry-after")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    reply.problem(StatusCode::TOO_MANY_REQUESTS);
    // The token endpoint says the same in RFC 6749 form.
    let client = app.first_party_client().await;
    let reply = app
        .password_grant(&client, "victim@example.com", "correct horse battery")
        .await;
    assert!(!reply.header("retry-after").is_empty());
    reply.oauth_error(StatusCode::TOO_MANY_REQUESTS, "slow_down");
}

#[tokio::test]
async fn failed_logins_lock_the_address() {
    let app = spawn_app(
        "auth_thr_ip",
        &[
            ("LOGIN_MAX_FAILURES_IP", "3"),
            ("LOGIN_LOCKOUT_BASE", "60s"),
        ],
    )
    .await;
    app.register("someone@example.com", "correct horse battery")
        .await;
    let attempt = |email: &str, password: &str, ip: &'static str| {
        app.send(
            app.client
                .post(app.url("/v1/login"))
                .header("x-forwarded-for", ip)
                .json(&json!({"email": email, "password": password})),
        )
    };
    for i in 0..3 {
        attempt(
            &format!("nobody{i}@example.com"),
            "whatever whatever",
            "192.0.2.9",
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    }
    attempt("someone@example.com", "correct horse battery", "192.0.2.9")
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    attempt("someone@example.com", "correct horse battery", "192.0.2.10")
        .await
        .expect(StatusCode::OK);
}
