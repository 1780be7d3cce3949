//! HTTP tests of the insights service against the real MongoDB (SecantusDB)
//! and Redis started by `devenv/up.sh`; each test gets a fresh database and
//! Redis key prefix, so tests run in parallel.

mod cache;
mod errors;
mod helpers;
mod incremental;
mod insights;
mod recommendations;
