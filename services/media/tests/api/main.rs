//! The media service's HTTP API against the real MongoDB (SecantusDB) and RabbitMQ
//! started by `devenv/up.sh`; each test gets a fresh database and exchange.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a panic is the failure report

mod delivery;
mod events;
mod helpers;
mod ops;
mod resumable;
mod signed;
mod uploads;
mod video;
