//! [`Config`]: the content service's settings, read from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MONGODB_URI` | required | where content is stored |
//! | `MONGODB_DATABASE` | `machina_content` | the service's database |
//! | `AMQP_URL` | unset | RabbitMQ; without it events wait in the outbox |
//! | `CHANGES_EXCHANGE` | `machina.changes` | durable topic exchange of `content.published` |
//! | `JWT_JWKS_URL` / `JWT_PUBLIC_KEY` | unset | token verification; unset means no auth (every caller is `content:admin`) |
//! | `WORKFLOW_CONFIG` | built-in rules | path of a JSON file with the workflow's transitions |
//! | `DEFAULT_LOCALE` | `en` | locale of writes without one, and the read fallback |
//! | `MAX_DEPTH` | `3` | deepest `?depth=` for reference loading |
//! | `TYPE_CACHE_TTL` | `5s` | how long reads trust a cached content type (`0s`: no cache) |
//! | `SCHEDULER_INTERVAL` | `1s` | how often due scheduled publications are looked for |
//! | `CLAIM_LEASE` | `30s` | how long a replica owns a claimed job before another may retry it |
//! | `OUTBOX_INTERVAL` | `500ms` | how often the outbox relay and webhook dispatcher poll |
//! | `WEBHOOK_RETRY_BASE` | `1s` | first retry delay; doubles per attempt |
//! | `WEBHOOK_MAX_ATTEMPTS` | `8` | attempts before a delivery is marked failed |
//! | `WEBHOOK_TIMEOUT` | `10s` | per-attempt HTTP timeout |
//!
//! plus everything [`CommonConfig`] reads (`LISTEN_ADDR`, `SERVICE_NAME`, `BODY_LIMIT`, ...).

use std::time::Duration;

use machina_kit::{CommonConfig, Error, Secret, Vars};

use crate::{validate::is_locale, workflow::Workflow};

