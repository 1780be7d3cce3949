//! HTTP-level tests of the kit: each test starts an [`machina_kit::App`] on
//! `127.0.0.1:0` and talks to it with a real client. One test binary.

mod amqp;
mod auth;
mod config;
mod errors;
mod helpers;
mod mongo;
mod ops;
mod redis;
mod request_id;
mod shutdown;
mod telemetry;
#[cfg(feature = "otel")]
mod traces;
