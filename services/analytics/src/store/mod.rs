//! MongoDB: the raw `events` collection (documents, indexes, idempotent inserts, scans)
//! and the store consumer that moves events from RabbitMQ into it.

pub mod consumer;
pub mod events;

pub use events::{EventQuery, EventStore, insert_idempotent};