/// Everything the content service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address, logging, limits, backing-service URLs.
    pub common: CommonConfig,
    /// MongoDB connection string (`MONGODB_URI`, required).
    pub mongodb_uri: Secret<String>,
    /// Database name (`MONGODB_DATABASE`).
    pub database: String,
    /// The exchange events go to (`CHANGES_EXCHANGE`).
    pub changes_exchange: String,
    /// The `JWT_*` variables, read by the kit's verifier at startup.
    pub jwt_vars: Vars,
    /// Transition rules (`WORKFLOW_CONFIG`).
    pub workflow: Workflow,
    /// Default locale and read fallback (`DEFAULT_LOCALE`).
    pub default_locale: String,
    /// Deepest reference loading (`MAX_DEPTH`).
    pub max_depth: u32,
    /// How long reads trust a cached content type (`TYPE_CACHE_TTL`).
    pub type_cache_ttl: Duration,
    /// Scheduler poll interval (`SCHEDULER_INTERVAL`).
    pub scheduler_interval: Duration,
    /// Ownership period of a claimed job (`CLAIM_LEASE`).
    pub claim_lease: Duration,
    /// Outbox and webhook poll interval (`OUTBOX_INTERVAL`).
    pub outbox_interval: Duration,
    /// First webhook retry delay (`WEBHOOK_RETRY_BASE`).
    pub webhook_retry_base: Duration,
    /// Attempts per delivery (`WEBHOOK_MAX_ATTEMPTS`).
    pub webhook_max_attempts: u32,
    /// Per-attempt timeout (`WEBHOOK_TIMEOUT`).
    pub webhook_timeout: Duration,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> machina_kit::Result<Self> {
        Self::from_vars(&Vars::from_env())
    }

    /// Reads the configuration from `vars`.
    pub fn from_vars(vars: &Vars) -> machina_kit::Result<Self> {
        let common = CommonConfig::from_vars(vars, "content")?;
        let mongodb_uri = common
            .mongodb_uri
            .clone()
            .ok_or_else(|| Error::MissingVar {
                name: "MONGODB_URI".to_owned(),
            })?;
        let default_locale = vars.raw("DEFAULT_LOCALE").unwrap_or("en").to_owned();
        if !is_locale(&default_locale) {
            return Err(invalid(
                "DEFAULT_LOCALE",
                "a locale such as en or fr-CA",
                &default_locale,
            ));
        }
        let jwt_vars = Vars::from_pairs(
            [
                "JWT_JWKS_URL",
                "JWT_PUBLIC_KEY",
                "JWT_ALGORITHM",
                "JWT_ISSUER",
                "JWT_AUDIENCE",
            ]
            .into_iter()
            .filter_map(|name| vars.raw(name).map(|v| (name, v.to_owned()))),
        );
        let webhook_max_attempts: u32 = vars.or("WEBHOOK_MAX_ATTEMPTS", "a positive integer", 8)?;
        if webhook_max_attempts == 0 {
            return Err(invalid("WEBHOOK_MAX_ATTEMPTS", "a positive integer", "0"));
        }
        Ok(Self {
            mongodb_uri,
            database: vars
                .raw("MONGODB_DATABASE")
                .unwrap_or("machina_content")
                .to_owned(),
            changes_exchange: vars
                .raw("CHANGES_EXCHANGE")
                .unwrap_or("machina.changes")
                .to_owned(),
            jwt_vars,
            workflow: workflow(vars)?,
            default_locale,
            max_depth: vars.or("MAX_DEPTH", "a non-negative integer", 3)?,
            type_cache_ttl: vars.duration_or("TYPE_CACHE_TTL", Duration::from_secs(5))?,
            scheduler_interval: vars.duration_or("SCHEDULER_INTERVAL", Duration::from_secs(1))?,
            claim_lease: vars.duration_or("CLAIM_LEASE", Duration::from_secs(30))?,
            outbox_interval: vars.duration_or("OUTBOX_INTERVAL", Duration::from_millis(500))?,
            webhook_retry_base: vars.duration_or("WEBHOOK_RETRY_BASE", Duration::from_secs(1))?,
            webhook_max_attempts,
            webhook_timeout: vars.duration_or("WEBHOOK_TIMEOUT", Duration::from_secs(10))?,
            common,
        })
    }
}

/// The rules in the file `WORKFLOW_CONFIG` names, or the defaults.
fn workflow(vars: &Vars) -> machina_kit::Result<Workflow> {
    let Some(path) = vars.raw("WORKFLOW_CONFIG") else {
        return Ok(Workflow::default());
    };
    let expected = "a readable JSON file {\"transitions\": [{\"from\", \"to\", \"permissions\"}]}";
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid("WORKFLOW_CONFIG", expected, &format!("{path} ({e})")))?;
    Workflow::from_json(&text)
        .map_err(|e| invalid("WORKFLOW_CONFIG", expected, &format!("{path} ({e})")))
}

fn invalid(name: &str, expected: &str, value: &str) -> Error {
    Error::InvalidVar {
        name: name.to_owned(),
        expected: expected.to_owned(),
        value: value.to_owned(),
    }
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
    fn defaults() {
        let config =
            Config::from_vars(&Vars::from_pairs([("MONGODB_URI", "mongodb://x")])).unwrap();
        assert_eq!(config.database, "machina_content");
        assert_eq!(config.changes_exchange, "machina.changes");
        assert_eq!(config.default_locale, "en");
        assert_eq!(config.workflow, Workflow::default());
        assert_eq!(config.max_depth, 3);
    }

    #[test]
    fn bad_workflow_file_is_named() {
        let vars = Vars::from_pairs([
            ("MONGODB_URI", "mongodb://x"),
            ("WORKFLOW_CONFIG", "/nonexistent.json"),
        ]);
        let err = Config::from_vars(&vars).unwrap_err();
        assert!(err.to_string().contains("WORKFLOW_CONFIG"), "{err}");
    }
}
