//! [`Config`]: the template service's settings, read from the environment.
//!
//! | variable                    | default                     | meaning |
//! |-----------------------------|-----------------------------|---------|
//! | `MONGODB_URI`               | required                    | where templates are stored |
//! | `MONGODB_DATABASE`          | `machina_templates`         | database holding `templates` and `template_versions` |
//! | `REDIS_URL`                 | unset                       | enables cross-replica cache invalidation over pub/sub |
//! | `TEMPLATES_CHANGED_CHANNEL` | `machina:templates:changed` | the pub/sub channel |
//! | `ACTIVE_VERSION_TTL`        | `5s`                        | how long a replica trusts a cached active version without Redis |
//! | `TEMPLATE_FUEL`             | `1000000`                   | default and maximum fuel per render |
//! | `TEMPLATE_MAX_RECURSION`    | `64`                        | default and maximum nesting depth |
//! | `TEMPLATE_MAX_OUTPUT`       | `1MiB`                      | default and maximum output size |
//!
//! plus everything [`CommonConfig`] reads (`LISTEN_ADDR`, `BODY_LIMIT`, ...).

use std::time::Duration;

use machina_kit::{CommonConfig, Secret, Vars};
use machina_template_engine::Limits;

/// The channel replicas announce version changes on.
pub const DEFAULT_CHANGED_CHANNEL: &str = "machina:templates:changed";

/// How long a cached active version is trusted when Redis pub/sub is on: a
/// safety net for messages lost while the subscription reconnects.
pub const ACTIVE_VERSION_TTL_WITH_REDIS: Duration = Duration::from_secs(60);

/// Everything the template service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address, logging, limits, backing-service URLs.
    pub common: CommonConfig,
    /// MongoDB connection string (`MONGODB_URI`, required).
    pub mongodb_uri: Secret<String>,
    /// Database name (`MONGODB_DATABASE`).
    pub database: String,
    /// Channel for cache invalidation messages (`TEMPLATES_CHANGED_CHANNEL`).
    pub changed_channel: String,
    /// Trust period of a cached active version without Redis (`ACTIVE_VERSION_TTL`).
    pub active_version_ttl: Duration,
    /// Default sandbox limits, which are also the caps on per-template overrides
    /// (`TEMPLATE_FUEL`, `TEMPLATE_MAX_RECURSION`, `TEMPLATE_MAX_OUTPUT`).
    pub limits: Limits,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> machina_kit::Result<Self> {
        Self::from_vars(&Vars::from_env())
    }

    /// Reads the configuration from `vars`.
    pub fn from_vars(vars: &Vars) -> machina_kit::Result<Self> {
        let common = CommonConfig::from_vars(vars, "templates")?;
        let mongodb_uri =
            common
                .mongodb_uri
                .clone()
                .ok_or_else(|| machina_kit::Error::MissingVar {
                    name: "MONGODB_URI".to_owned(),
                })?;
        let defaults = Limits::default();
        let limits = Limits {
            fuel: positive(vars, "TEMPLATE_FUEL", defaults.fuel)?,
            max_recursion_depth: positive(
                vars,
                "TEMPLATE_MAX_RECURSION",
                defaults.max_recursion_depth,
            )?,
            max_output_bytes: vars.bytes_or("TEMPLATE_MAX_OUTPUT", defaults.max_output_bytes)?,
        };
        if limits.max_output_bytes == 0 {
            return Err(machina_kit::Error::InvalidVar {
                name: "TEMPLATE_MAX_OUTPUT".to_owned(),
                expected: "a size of at least 1 byte".to_owned(),
                value: "0".to_owned(),
            });
        }
        Ok(Self {
            mongodb_uri,
            database: vars
                .raw("MONGODB_DATABASE")
                .unwrap_or("machina_templates")
                .to_owned(),
            changed_channel: vars
                .raw("TEMPLATES_CHANGED_CHANNEL")
                .unwrap_or(DEFAULT_CHANGED_CHANNEL)
                .to_owned(),
            active_version_ttl: vars.duration_or("ACTIVE_VERSION_TTL", Duration::from_secs(5))?,
            limits,
            common,
        })
    }
}

/// A positive integer variable.
fn positive<T>(vars: &Vars, name: &str, default: T) -> machina_kit::Result<T>
where
    T: std::str::FromStr + PartialOrd + Default,
{
    let value = vars.or(name, "a positive integer", default)?;
    if value <= T::default() {
        return Err(machina_kit::Error::InvalidVar {
            name: name.to_owned(),
            expected: "a positive integer".to_owned(),
            value: vars.raw(name).unwrap_or_default().to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mongodb_uri_is_required() {
        let err = Config::from_vars(&Vars::default()).unwrap_err();
        assert!(err.to_string().contains("MONGODB_URI"), "{err}");
    }

    #[test]
    fn reads_limits_and_defaults() {
        let vars = Vars::from_pairs([
            ("MONGODB_URI", "mongodb://localhost"),
            ("TEMPLATE_FUEL", "5000"),
            ("TEMPLATE_MAX_OUTPUT", "64KiB"),
        ]);
        let config = Config::from_vars(&vars).unwrap();
        assert_eq!(config.database, "machina_templates");
        assert_eq!(config.limits.fuel, 5000);
        assert_eq!(config.limits.max_recursion_depth, 64);
        assert_eq!(config.limits.max_output_bytes, 64 * 1024);
        assert_eq!(config.active_version_ttl, Duration::from_secs(5));
        assert_eq!(config.changed_channel, DEFAULT_CHANGED_CHANNEL);
    }

    #[test]
    fn zero_fuel_is_rejected_by_name() {
        let vars = Vars::from_pairs([("MONGODB_URI", "mongodb://x"), ("TEMPLATE_FUEL", "0")]);
        let err = Config::from_vars(&vars).unwrap_err();
        assert!(err.to_string().contains("TEMPLATE_FUEL"), "{err}");
    }
}
