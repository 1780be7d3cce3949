//! The provisioners against the real backing services started by `devenv/up.sh`
//! (SecantusDB for MongoDB, RabbitMQ with its management API). Every test works in its
//! own database or vhost, so they run in parallel; none skips when a server is down.

mod mongodb;
mod rabbitmq;

use machina_devenv::{BackingServices, UP_COMMAND};
use machina_operator::secrets::SecretString;
use std::fmt::Display;

/// The backing services' settings; panics naming `devenv/up.sh` when they are missing.
fn services() -> BackingServices {
    BackingServices::load_or_panic()
}

/// Unwraps a result of a backing-service call, failing with the command to run.
#[track_caller]
fn must<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what}: {e}\n(are the backing services up? run `{UP_COMMAND}`)"),
    }
}

/// A unique DNS-label namespace for one test.
fn unique_namespace(prefix: &str) -> String {
    machina_devenv::unique_name(prefix)
        .to_ascii_lowercase()
        .replace('_', "-")
        .chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// A devenv secret as the operator's secret type.
fn secret(value: &machina_devenv::Secret) -> SecretString {
    SecretString::new(value.expose())
}
