//! [`CommonConfig`]: the settings every service reads from its environment.
//!
//! | variable           | default        | meaning                                   |
//! |--------------------|----------------|-------------------------------------------|
//! | `LISTEN_ADDR`      | `0.0.0.0:8080` | where the HTTP server listens             |
//! | `SERVICE_NAME`     | per service    | name in logs and metrics                  |
//! | `LOG_LEVEL`        | `RUST_LOG`, else `info` | an `EnvFilter` directive          |
//! | `LOG_FORMAT`       | `json`         | `json` or `pretty`                        |
//! | `BODY_LIMIT`       | `1MiB`         | largest accepted request body             |
//! | `REQUEST_TIMEOUT`  | `30s`          | a request running longer gets a 504       |
//! | `SHUTDOWN_GRACE`   | `30s`          | how long in-flight requests may finish    |
//! | `MONGODB_URI`      | unset          | MongoDB connection string (secret)        |
//! | `REDIS_URL`        | unset          | Redis URL (secret)                        |
//! | `AMQP_URL`         | unset          | RabbitMQ URL (secret)                     |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset | OTLP/HTTP base URL for trace export |

use std::{net::SocketAddr, str::FromStr, time::Duration};

use tracing_subscriber::EnvFilter;

use crate::{Error, Result, Secret, Vars};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line, with span fields (request id); for production.
    #[default]
    Json,
    /// Human-readable, coloured; for development.
    Pretty,
}

impl FromStr for LogFormat {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "pretty" | "text" => Ok(Self::Pretty),
            _ => Err(()),
        }
    }
}

/// Settings shared by every service, read from the environment.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// Address the HTTP server binds (`LISTEN_ADDR`).
    pub listen_addr: SocketAddr,
    /// Name used in logs (`SERVICE_NAME`).
    pub service_name: String,
    /// `EnvFilter` directive (`LOG_LEVEL`, else `RUST_LOG`, else `info`); validated on load.
    pub log_level: String,
    /// Log output format (`LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Largest request body accepted, in bytes (`BODY_LIMIT`); larger gets a 413.
    pub body_limit: usize,
    /// Longest a request may run (`REQUEST_TIMEOUT`); longer gets a 504.
    pub request_timeout: Duration,
    /// How long in-flight requests may take to finish after a shutdown signal (`SHUTDOWN_GRACE`).
    pub shutdown_grace: Duration,
    /// MongoDB connection string, if this service uses MongoDB (`MONGODB_URI`).
    pub mongodb_uri: Option<Secret<String>>,
    /// Redis URL, if this service uses Redis (`REDIS_URL`).
    pub redis_url: Option<Secret<String>>,
    /// RabbitMQ URL, if this service uses RabbitMQ (`AMQP_URL`).
    pub amqp_url: Option<Secret<String>>,
    /// OTLP/HTTP collector base URL such as `http://otel-collector:4318`
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT`); traces are exported only when set.
    pub otlp_endpoint: Option<String>,
}

impl CommonConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env(default_service_name: &str) -> Result<Self> {
        Self::from_vars(&Vars::from_env(), default_service_name)
    }

    /// Reads the configuration from `vars`; `default_service_name` is used when
    /// `SERVICE_NAME` is unset.
    pub fn from_vars(vars: &Vars, default_service_name: &str) -> Result<Self> {
        let log_level = vars
            .raw("LOG_LEVEL")
            .or_else(|| vars.raw("RUST_LOG"))
            .unwrap_or("info")
            .to_owned();
        if EnvFilter::try_new(&log_level).is_err() {
            let name = if vars.raw("LOG_LEVEL").is_some() {
                "LOG_LEVEL"
            } else {
                "RUST_LOG"
            };
            return Err(Error::InvalidVar {
                name: name.to_owned(),
                expected: "a tracing filter such as info or machina=debug,tower_http=warn"
                    .to_owned(),
                value: log_level,
            });
        }
        Ok(Self {
            listen_addr: vars.or(
                "LISTEN_ADDR",
                "a socket address such as 0.0.0.0:8080",
                SocketAddr::from(([0, 0, 0, 0], 8080)),
            )?,
            service_name: vars
                .raw("SERVICE_NAME")
                .unwrap_or(default_service_name)
                .to_owned(),
            log_level,
            log_format: vars.or("LOG_FORMAT", "json or pretty", LogFormat::Json)?,
            body_limit: vars.bytes_or("BODY_LIMIT", 1 << 20)?,
            request_timeout: vars.duration_or("REQUEST_TIMEOUT", Duration::from_secs(30))?,
            shutdown_grace: vars.duration_or("SHUTDOWN_GRACE", Duration::from_secs(30))?,
            mongodb_uri: secret(vars, "MONGODB_URI"),
            redis_url: secret(vars, "REDIS_URL"),
            amqp_url: secret(vars, "AMQP_URL"),
            otlp_endpoint: vars.optional_with(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "an http:// URL such as http://otel-collector:4318",
                |v| v.starts_with("http://").then(|| v.to_owned()),
            )?,
        })
    }
}

fn secret(vars: &Vars, name: &str) -> Option<Secret<String>> {
    vars.raw(name).map(|v| Secret::new(v.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = CommonConfig::from_vars(&Vars::default(), "templates").unwrap();
        assert_eq!(config.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(config.service_name, "templates");
        assert_eq!(config.log_level, "info");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.body_limit, 1 << 20);
        assert!(config.redis_url.is_none());
    }

    #[test]
    fn reads_values() {
        let vars = Vars::from_pairs([
            ("LISTEN_ADDR", "127.0.0.1:9000"),
            ("LOG_FORMAT", "pretty"),
            ("BODY_LIMIT", "64KiB"),
            ("REQUEST_TIMEOUT", "250ms"),
            ("REDIS_URL", "redis://:pw@localhost"),
        ]);
        let config = CommonConfig::from_vars(&vars, "x").unwrap();
        assert_eq!(config.listen_addr.port(), 9000);
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.body_limit, 64 * 1024);
        assert_eq!(config.request_timeout, Duration::from_millis(250));
        assert_eq!(config.redis_url.unwrap().expose(), "redis://:pw@localhost");
    }

    #[test]
    fn bad_log_level_names_the_variable() {
        let vars = Vars::from_pairs([("LOG_LEVEL", "info,[[")]);
        let err = CommonConfig::from_vars(&vars, "x").unwrap_err();
        assert!(err.to_string().contains("LOG_LEVEL"), "{err}");
    }
}
