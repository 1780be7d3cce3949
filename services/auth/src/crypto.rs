//! Small cryptographic helpers: random tokens, digests, and sealing secrets at rest.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    digest,
    rand::{SecureRandom, SystemRandom},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

/// Why sealing or opening failed (deliberately without detail).
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The system random generator failed.
    #[error("the random generator failed")]
    Random,
    /// The sealed value was tampered with, or sealed under another key.
    #[error("cannot open the sealed value (wrong key or corrupted)")]
    Open,
    /// Sealing failed.
    #[error("cannot seal the value")]
    Seal,
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0; n];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// An opaque token of 256 random bits, base64url without padding.
pub fn random_token() -> Result<String, CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(32)?))
}

/// SHA-256 of `input`, lowercase hex: how high-entropy tokens are stored.
pub fn sha256_hex(input: &[u8]) -> String {
    let d = digest::digest(&digest::SHA256, input);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `input`, base64url (the PKCE S256 transform).
pub fn sha256_b64url(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, input))
}

/// Constant-time equality, so comparisons of secrets do not leak timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Seals values with AES-256-GCM under a key from the environment; without a
/// key it stores values as they are (`scheme` tells which applies).
#[derive(Clone)]
pub struct Sealer {
    key: Option<std::sync::Arc<LessSafeKey>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("encrypted", &self.key.is_some())
            .finish()
    }
}

impl Sealer {
    /// A sealer with `key`, or a pass-through one for `None`.
    pub fn new(key: Option<&[u8; 32]>) -> Self {
        let key = key.and_then(|k| UnboundKey::new(&AES_256_GCM, k).ok());
        Self {
            key: key.map(|k| std::sync::Arc::new(LessSafeKey::new(k))),
        }
    }

    /// `aes-256-gcm` or `none`: stored next to the value so a later key change is detected.
    pub fn scheme(&self) -> &'static str {
        if self.key.is_some() {
            "aes-256-gcm"
        } else {
            "none"
        }
    }

    /// Seals `plain`; `context` is bound as associated data (e.g. the key id),
    /// so a sealed value cannot be moved to another record.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        let Some(key) = &self.key else {
            return Ok(plain.to_vec());
        };
        let nonce_bytes = random_bytes(NONCE_LEN)?;
        let nonce =
            Nonce::try_assume_unique_for_key(&nonce_bytes).map_err(|_| CryptoError::Seal)?;
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| CryptoError::Seal)?;
        let mut out = nonce_bytes;
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`Sealer::seal`] produced under `scheme`.
    pub fn open(&self, sealed: &[u8], scheme: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        match (&self.key, scheme) {
            (None, "none") => Ok(sealed.to_vec()),
            (Some(key), "aes-256-gcm") if sealed.len() > NONCE_LEN => {
                let (nonce, body) = sealed.split_at(NONCE_LEN);
                let nonce =
                    Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
                let mut buf = body.to_vec();
                let plain = key
                    .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
                    .map_err(|_| CryptoError::Open)?;
                Ok(plain.to_vec())
            }
            _ => Err(CryptoError::Open),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_context() {
        let sealer = Sealer::new(Some(&[7; 32]));
        let sealed = sealer.seal(b"private key", "kid-1").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
        assert_eq!(
            sealer.open(&sealed, "aes-256-gcm", "kid-1").unwrap(),
            b"private key"
        );
        assert!(sealer.open(&sealed, "aes-256-gcm", "kid-2").is_err());
        assert!(
            Sealer::new(Some(&[8; 32]))
                .open(&sealed, "aes-256-gcm", "kid-1")
                .is_err()
        );
        assert!(
            Sealer::new(None)
                .open(&sealed, "aes-256-gcm", "kid-1")
                .is_err()
        );
    }

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        assert_eq!(
            sha256_b64url(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = random_token().unwrap();
        assert_ne!(a, random_token().unwrap());
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
