//! Test support shared by the services' integration tests (a dev-dependency only):
//! [`Reply`] (status, headers and JSON body with the assertions every API test makes),
//! [`keys`] (the test Ed25519 key, tokens signed with it, its JWKS served on loopback),
//! [`TestDatabase`] (a database dropped when the test ends, also when it fails) and [`Tap`]
//! (a queue of the test's own bound to a topic exchange).

mod amqp;
mod database;
pub mod keys;
mod reply;

pub use amqp::Tap;
pub use database::TestDatabase;
pub use reply::Reply;
