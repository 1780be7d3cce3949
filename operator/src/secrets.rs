//! Credentials: generated passwords, connection strings built from them, and the version
//! that makes workloads restart when they change.
//!
//! Secret values only ever live in [`SecretString`], whose `Debug` is redacted, and in the
//! data of Kubernetes Secrets; never in status, events, logs or a pod spec.

use crate::labels::{self, AppLabels};
use crate::{Error, Result};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// Length of generated passwords: 32 alphanumerics, about 190 bits.
pub const PASSWORD_LEN: usize = 32;

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A secret value (password, connection string with a password). `Debug` and `Display`
/// are not implemented in a way that reveals it; read it with [`SecretString::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for writing it into a Secret or a client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as Secret data.
    pub fn to_byte_string(&self) -> ByteString {
        ByteString(self.0.as_bytes().to_vec())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

/// A new random password of [`PASSWORD_LEN`] alphanumerics from the operating system's RNG.
///
/// Alphanumerics only, so it needs no escaping in URLs, shell arguments or config files.
pub fn generate_password() -> Result<SecretString> {
    let mut password = String::with_capacity(PASSWORD_LEN);
    let mut buf = [0u8; 64];
    while password.len() < PASSWORD_LEN {
        OsRng
            .try_fill_bytes(&mut buf)
            .map_err(|e| Error::GeneratePassword(e.to_string()))?;
        // Rejection sampling: 248 = 4 * 62, so every character is equally likely.
        for b in buf
            .iter()
            .filter(|b| **b < 248)
            .take(PASSWORD_LEN - password.len())
        {
            password.push(char::from(ALPHANUMERIC[usize::from(*b % 62)]));
        }
    }
    Ok(SecretString(password))
}

/// A new random 256-bit key from the operating system's RNG, base64-encoded (standard
/// alphabet, padded), as auth's `KEY_ENCRYPTION_KEY` expects.
pub fn generate_key_base64() -> Result<SecretString> {
    use base64::Engine as _;
    let mut key = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| Error::GeneratePassword(e.to_string()))?;
    Ok(SecretString(
        base64::engine::general_purpose::STANDARD.encode(key),
    ))
}

/// A MongoDB connection string for `username` on `database`, using the hosts and options of
/// the admin connection string (`mongodb://` or `mongodb+srv://`).
///
/// The admin's credentials are dropped; the user is expected to be created in `database`,
/// which becomes its `authSource`. Errors never quote the input, as it holds a password.
pub fn mongodb_connection_string(
    admin_uri: &SecretString,
    username: &str,
    password: &SecretString,
    database: &str,
) -> Result<SecretString> {
    let invalid = |reason| Error::InvalidMongoUri { reason };
    let uri = admin_uri.expose().trim();
    let (scheme, rest) = ["mongodb+srv://", "mongodb://"]
        .iter()
        .find_map(|s| uri.strip_prefix(s).map(|rest| (*s, rest)))
        .ok_or_else(|| invalid("expected the scheme mongodb:// or mongodb+srv://"))?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hosts.is_empty() {
        return Err(invalid("no host"));
    }
    let options: Vec<&str> = tail
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter(|o| !o.is_empty() && !o.to_ascii_lowercase().starts_with("authsource="))
        .collect();
    let mut out = format!(
        "{scheme}{}:{}@{hosts}/{}?authSource={}",
        percent_encode(username),
        percent_encode(password.expose()),
        percent_encode(database),
        percent_encode(database),
    );
    for option in options {
        out.push('&');
        out.push_str(option);
    }
    Ok(SecretString(out))
}

/// An AMQP URL for `username` on `vhost`, using the scheme, host and port of the admin's
/// `amqp://` or `amqps://` URL (its credentials and vhost are dropped). Errors never quote
/// the input.
pub fn amqp_connection_string(
    admin_url: &SecretString,
    username: &str,
    password: &SecretString,
    vhost: &str,
) -> Result<SecretString> {
    let invalid = |reason| Error::InvalidAmqpUrl { reason };
    let url = admin_url.expose().trim();
    let (scheme, rest) = ["amqps://", "amqp://"]
        .iter()
        .find_map(|s| url.strip_prefix(s).map(|rest| (*s, rest)))
        .ok_or_else(|| invalid("expected the scheme amqp:// or amqps://"))?;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    Ok(SecretString(format!(
        "{scheme}{}:{}@{host}/{}",
        percent_encode(username),
        percent_encode(password.expose()),
        percent_encode(vhost),
    )))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A version of the credentials a workload uses: the SHA-256 of the data of its Secrets
/// (in the order given). Put on the pod template, it rolls the pods when a credential is
/// rotated, and only then. The hash reveals nothing usable about the values.
pub fn credentials_version<'a>(
    secrets: impl IntoIterator<Item = &'a BTreeMap<String, ByteString>>,
) -> String {
    let mut hasher = Sha256::new();
    for data in secrets {
        for (key, value) in data {
            // Length-prefixed, so ("ab","c") and ("a","bc") differ.
            hasher.update((key.len() as u64).to_be_bytes());
            hasher.update(key.as_bytes());
            hasher.update((value.0.len() as u64).to_be_bytes());
            hasher.update(&value.0);
        }
        hasher.update(b"\x00secret-end");
    }
    format!("{:x}", hasher.finalize())
}

