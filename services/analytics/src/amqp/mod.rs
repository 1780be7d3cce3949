//! RabbitMQ: the topology the service declares (events exchange, store queue) and the
//! publisher of accepted events (persistent, mandatory, with publisher confirms).

pub mod publisher;
pub mod topology;

pub use publisher::{PublishError, Publisher};
