//! argon2id hashing of passwords and client secrets, in the PHC string format
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so parameters can be raised
//! later while old hashes keep verifying with the parameters they were made with.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::{Engine as _, engine::general_purpose::STANDARD_NO_PAD};

use crate::crypto::{self, CryptoError, constant_time_eq};

/// Length of the derived hash and of the salt, in bytes.
const OUTPUT_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB (OWASP: 19456 with 2 iterations).
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashParams {
    /// Validates the parameters as argon2 would.
    pub fn check(&self) -> Result<Params, HashError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|_| HashError::Params)
    }
}

/// Why hashing failed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The parameters are out of argon2's range.
    #[error("invalid argon2 parameters")]
    Params,
    /// No randomness for the salt.
    #[error(transparent)]
    Random(#[from] CryptoError),
}

/// Hashes `secret` with a fresh salt.
pub fn hash(secret: &str, params: HashParams) -> Result<String, HashError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.check()?);
    let salt = crypto::random_bytes(SALT_LEN)?;
    let mut out = [0u8; OUTPUT_LEN];
    argon
        .hash_password_into(secret.as_bytes(), &salt, &mut out)
        .map_err(|_| HashError::Params)?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    ))
}

/// True if `secret` matches `phc`; a malformed hash never matches.
pub fn verify(secret: &str, phc: &str) -> bool {
    let Some((params, salt, expected)) = parse(phc) else {
        return false;
    };
    let Ok(checked) = params.check() else {
        return false;
    };
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, checked);
    let mut out = vec![0u8; expected.len()];
    if expected.len() != OUTPUT_LEN {
        return false;
    }
    argon
        .hash_password_into(secret.as_bytes(), &salt, &mut out)
        .is_ok()
        && constant_time_eq(&out, &expected)
}

/// Splits a PHC string into parameters, salt and hash.
fn parse(phc: &str) -> Option<(HashParams, Vec<u8>, Vec<u8>)> {
    let mut parts = phc.strip_prefix('$')?.split('$');
    if parts.next()? != "argon2id" || parts.next()? != "v=19" {
        return None;
    }
    let mut params = HashParams::default();
    for kv in parts.next()?.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => params.memory_kib = v,
            "t" => params.iterations = v,
            "p" => params.parallelism = v,
            _ => return None,
        }
    }
    let salt = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
    let hash = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
    parts.next().is_none().then_some((params, salt, hash))
}

/// A hash made with the same parameters, verified against when an account does
/// not exist, so response time does not reveal which emails are registered.
pub fn dummy_hash(params: HashParams) -> String {
    hash("not a real password", params).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashParams = HashParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn hash_verifies_and_rejects() {
        let h = hash("correct horse battery", CHEAP).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert_ne!(h, hash("correct horse battery", CHEAP).unwrap(), "salted");
    }

    #[test]
    fn malformed_hashes_never_match() {
        for phc in [
            "",
            "$argon2i$v=19$m=1024,t=1,p=1$AAAA$AAAA",
            "$argon2id$v=19$m=x$a$b",
            "plain",
        ] {
            assert!(!verify("x", phc), "{phc}");
        }
    }

    #[test]
    fn default_params_are_owasp() {
        let p = HashParams::default();
        assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19_456, 2, 1));
        assert!(p.check().is_ok());
    }
}
