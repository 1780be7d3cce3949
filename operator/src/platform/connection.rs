//! The connection Secret of a shared service: the connection strings of the backends it
//! uses, taken from the admin Secrets the Platform references.

use super::builders::{AMQP_URL_KEY, MONGODB_URI_KEY, REDIS_URL_KEY, app_labels, backends};
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

/// The connection Secret `<platform>-<service>-connection` of `component`, with only the
/// keys of the backends that service uses.
pub fn connection_secret(
    platform: &Platform,
    component: Component,
    connections: &BackendConnections,
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
            let secret = connection_secret(&platform, component, &connections()).expect("secret");
            secret
                .data
                .unwrap_or_default()
                .into_keys()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(Component::Gateway), [REDIS_URL_KEY]);
        assert_eq!(keys(Component::Auth), [MONGODB_URI_KEY, REDIS_URL_KEY]);
        assert_eq!(keys(Component::Analytics), [AMQP_URL_KEY, MONGODB_URI_KEY]);
        let secret =
            connection_secret(&platform, Component::Users, &connections()).expect("secret");
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
    fn debug_of_connections_hides_the_passwords() {
        let debug = format!("{:?}", connections());
        for secret in ["m0ngo", "r3dis", "r4bbit"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
