//! HTTP tests of the template service against the real MongoDB (SecantusDB) and
//! Redis started by `devenv/up.sh`; each test gets a fresh database and channel.

mod bundle;
mod cache;
mod errors;
mod helpers;
mod render;
mod versions;
