//! The connection Secret of a shared service: the connection strings of the backends it
//! uses, taken from the admin Secrets the Platform references.

use super::builders::{
    ADMIN_CLIENT_ID_KEY, ADMIN_CLIENT_SECRET_KEY, AMQP_URL_KEY, KEY_ENCRYPTION_KEY_KEY,
    MONGODB_URI_KEY, REDIS_URL_KEY, SIGNING_KEYS_KEY, app_labels, backends,
};
use crate::Result;
use crate::labels;
use crate::names;
use crate::secrets::{self, SecretString};
use k8s_openapi::api::core::v1::Secret;
use machina_crds::Platform;
use machina_crds::images::Component;
use std::collections::BTreeMap;

/// Connection strings read by the reconciler from the Secrets the Platform references
/// (`mongodb.adminSecretRef`, `redis.urlSecretRef`, the `amqpUrl` key of
/// `rabbitmq.adminSecretName`). `Debug` never shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackendConnections {
    /// MongoDB connection string.
    pub mongodb_uri: Option<SecretString>,
    /// Redis URL.
    pub redis_url: Option<SecretString>,
    /// AMQP URL.
    pub amqp_url: Option<SecretString>,
}

/// Values the operator generates once for `component` and keeps in its connection Secret:
/// for auth the key sealing its private signing keys and the bootstrap admin client, for
/// media its URL-signing key. Values already in `current` are kept (a new key would make
/// auth's stored keys unreadable and every signed media URL invalid).
pub fn generated_values(
    component: Component,
    current: Option<&Secret>,
) -> Result<BTreeMap<String, SecretString>> {
    match component {
        Component::Auth => auth_generated_values(current),
        Component::Media => {
            let keys = match existing_value(current, SIGNING_KEYS_KEY) {
                Some(keys) => keys,
                None => SecretString::new(format!("k1:{}", secrets::generate_password()?.expose())),
            };
            Ok(BTreeMap::from([(SIGNING_KEYS_KEY.to_owned(), keys)]))
        }
        _ => Ok(BTreeMap::new()),
    }
}

/// A non-empty UTF-8 value of `key` in `current`.
fn existing_value(current: Option<&Secret>, key: &str) -> Option<SecretString> {
    current
        .and_then(|s| s.data.as_ref())
        .and_then(|d| d.get(key))
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .filter(|v| !v.is_empty())
        .map(SecretString::new)
}

fn auth_generated_values(current: Option<&Secret>) -> Result<BTreeMap<String, SecretString>> {
    let existing = |key: &str| existing_value(current, key);
    let mut values = BTreeMap::new();
    let kek = match existing(KEY_ENCRYPTION_KEY_KEY) {
        Some(kek) => kek,
        None => secrets::generate_key_base64()?,
    };
    values.insert(KEY_ENCRYPTION_KEY_KEY.to_owned(), kek);
    let client_id =
        existing(ADMIN_CLIENT_ID_KEY).unwrap_or_else(|| SecretString::new("machina-admin"));
    values.insert(ADMIN_CLIENT_ID_KEY.to_owned(), client_id);
    let client_secret = match existing(ADMIN_CLIENT_SECRET_KEY) {
        Some(secret) => secret,
        None => secrets::generate_password()?,
    };
    values.insert(ADMIN_CLIENT_SECRET_KEY.to_owned(), client_secret);
    Ok(values)
}

/// The connection Secret `<platform>-<service>-connection` of `component`, with only the
/// keys of the backends that service uses, plus the `generated` values of that service.
pub fn connection_secret(
    platform: &Platform,
    component: Component,
    connections: &BackendConnections,
    generated: &BTreeMap<String, SecretString>,
) -> Result<Secret> {
    let platform_name = labels::name(platform)?;
    let needs = backends(component);
    let mut data = BTreeMap::new();
    let mut put = |needed: bool, key: &str, value: &Option<SecretString>| {
        if let (true, Some(value)) = (needed, value) {
            data.insert(key.to_owned(), value.clone());
        }
    };
    put(needs.mongodb, MONGODB_URI_KEY, &connections.mongodb_uri);
    put(needs.redis, REDIS_URL_KEY, &connections.redis_url);
    put(needs.amqp, AMQP_URL_KEY, &connections.amqp_url);
    data.extend(generated.iter().map(|(k, v)| (k.clone(), v.clone())));
    let instance = names::shared_service(&platform_name, component.name());
    secrets::owned_secret(
        platform,
        names::service_connection_secret(&platform_name, component.name()),
        app_labels(component, &instance),
        &data,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_platform;

    fn connections() -> BackendConnections {
        BackendConnections {
            mongodb_uri: Some(SecretString::new("mongodb://admin:m0ngo@db:27017")),
            redis_url: Some(SecretString::new("redis://:r3dis@cache:6379/0")),
            amqp_url: Some(SecretString::new("amqp://admin:r4bbit@mq:5672/%2f")),
        }
    }

    #[test]
    fn each_service_gets_only_its_backends() {
        let platform = mk_platform();
        let keys = |component| {
            let secret = connection_secret(&platform, component, &connections(), &BTreeMap::new())
                .expect("secret");
            secret
                .data
                .unwrap_or_default()
                .into_keys()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(Component::Gateway), [REDIS_URL_KEY]);
        assert_eq!(keys(Component::Auth), [MONGODB_URI_KEY, REDIS_URL_KEY]);
        assert_eq!(keys(Component::Analytics), [AMQP_URL_KEY, MONGODB_URI_KEY]);
        let secret = connection_secret(
            &platform,
            Component::Users,
            &connections(),
            &BTreeMap::new(),
        )
        .expect("secret");
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some("acme-users-connection")
        );
        assert_eq!(secret.type_.as_deref(), Some("Opaque"));
        let owner = &secret.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("Platform", "acme")
        );
    }

    #[test]
    fn auth_values_are_generated_once_and_then_kept() {
        let first = generated_values(Component::Auth, None).expect("generated");
        let kek = first[KEY_ENCRYPTION_KEY_KEY].expose().to_owned();
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&kek)
            .expect("base64");
        assert_eq!(bytes.len(), 32);
        assert_eq!(first[ADMIN_CLIENT_ID_KEY].expose(), "machina-admin");
        assert_eq!(first[ADMIN_CLIENT_SECRET_KEY].expose().len(), 32);
        let platform = mk_platform();
        let secret =
            connection_secret(&platform, Component::Auth, &connections(), &first).expect("secret");
        let again = generated_values(Component::Auth, Some(&secret)).expect("kept");
        assert_eq!(again, first);
        assert_ne!(
            generated_values(Component::Auth, None).expect("fresh")[KEY_ENCRYPTION_KEY_KEY],
            first[KEY_ENCRYPTION_KEY_KEY]
        );
    }

    #[test]
    fn media_gets_a_signing_key_once() {
        let first = generated_values(Component::Media, None).expect("generated");
        let keys = first[SIGNING_KEYS_KEY].expose().to_owned();
        assert!(keys.starts_with("k1:") && keys.len() == 35, "{keys:?}");
        let platform = mk_platform();
        let secret =
            connection_secret(&platform, Component::Media, &connections(), &first).expect("secret");
        assert_eq!(
            generated_values(Component::Media, Some(&secret)).expect("kept"),
            first
        );
        assert!(
            generated_values(Component::Users, None)
                .expect("none")
                .is_empty()
        );
    }

    #[test]
    fn debug_of_connections_hides_the_passwords() {
        let debug = format!("{:?}", connections());
        for secret in ["m0ngo", "r3dis", "r4bbit"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
