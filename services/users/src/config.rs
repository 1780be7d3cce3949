//! [`Config`]: the user service's settings, read from the environment.
//!
//! | variable                 | default            | meaning |
//! |--------------------------|--------------------|---------|
//! | `MONGODB_URI`            | required           | profiles and the event outbox |
//! | `MONGODB_DATABASE`       | `machina_users`    | the database |
//! | `AMQP_URL`               | required           | RabbitMQ for change events |
//! | `CHANGES_EXCHANGE`       | `machina.changes`  | durable topic exchange of `user.*` events |
//! | `AUTH_URL`               | required           | base URL of the auth service (registration, passwords) |
//! | `JWT_JWKS_URL` / `JWT_PUBLIC_KEY` | one required | token verification (kit; `JWT_ISSUER`, `JWT_AUDIENCE` optional) |
//! | `TRAITS_SCHEMA`          | unset              | path of the JSON Schema profile traits must match (unset: any object) |
//! | `ADMIN_PERMISSION`       | `users:admin`      | permission that may read and modify every profile |
//! | `PREFERENCES_MAX_BYTES`  | `16KiB`            | largest stored preferences object (serialised JSON) |
//! | `OUTBOX_POLL`            | `1s`               | how often the relay looks for unsent events |
//!
//! plus everything [`CommonConfig`] reads (`LISTEN_ADDR`, `BODY_LIMIT`, ...).

use std::{path::PathBuf, time::Duration};

use machina_kit::{CommonConfig, Error, Secret, Vars};

/// Everything the user service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address, logging, limits, backing-service URLs.
    pub common: CommonConfig,
    /// MongoDB connection string.
    pub mongodb_uri: Secret<String>,
    /// Database name.
    pub database: String,
    /// RabbitMQ URL.
    pub amqp_url: Secret<String>,
    /// Exchange change events go to.
    pub changes_exchange: String,
    /// Base URL of the auth service, without a trailing slash.
    pub auth_url: String,
    /// JSON Schema file for traits.
    pub traits_schema: Option<PathBuf>,
    /// Permission granting access to every profile.
    pub admin_permission: String,
    /// Size limit of a preferences object.
    pub preferences_max_bytes: usize,
    /// Relay poll interval.
    pub outbox_poll: Duration,
    /// Only the `JWT_*` variables, for the kit's `JwtVerifier::from_vars`
    /// (kept apart so `Debug` never prints the other, secret, values).
    pub jwt_vars: Vars,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> machina_kit::Result<Self> {
        Self::from_vars(&Vars::from_env())
    }

    /// Reads the configuration from `vars`.
    pub fn from_vars(vars: &Vars) -> machina_kit::Result<Self> {
        let common = CommonConfig::from_vars(vars, "users")?;
        let mongodb_uri = common
            .mongodb_uri
            .clone()
            .ok_or_else(|| missing("MONGODB_URI"))?;
        let amqp_url = common.amqp_url.clone().ok_or_else(|| missing("AMQP_URL"))?;
        let auth_url = vars
            .optional_with("AUTH_URL", "an http(s):// URL", |v| {
                (v.starts_with("http://") || v.starts_with("https://"))
                    .then(|| v.trim_end_matches('/').to_owned())
            })?
            .ok_or_else(|| missing("AUTH_URL"))?;
        if vars.raw("JWT_JWKS_URL").is_none() && vars.raw("JWT_PUBLIC_KEY").is_none() {
            return Err(missing("JWT_JWKS_URL"));
        }
        Ok(Self {
            mongodb_uri,
            database: vars
                .raw("MONGODB_DATABASE")
                .unwrap_or("machina_users")
                .to_owned(),
            amqp_url,
            changes_exchange: vars
                .raw("CHANGES_EXCHANGE")
                .unwrap_or("machina.changes")
                .to_owned(),
            auth_url,
            traits_schema: vars.raw("TRAITS_SCHEMA").map(PathBuf::from),
            admin_permission: vars
                .raw("ADMIN_PERMISSION")
                .unwrap_or("users:admin")
                .to_owned(),
            preferences_max_bytes: vars.bytes_or("PREFERENCES_MAX_BYTES", 16 * 1024)?,
            outbox_poll: vars.duration_or("OUTBOX_POLL", Duration::from_secs(1))?,
            jwt_vars: Vars::from_pairs(
                JWT_VARS
                    .iter()
                    .filter_map(|name| vars.raw(name).map(|value| (*name, value.to_owned()))),
            ),
            common,
        })
    }
}

/// What the kit's `JwtVerifier::from_vars` reads.
const JWT_VARS: [&str; 5] = [
    "JWT_JWKS_URL",
    "JWT_PUBLIC_KEY",
    "JWT_ALGORITHM",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
];

fn missing(name: &str) -> Error {
    Error::MissingVar {
        name: name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("MONGODB_URI", "mongodb://localhost"),
            ("AMQP_URL", "amqp://localhost"),
            ("AUTH_URL", "http://auth:8080/"),
            ("JWT_JWKS_URL", "http://auth:8080/.well-known/jwks.json"),
        ]
    }

    #[test]
    fn defaults() {
        let config = Config::from_vars(&Vars::from_pairs(base())).unwrap();
        assert_eq!(config.auth_url, "http://auth:8080");
        assert_eq!(config.changes_exchange, "machina.changes");
        assert_eq!(config.admin_permission, "users:admin");
        assert_eq!(config.database, "machina_users");
        assert_eq!(config.preferences_max_bytes, 16 * 1024);
    }

    #[test]
    fn names_what_is_missing() {
        for name in ["MONGODB_URI", "AMQP_URL", "AUTH_URL", "JWT_JWKS_URL"] {
            let pairs: Vec<_> = base().into_iter().filter(|(k, _)| *k != name).collect();
            let err = Config::from_vars(&Vars::from_pairs(pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn auth_url_must_be_http() {
        let mut pairs = base();
        pairs.retain(|(k, _)| *k != "AUTH_URL");
        pairs.push(("AUTH_URL", "auth:8080"));
        let err = Config::from_vars(&Vars::from_pairs(pairs)).unwrap_err();
        assert!(err.to_string().contains("AUTH_URL"), "{err}");
    }
}
