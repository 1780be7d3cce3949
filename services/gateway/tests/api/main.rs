//! Integration tests: real gateways on `127.0.0.1:0` in front of an axum test
//! upstream, with real Redis for rate limits (start it with `devenv/up.sh`).

// Helpers outside #[test] functions fail the test by panicking on setup errors.
#![allow(clippy::unwrap_used)]

mod auth;
mod helpers;
mod limits;
mod resilience;
mod routing;
mod upstream;
