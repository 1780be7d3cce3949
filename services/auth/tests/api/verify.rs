//! Tokens as other services see them: the kit verifier in JWKS URL mode refuses
//! expired, tampered, wrongly-signed and foreign tokens, and follows key rotation.

use aws_lc_rs::{rand::SystemRandom, signature::Ed25519KeyPair};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use machina_kit::{ApiError, Metrics, auth::JwtVerifier};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ISSUER, TestApp, claims, spawn_app};

fn verifier(app: &TestApp) -> JwtVerifier {
    JwtVerifier::from_jwks_url(app.url("/.well-known/jwks.json"), Metrics::new())
        .with_jwks_refresh(
            std::time::Duration::from_secs(300),
            std::time::Duration::ZERO,
        )
        .with_issuer(ISSUER)
        .with_audience("machina")
}

#[track_caller]
fn refused(outcome: Result<machina_kit::auth::Claims, ApiError>, why: &str) {
    match outcome {
        Err(ApiError::Unauthorized(reason)) => {
            assert!(reason.contains(why), "{reason} (wanted {why})")
        }
        other => panic!("expected 401 ({why}), got {other:?}"),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[tokio::test]
async fn kit_refuses_expired_tampered_and_foreign_tokens() {
    let app = spawn_app("auth_verify", &[]).await;
    let v = verifier(&app);
    let good = app.admin_token().await;
    v.verify(&good).await.expect("a fresh token verifies");

    // Expired: signed by the real key, exp an hour ago.
    let mut c: Value = claims(&good);
    c["exp"] = json!(now() - 3600);
    c["iat"] = json!(now() - 7200);
    c["nbf"] = json!(now() - 7200);
    let expired = app.auth.keys.sign(&c).unwrap();
    refused(v.verify(&expired).await, "expired");

    // Tampered: payload changed, signature kept.
    let parts: Vec<&str> = good.split('.').collect();
    let mut c: Value = claims(&good);
    c["permissions"] = json!(["everything"]);
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    refused(v.verify(&tampered).await, "signature");

    // Wrongly signed: another Ed25519 key claiming the real kid.
    let kid = jsonwebtoken::decode_header(&good).unwrap().kid.unwrap();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    let forged = jsonwebtoken::encode(
        &header,
        &claims(&good),
        &EncodingKey::from_ed_der(pkcs8.as_ref()),
    )
    .unwrap();
    refused(v.verify(&forged).await, "signature");
    // ... or an unknown kid.
    header.kid = Some("nope".into());
    let unknown = jsonwebtoken::encode(
        &header,
        &claims(&good),
        &EncodingKey::from_ed_der(pkcs8.as_ref()),
    )
    .unwrap();
    refused(v.verify(&unknown).await, "unknown key");
    // Symmetric algorithms are never accepted.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = jsonwebtoken::decode_header(&good).unwrap().kid;
    let hmac = jsonwebtoken::encode(&hs, &claims(&good), &EncodingKey::from_secret(b"k")).unwrap();
    refused(v.verify(&hmac).await, "algorithm");
    // Another issuer's token.
    let other = JwtVerifier::from_jwks_url(app.url("/.well-known/jwks.json"), Metrics::new())
        .with_issuer("https://other");
    refused(other.verify(&good).await, "issuer");
    // The introspection endpoint agrees.
    let info = app
        .form(
            "/oauth2/introspect",
            &[("token", &tampered)],
            Some((crate::helpers::ADMIN_ID, crate::helpers::ADMIN_SECRET)),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(info, json!({"active": false}));
}

#[tokio::test]
async fn rotation_keeps_the_old_key_published() {
    let app = spawn_app("auth_rotate", &[]).await;
    let v = verifier(&app);
    let before = app.admin_token().await;
    let old_kid = jsonwebtoken::decode_header(&before).unwrap().kid.unwrap();
    let rotated = app
        .send(
            app.client
                .post(app.url("/v1/admin/keys/rotate"))
                .bearer_auth(&before),
        )
        .await
        .expect(StatusCode::OK);
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    let after = app.admin_token().await;
    assert_eq!(
        jsonwebtoken::decode_header(&after).unwrap().kid.unwrap(),
        new_kid
    );
    let jwks = app
        .get("/.well-known/jwks.json")
        .await
        .expect(StatusCode::OK);
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [old_kid.as_str(), new_kid.as_str()]);
    v.verify(&before)
        .await
        .expect("tokens of the previous key still verify");
    v.verify(&after)
        .await
        .expect("tokens of the new key verify");
}
