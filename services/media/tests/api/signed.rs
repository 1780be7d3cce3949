//! Signed URLs: valid ones serve without a token; expired or tampered are 403.

use hmac_free::*;
use image::ImageFormat;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{image_bytes, spawn_app};

mod hmac_free {
    /// Replaces the value of `key` in a path-and-query.
    pub fn replace_param(url: &str, key: &str, value: &str) -> String {
        let (path, query) = url.split_once('?').unwrap();
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k == key => format!("{k}={value}"),
                _ => pair.to_owned(),
            })
            .collect();
        format!("{path}?{}", query.join("&"))
    }
}

#[tokio::test]
async fn a_signed_url_serves_without_a_token_until_tampered_or_expired() {
    let app = spawn_app().await;
    let id = app
        .upload_ok(
            image_bytes(100, 80, ImageFormat::Jpeg),
            "a.jpg",
            "image/jpeg",
        )
        .await;
    let request = app
        .client
        .post(app.url(&format!("/v1/media/{id}/signed-url")))
        .bearer_auth(&app.reader)
        .json(&json!({ "ttl_seconds": 60, "params": { "w": "50" } }));
    let signed = app.send(request).await.expect(StatusCode::OK);
    let url = signed["url"].as_str().unwrap().to_owned();
    assert!(url.contains("kid=k2"), "the first key signs: {url}");

    let ok = app.send(app.client.get(app.url(&url))).await;
    ok.expect(StatusCode::OK);
    assert!(ok.header("cache-control").starts_with("public"));
    assert_eq!(image::load_from_memory(&ok.bytes).unwrap().width(), 50);

    // Without a signature, a token is needed.
    app.send(app.client.get(app.url(&format!("/v1/media/{id}?w=50"))))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // Tampered: another size, another expiry, another key id, another signature.
    for (key, value) in [
        ("w", "60"),
        ("exp", "99999999999"),
        ("kid", "k1"),
        ("sig", "00ff"),
    ] {
        let tampered = replace_param(&url, key, value);
        app.send(app.client.get(app.url(&tampered)))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    let other_asset = url.replace(&id, "0123456789abcdef0123456789abcdef");
    app.send(app.client.get(app.url(&other_asset)))
        .await
        .problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_signed_url_is_refused() {
    let app = spawn_app().await;
    let id = app
        .upload_ok(image_bytes(10, 10, ImageFormat::Png), "a.png", "image/png")
        .await;
    let path = format!("/v1/media/{id}");
    // Signed with the service's second key, which still verifies (rotation), but in the past.
    let keys = machina_media::signing::SigningKeys::parse("k1:first-secret").unwrap();
    let past = crate::helpers::now() - 10;
    let expired = format!("{path}?{}", keys.sign(&path, &[], past).unwrap());
    let body = app
        .send(app.client.get(app.url(&expired)))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let valid = format!("{path}?{}", keys.sign(&path, &[], past + 3600).unwrap());
    app.send(app.client.get(app.url(&valid)))
        .await
        .expect(StatusCode::OK);
}
