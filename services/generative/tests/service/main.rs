//! Integration tests of the worker against the real Redis, RabbitMQ and MongoDB started by
//! `devenv/up.sh` (each test: a fresh database, vhost and Redis prefix).

mod cross_service;
mod generate;
mod jobs;
mod loops;
mod support;
mod templates;
