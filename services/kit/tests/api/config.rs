//! Configuration errors name the variable; secrets never print.

use machina_kit::{CommonConfig, Error, Vars};

#[test]
fn invalid_duration_names_variable_and_value() {
    let vars = Vars::from_pairs([("REQUEST_TIMEOUT", "forever")]);
    let err = CommonConfig::from_vars(&vars, "svc").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("REQUEST_TIMEOUT"), "{message}");
    assert!(message.contains("\"forever\""), "{message}");
    assert!(message.contains("expected a duration"), "{message}");
}

#[test]
fn invalid_listen_addr_names_variable() {
    let vars = Vars::from_pairs([("LISTEN_ADDR", "localhost")]);
    let err = CommonConfig::from_vars(&vars, "svc").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidVar { name, .. } if name == "LISTEN_ADDR"),
        "{err:?}"
    );
}

#[test]
fn invalid_log_format_names_variable() {
    let vars = Vars::from_pairs([("LOG_FORMAT", "xml")]);
    let err = CommonConfig::from_vars(&vars, "svc").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"environment variable LOG_FORMAT is invalid: expected json or pretty, got "xml""#
    );
}

#[test]
fn missing_required_variable_is_named() {
    let err = Vars::default()
        .required::<String>("TEMPLATES_URL", "a URL")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable TEMPLATES_URL is required but not set"
    );
}

#[test]
fn config_debug_does_not_leak_secrets() {
    let vars = Vars::from_pairs([
        ("MONGODB_URI", "mongodb://app:s3cr3t-mongo@db:27017"),
        ("REDIS_URL", "redis://:s3cr3t-redis@cache:6379"),
        ("AMQP_URL", "amqp://app:s3cr3t-amqp@mq:5672/%2f"),
    ]);
    let config = CommonConfig::from_vars(&vars, "svc").unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
    assert_eq!(
        config.redis_url.as_ref().map(|s| s.expose().as_str()),
        Some("redis://:s3cr3t-redis@cache:6379")
    );
}
