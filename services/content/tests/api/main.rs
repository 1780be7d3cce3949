//! HTTP tests of the content service against the real MongoDB (SecantusDB) and
//! RabbitMQ started by `devenv/up.sh`; each test gets a fresh database (and vhost
//! when it uses RabbitMQ).

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod events;
mod helpers;
mod history;
mod locales;
mod relations;
mod schedule;
mod types;
mod webhooks;
mod workflow;
