//! Integration tests against real MongoDB, Redis (auth) and RabbitMQ, with a real auth
//! service in-process (start the servers with `devenv/up.sh`).

mod errors;
mod events;
mod gdpr;
mod helpers;
mod preferences;
mod profiles;
mod register;
mod search;
