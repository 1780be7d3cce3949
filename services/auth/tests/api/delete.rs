//! Deleting users: one's own account, and through the admin API.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

const PASSWORD: &str = "correct horse battery";
const REDIRECT: &str = "https://app.example.com/callback";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// `POST /v1/login`; returns the reply's status and the `name=value` of the session cookie.
async fn login(app: &TestApp, email: &str) -> (StatusCode, String) {
    let reply = app
        .send(
            app.client
                .post(app.url("/v1/login"))
                .json(&json!({"email": email, "password": PASSWORD})),
        )
        .await;
    let cookie = reply.header("set-cookie");
    let session = cookie.split(';').next().unwrap_or_default().to_owned();
    (reply.status, session)
}

/// The `error` (or `code`) parameter of `/oauth2/authorize`'s redirect for `session`.
async fn authorize_outcome(app: &TestApp, client: &str, session: &str) -> String {
    let reply = app
        .send(
            app.client
                .get(app.url("/oauth2/authorize"))
                .header("cookie", session)
                .query(&[
                    ("response_type", "code"),
                    ("client_id", client),
                    ("redirect_uri", REDIRECT),
                    ("scope", "read"),
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                ]),
        )
        .await;
    let location = reply.header("location");
    let (_, query) = location.split_once('?').expect("redirect with a query");
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query parses");
    params
        .into_iter()
        .find(|(k, _)| k == "error" || k == "code")
        .map(|(k, _)| k)
        .expect("error or code")
}

async fn delete(app: &TestApp, path: &str, token: &str) -> crate::helpers::Reply {
    app.send(app.client.delete(app.url(path)).bearer_auth(token))
        .await
}

#[tokio::test]
async fn deleting_oneself_ends_credentials_refresh_tokens_and_sessions() {
    let app = spawn_app("auth_delete_me", &[]).await;
    let client = app.first_party_client().await;
    let (spa, _) = app
        .create_client(json!({
            "name": "spa", "confidential": false, "grantTypes": ["authorization_code"],
            "redirectUris": [REDIRECT], "scopes": ["read"],
        }))
        .await;
    let id = app.register("gone@example.com", PASSWORD).await;
    let (status, session) = login(&app, "gone@example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(authorize_outcome(&app, &spa, &session).await, "code");
    let grant = app
        .password_grant(&client, "gone@example.com", PASSWORD)
        .await
        .expect(StatusCode::OK);
    let access = grant["access_token"].as_str().unwrap().to_owned();
    let refresh = grant["refresh_token"].as_str().unwrap().to_owned();

    delete(&app, "/v1/users/me", &access)
        .await
        .expect(StatusCode::NO_CONTENT);

    // Credentials, refresh tokens and sessions are gone.
    assert_eq!(
        login(&app, "gone@example.com").await.0,
        StatusCode::UNAUTHORIZED
    );
    app.password_grant(&client, "gone@example.com", PASSWORD)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    app.refresh(&client, &refresh)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        authorize_outcome(&app, &spa, &session).await,
        "error",
        "the session ended"
    );
    // The access token lives until it expires (documented); deleting again is a 204.
    app.send(app.client.get(app.url("/v1/users/me")).bearer_auth(&access))
        .await
        .problem(StatusCode::NOT_FOUND);
    delete(&app, "/v1/users/me", &access)
        .await
        .expect(StatusCode::NO_CONTENT);
    // The email is free again, under a new subject id.
    let again = app.register("gone@example.com", PASSWORD).await;
    assert_ne!(again, id);
    app.password_grant(&client, "gone@example.com", PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn admins_delete_users_and_nobody_else_may() {
    let app = spawn_app("auth_delete_admin", &[]).await;
    let client = app.first_party_client().await;
    let victim = app.register("victim@example.com", PASSWORD).await;
    app.register("mallory@example.com", PASSWORD).await;
    let mallory = app
        .password_grant(&client, "mallory@example.com", PASSWORD)
        .await
        .expect(StatusCode::OK);
    let mallory = mallory["access_token"].as_str().unwrap();
    let refresh = app
        .password_grant(&client, "victim@example.com", PASSWORD)
        .await
        .expect(StatusCode::OK)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let path = format!("/v1/admin/users/{victim}");
    delete(&app, &path, mallory)
        .await
        .problem(StatusCode::FORBIDDEN);
    app.send(app.client.delete(app.url(&path)))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, "victim@example.com").await.0, StatusCode::OK);

    let admin = app.admin_token().await;
    delete(&app, &path, &admin)
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(
        login(&app, "victim@example.com").await.0,
        StatusCode::UNAUTHORIZED
    );
    app.refresh(&client, &refresh)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Idempotent, and a user that never existed is a 204 too.
    delete(&app, &path, &admin)
        .await
        .expect(StatusCode::NO_CONTENT);
    delete(&app, "/v1/admin/users/no-such-user", &admin)
        .await
        .expect(StatusCode::NO_CONTENT);
    // Others are untouched.
    assert_eq!(login(&app, "mallory@example.com").await.0, StatusCode::OK);
}
