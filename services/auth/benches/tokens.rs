//! Hot paths of token issuance and verification, without I/O:
//! signing an access token (Ed25519), verifying it (jsonwebtoken and the kit's
//! verifier), and the client-secret check with and without the verified-secret cache.
//!
//! `cargo bench -p machina-auth --bench tokens`

use std::hint::black_box;

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{Ed25519KeyPair, KeyPair as _},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use machina_auth::{crypto::sha256_hex, password, service::tokens::AccessClaims};
use machina_kit::auth::JwtVerifier;

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "https://api.example.com".into(),
        sub: "billing-service".into(),
        aud: "machina".into(),
        exp: 4_000_000_000,
        iat: 1_700_000_000,
        nbf: 1_700_000_000,
        jti: "0f6b1c3a9d2e4f5a8b7c6d5e4f3a2b1c".into(),
        scope: "read write".into(),
        client_id: "billing-service".into(),
        roles: vec!["reporter".into()],
        permissions: vec!["reports:read".into(), "reports:write".into()],
    }
}

fn bench(c: &mut Criterion) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair");
    let encoding = EncodingKey::from_ed_der(pkcs8.as_ref());
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let decoding = DecodingKey::from_ed_components(&x).expect("public key");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    let claims = claims();
    let token = jsonwebtoken::encode(&header, &claims, &encoding).expect("sign");

    c.bench_function("sign access token (EdDSA)", |b| {
        b.iter(|| jsonwebtoken::encode(black_box(&header), black_box(&claims), &encoding))
    });
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["machina"]);
    c.bench_function("verify access token (jsonwebtoken)", |b| {
        b.iter(|| jsonwebtoken::decode::<AccessClaims>(black_box(&token), &decoding, &validation))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let kit = JwtVerifier::with_key(decoding.clone(), Algorithm::EdDSA).with_audience("machina");
    c.bench_function("verify access token (kit JwtVerifier)", |b| {
        b.iter(|| runtime.block_on(kit.verify(black_box(&token))))
    });

    let secret = "Xq3v9Jr0c2mH7tW1bN5kP8sL4dF6gA0zY2uE7iO9wR1";
    let hash = password::hash(secret, password::HashParams::default()).expect("hash");
    let mut group = c.benchmark_group("client secret check");
    group.sample_size(10);
    group.bench_function("argon2id verify (m=19456,t=2,p=1)", |b| {
        b.iter(|| password::verify(black_box(secret), &hash))
    });
    group.bench_function("verified-secret cache digest", |b| {
        b.iter(|| sha256_hex(format!("billing\0{hash}\0{}", black_box(secret)).as_bytes()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
