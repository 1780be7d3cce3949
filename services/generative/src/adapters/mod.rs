//! The real backends: MongoDB ([`MongoStore`]), Redis ([`RedisCache`]) and RabbitMQ
//! ([`AmqpPublisher`], [`JobQueue`]), over the kit's connection helpers.

pub mod mongo;
pub mod rabbit;
pub mod redis;

pub use mongo::MongoStore;
pub use rabbit::{AmqpPublisher, JobQueue};
pub use redis::RedisCache;
