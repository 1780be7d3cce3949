//! Integration tests against real MongoDB and Redis (start them with `devenv/up.sh`).

mod admin;
mod code;
mod delete;
mod errors;
mod grants;
mod helpers;
mod jwks_other_language;
mod refresh;
mod throttle;
mod verify;