/// An Opaque Secret named `name`, owned by `owner` and labelled like the workload that
/// uses it, holding `data`.
pub fn owned_secret<K>(
    owner: &K,
    name: String,
    app: AppLabels<'_>,
    data: &BTreeMap<String, SecretString>,
) -> Result<Secret>
where
    K: Resource<DynamicType = ()>,
{
    Ok(Secret {
        metadata: labels::object_meta(owner, name, app.labels())?,
        type_: Some("Opaque".into()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.clone(), v.to_byte_string()))
                .collect(),
        ),
        ..Secret::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_32_alphanumerics_and_differ() {
        let a = generate_password().expect("rng");
        let b = generate_password().expect("rng");
        assert_eq!(a.expose().len(), PASSWORD_LEN);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let password = generate_password().expect("rng");
        let debug = format!("{password:?}");
        assert!(!debug.contains(password.expose()), "{debug}");
        assert_eq!(debug, "SecretString(<redacted>)");
        let wrapped = Some(vec![password.clone()]);
        assert!(!format!("{wrapped:?}").contains(password.expose()));
    }

    #[test]
    fn mongodb_uri_keeps_hosts_and_options_and_replaces_credentials() {
        let admin = SecretString::new(
            "mongodb://admin:s3cret@mongo-0.db:27017,mongo-1.db:27017/admin?replicaSet=rs0&authSource=admin&tls=true",
        );
        let uri = mongodb_connection_string(
            &admin,
            "cp-shop-copy",
            &SecretString::new("p@ss/word"),
            "acme_cp_shop_copy",
        )
        .expect("uri");
        assert_eq!(
            uri.expose(),
            "mongodb://cp-shop-copy:p%40ss%2Fword@mongo-0.db:27017,mongo-1.db:27017/acme_cp_shop_copy?authSource=acme_cp_shop_copy&replicaSet=rs0&tls=true"
        );
        assert!(!uri.expose().contains("s3cret"));
    }

    #[test]
    fn mongodb_srv_uri_without_path_or_credentials() {
        let uri = mongodb_connection_string(
            &SecretString::new("mongodb+srv://cluster.example.net"),
            "u",
            &SecretString::new("p"),
            "db",
        )
        .expect("uri");
        assert_eq!(
            uri.expose(),
            "mongodb+srv://u:p@cluster.example.net/db?authSource=db"
        );
    }

    #[test]
    fn bad_admin_uri_errors_without_echoing_it() {
        for bad in ["postgres://admin:hunter2@db", "mongodb://admin:hunter2@/x"] {
            let err = mongodb_connection_string(
                &SecretString::new(bad),
                "u",
                &SecretString::new("p"),
                "db",
            )
            .expect_err(bad);
            assert!(!err.to_string().contains("hunter2"), "{err}");
            assert!(!format!("{err:?}").contains("hunter2"));
        }
    }

    #[test]
    fn amqp_url_keeps_the_host_and_replaces_credentials_and_vhost() {
        let admin = SecretString::new("amqp://machina-admin:s3cret@rabbitmq.data.svc:5672/%2f");
        let url = amqp_connection_string(
            &admin,
            "machina.cp.shop.copy",
            &SecretString::new("pw"),
            "shop.acme",
        )
        .expect("url");
        assert_eq!(
            url.expose(),
            "amqp://machina.cp.shop.copy:pw@rabbitmq.data.svc:5672/shop.acme"
        );
        let err = amqp_connection_string(
            &SecretString::new("http://a:hunter2@x"),
            "u",
            &SecretString::new("p"),
            "/",
        )
        .expect_err("not amqp");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn credentials_version_changes_with_any_value() {
        let data = |pw: &str| {
            BTreeMap::from([("password".to_owned(), ByteString(pw.as_bytes().to_vec()))])
        };
        let (a, b) = (data("one"), data("two"));
        assert_eq!(
            credentials_version([&a]),
            credentials_version([&data("one")])
        );
        assert_ne!(credentials_version([&a]), credentials_version([&b]));
        assert_ne!(credentials_version([&a, &b]), credentials_version([&b, &a]));
        assert!(!credentials_version([&a]).contains("one"));
    }
}
