//! [`SigningKeys`]: HMAC-SHA256 signed, expiring URLs with several keys for rotation.
//!
//! A signed URL carries `exp` (unix seconds), `kid` and `sig`. The signature
//! covers the path and every other query parameter (sorted), so neither the
//! asset nor the variant parameters can be changed. The first key signs;
//! every key verifies, so a new key can be put first while URLs signed with
//! the old one stay valid until it is removed.

use hmac::{Hmac, Mac};
use machina_kit::Secret;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Query parameters that are part of the signature envelope, not the signed content.
pub const SIG_PARAM: &str = "sig";

/// The configured keys, in order; the first signs.
#[derive(Debug, Clone, Default)]
pub struct SigningKeys {
    keys: Vec<(String, Secret<String>)>,
}

/// Why a signed URL was refused (all map to 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `exp` lies in the past.
    #[error("the signed URL has expired")]
    Expired,
    /// `kid` names no configured key.
    #[error("the signed URL names an unknown key")]
    UnknownKey,
    /// The signature does not match the URL.
    #[error("the signed URL's signature does not match")]
    BadSignature,
    /// `exp`, `kid` or `sig` is missing or malformed.
    #[error("the signed URL is malformed: {0}")]
    Malformed(&'static str),
}

impl SigningKeys {
    /// Parses `kid1:secret1,kid2:secret2`; the error says what was expected.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        const EXPECTED: &str = "comma-separated kid:secret pairs with non-empty, unique kids";
        let mut keys: Vec<(String, Secret<String>)> = Vec::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kid, secret) = pair.split_once(':').ok_or(EXPECTED)?;
            if kid.is_empty() || secret.is_empty() || keys.iter().any(|(k, _)| k == kid) {
                return Err(EXPECTED);
            }
            keys.push((kid.to_owned(), Secret::new(secret.to_owned())));
        }
        Ok(Self { keys })
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is configured (signed URLs are then disabled).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Signs `path` plus `params` (without `exp`/`kid`/`sig`) with the first key;
    /// returns the query string to append, or `None` without keys.
    pub fn sign(&self, path: &str, params: &[(String, String)], exp: u64) -> Option<String> {
        let (kid, secret) = self.keys.first()?;
        let mut all: Vec<(String, String)> = params.to_vec();
        all.push(("exp".to_owned(), exp.to_string()));
        all.push(("kid".to_owned(), kid.clone()));
        let sig = hex::encode(mac(secret, path, &all).finalize().into_bytes());
        all.push((SIG_PARAM.to_owned(), sig));
        Some(
            all.iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        )
    }

    /// Verifies a request's `path` and decoded query `params` at time `now`.
    pub fn verify(
        &self,
        path: &str,
        params: &[(String, String)],
        now: u64,
    ) -> Result<(), SignatureError> {
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let exp: u64 = get("exp")
            .ok_or(SignatureError::Malformed("exp is missing"))?
            .parse()
            .map_err(|_| SignatureError::Malformed("exp is not a unix time"))?;
        let kid = get("kid").ok_or(SignatureError::Malformed("kid is missing"))?;
        let sig = get(SIG_PARAM).ok_or(SignatureError::Malformed("sig is missing"))?;
        let sig = hex::decode(sig).map_err(|_| SignatureError::Malformed("sig is not hex"))?;
        let (_, secret) = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or(SignatureError::UnknownKey)?;
        let signed: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k != SIG_PARAM)
            .cloned()
            .collect();
        mac(secret, path, &signed)
            .verify_slice(&sig)
            .map_err(|_| SignatureError::BadSignature)?;
        // Checked after the signature so a forged `exp` reads as tampering.
        if exp < now {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

/// True if `params` carry a signature (the request asks for signed-URL access).
pub fn is_signed(params: &[(String, String)]) -> bool {
    params.iter().any(|(k, _)| k == SIG_PARAM)
}

/// The MAC over `path` and the sorted `params`; one line per parameter keeps
/// the encoding unambiguous.
fn mac(secret: &Secret<String>, path: &str, params: &[(String, String)]) -> HmacSha256 {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // HMAC accepts keys of any length.
    let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(path.as_bytes());
    for (k, v) in sorted {
        mac.update(b"\n");
        mac.update(k.as_bytes());
        mac.update(b"=");
        mac.update(v.as_bytes());
    }
    mac
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_query(q: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(q).unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_signed_url_verifies_until_it_expires() {
        let keys = SigningKeys::parse("new:s2,old:s1").unwrap();
        let q = keys
            .sign("/v1/media/a", &params(&[("w", "100")]), 1000)
            .unwrap();
        let got = parse_query(&q);
        assert_eq!(keys.verify("/v1/media/a", &got, 999), Ok(()));
        assert_eq!(
            keys.verify("/v1/media/a", &got, 1001),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn tampering_with_path_params_or_exp_is_refused() {
        let keys = SigningKeys::parse("k:secret").unwrap();
        let q = keys
            .sign("/v1/media/a", &params(&[("w", "100")]), 1000)
            .unwrap();
        let got = parse_query(&q);
        assert_eq!(
            keys.verify("/v1/media/b", &got, 0),
            Err(SignatureError::BadSignature)
        );
        let mut wider = got.clone();
        wider[0].1 = "4000".to_owned();
        assert_eq!(
            keys.verify("/v1/media/a", &wider, 0),
            Err(SignatureError::BadSignature)
        );
        let mut later = got.clone();
        later[1].1 = "99999".to_owned();
        assert_eq!(
            keys.verify("/v1/media/a", &later, 0),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn every_key_verifies_after_rotation() {
        let old = SigningKeys::parse("old:s1").unwrap();
        let q = old.sign("/p", &[], 10).unwrap();
        let rotated = SigningKeys::parse("new:s2,old:s1").unwrap();
        assert_eq!(rotated.verify("/p", &parse_query(&q), 0), Ok(()));
        let retired = SigningKeys::parse("new:s2").unwrap();
        assert_eq!(
            retired.verify("/p", &parse_query(&q), 0),
            Err(SignatureError::UnknownKey)
        );
    }

    #[test]
    fn malformed_key_lists_are_rejected() {
        assert!(SigningKeys::parse("nocolon").is_err());
        assert!(SigningKeys::parse("a:1,a:2").is_err());
        assert!(SigningKeys::parse(":x").is_err());
    }
}
