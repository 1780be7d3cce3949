//! Refresh token rotation, the grace period, and reuse detection.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn concurrent_refresh_within_grace_gets_the_same_successor() {
    let app = spawn_app("auth_grace", &[("REFRESH_GRACE", "30s")]).await;
    let client = app.first_party_client().await;
    app.register("grace@example.com", "correct horse battery")
        .await;
    let first = app
        .password_grant(&client, "grace@example.com", "correct horse battery")
        .await
        .expect(StatusCode::OK);
    let token = first["refresh_token"].as_str().unwrap();
    let (a, b) = tokio::join!(app.refresh(&client, token), app.refresh(&client, token));
    let a = a.expect(StatusCode::OK);
    let b = b.expect(StatusCode::OK);
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    assert_ne!(a["refresh_token"].as_str().unwrap(), token);
    // The successor rotates normally.
    let next = app
        .refresh(&client, a["refresh_token"].as_str().unwrap())
        .await
        .expect(StatusCode::OK);
    assert!(next["refresh_token"].is_string());
    // The original token is only usable with its own client.
    let other = app.first_party_client().await;
    app.refresh(&other, token)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn reuse_after_grace_revokes_the_family() {
    let app = spawn_app("auth_reuse", &[("REFRESH_GRACE", "0s")]).await;
    let client = app.first_party_client().await;
    app.register("reuse@example.com", "correct horse battery")
        .await;
    let first = app
        .password_grant(&client, "reuse@example.com", "correct horse battery")
        .await
        .expect(StatusCode::OK);
    let stolen = first["refresh_token"].as_str().unwrap().to_owned();
    let rotated = app.refresh(&client, &stolen).await.expect(StatusCode::OK);
    let current = rotated["refresh_token"].as_str().unwrap().to_owned();
    // Make sure at least a millisecond passed since the rotation (grace is 0).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let body = app
        .refresh(&client, &stolen)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("reuse"),
        "{body}"
    );
    // The legitimate holder's newer token is revoked too.
    app.refresh(&client, &current)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let info = app
        .form(
            "/oauth2/introspect",
            &[("token", &current)],
            Some((&client.0, &client.1)),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(info["active"], false);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family() {
    let app = spawn_app("auth_revoke", &[]).await;
    let client = app.first_party_client().await;
    app.register("rev@example.com", "correct horse battery")
        .await;
    let first = app
        .password_grant(&client, "rev@example.com", "correct horse battery")
        .await
        .expect(StatusCode::OK);
    let token = first["refresh_token"].as_str().unwrap();
    let info = app
        .form(
            "/oauth2/introspect",
            &[("token", token)],
            Some((&client.0, &client.1)),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "refresh_token");
    app.form(
        "/oauth2/revoke",
        &[("token", token)],
        Some((&client.0, &client.1)),
    )
    .await
    .expect(StatusCode::OK);
    app.refresh(&client, token)
        .await
        .oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Unknown tokens are fine to revoke (RFC 7009 §2.2).
    app.form(
        "/oauth2/revoke",
        &[("token", "nope")],
        Some((&client.0, &client.1)),
    )
    .await
    .expect(StatusCode::OK);
}
