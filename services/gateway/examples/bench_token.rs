//! Prints an EdDSA-signed access token and the PEM public key that verifies it,
//! for the "full edge" row of `bench/compare.sh` (JWT check + Redis rate limit).
//! Usage: `bench_token <private-key.pem>`; prints the token on line 1.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: bench_token <private-key.pem>"))?;
    let pem = std::fs::read(path)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let claims = json!({ "iss": "https://bench.machina", "sub": "bench", "exp": now + 3600, "scope": "bench" });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("bench".to_owned());
    println!(
        "{}",
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_pem(&pem)?)?
    );
    Ok(())
}
