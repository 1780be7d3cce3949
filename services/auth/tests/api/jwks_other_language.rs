//! Tokens verify with a standard JWT library of another language (Python PyJWT)
//! using only the JWKS. Needs `python3` with `venv`; PyJWT and cryptography are
//! installed from PyPI into a venv under the target directory on first run.

use std::{path::PathBuf, process::Command};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{ISSUER, claims, spawn_app};

/// The venv's python, creating the venv if needed; panics with the fix when
/// python3 or pip is missing.
fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pyjwt-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import jwt, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ready {
        return python;
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output();
    match made {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "python3 -m venv failed (install python3-venv): {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "python3 is required for the PyJWT interoperability test (apt-get install python3 python3-venv): {e}"
        ),
    }
    let pip = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "PyJWT[crypto]>=2.8,<3"])
        .output()
        .expect("run pip");
    assert!(
        pip.status.success(),
        "pip install PyJWT[crypto] failed (is PyPI reachable?): {}",
        String::from_utf8_lossy(&pip.stderr)
    );
    python
}

/// Runs the PyJWT verifier: `Ok(claims)` or `Err(reason)`.
async fn pyjwt_verify(jwks_url: String, token: String) -> Result<Value, String> {
    tokio::task::spawn_blocking(move || {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyjwt/verify.py");
        let out = Command::new(python())
            .arg(script)
            .args([&jwks_url, ISSUER, "machina", &token])
            .output()
            .expect("run python");
        if out.status.success() {
            Ok(serde_json::from_slice(&out.stdout).expect("claims JSON"))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn pyjwt_verifies_with_the_jwks_only() {
    let app = spawn_app("auth_pyjwt", &[]).await;
    let client = app.first_party_client().await;
    let user = app
        .register("py@example.com", "correct horse battery")
        .await;
    let body = app
        .password_grant(&client, "py@example.com", "correct horse battery")
        .await
        .expect(StatusCode::OK);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let jwks = app.url("/.well-known/jwks.json");

    let verified = pyjwt_verify(jwks.clone(), token.clone())
        .await
        .expect("PyJWT accepts the token");
    assert_eq!(verified["sub"], user.as_str());
    assert_eq!(verified["roles"], serde_json::json!(["user"]));

    // PyJWT refuses a tampered one.
    let parts: Vec<&str> = token.split('.').collect();
    let mut c = claims(&token);
    c["sub"] = "someone-else".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap()),
        parts[2]
    );
    let reason = pyjwt_verify(jwks, tampered)
        .await
        .expect_err("PyJWT refuses a tampered token");
    assert!(reason.contains("Signature"), "{reason}");
}
