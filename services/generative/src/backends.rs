//! The I/O the components need, as traits: documents (MongoDB), a cache (Redis) and a
//! publisher (RabbitMQ). The service implements them over its connections; tests use the
//! in-memory implementations of [`crate::testing`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// A backend call failed.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct BackendError {
    /// What was being done, for example `find in products`.
    pub operation: String,
    /// The backend's message.
    pub message: String,
}

impl BackendError {
    /// An error of `operation` with the backend's `message`.
    pub fn new(operation: impl Into<String>, message: impl ToString) -> Self {
        Self {
            operation: operation.into(),
            message: message.to_string(),
        }
    }
}

/// Reads and writes JSON documents (MongoDB).
#[async_trait]
pub trait DocumentStore: Send + Sync + std::fmt::Debug {
    /// The first document of `collection` in `database` (the pipeline's own when `None`)
    /// matching `filter`.
    async fn find_one(
        &self,
        database: Option<&str>,
        collection: &str,
        filter: &Value,
    ) -> Result<Option<Value>, BackendError>;

    /// Inserts or replaces the document with id `id` in the pipeline's `collection`.
    /// Idempotent, so a resumed run does not store a result twice.
    async fn put(&self, collection: &str, id: &str, document: &Value) -> Result<(), BackendError>;
}

/// A key-value cache with expiry (Redis).
#[async_trait]
pub trait Cache: Send + Sync + std::fmt::Debug {
    /// The value under `key`, when present and fresh.
    async fn get(&self, key: &str) -> Result<Option<Value>, BackendError>;

    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: &Value, ttl: Duration) -> Result<(), BackendError>;
}

/// A message the Publish component sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Exchange; `None` means the Platform's events exchange.
    pub exchange: Option<String>,
    /// Routing key.
    pub routing_key: String,
    /// Message id, stable across retries of a run (`<run id>:<component>`), for deduplication.
    pub message_id: String,
    /// JSON body.
    pub payload: Value,
}

/// Publishes messages (RabbitMQ, with publisher confirms).
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// Publishes `message`; returns once the broker confirmed it.
    async fn publish(&self, message: &Message) -> Result<(), BackendError>;
}
