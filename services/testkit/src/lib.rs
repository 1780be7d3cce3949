//! Test support shared by the services' integration tests (a dev-dependency only):
//! [`Reply`] (status, headers and JSON body with the assertions every API test makes),
//! [`keys`] (the test Ed25519 key, tokens signed with it, its JWKS served on loopback) and
//! [`TestDatabase`] (a database dropped when the test ends, also when it fails).

mod database;
pub mod keys;
mod reply;

pub use database::TestDatabase;
pub use reply::Reply;
