//! In-memory implementations of the backend traits and of [`Checkpoints`].

use super::lock;
use crate::backends::{BackendError, Cache, DocumentStore, Message, Publisher};
use crate::executor::{Checkpoint, Checkpoints};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Documents by collection; `find_one` matches top-level fields by equality.
#[derive(Debug, Default)]
pub struct MemoryDocuments {
    collections: Mutex<HashMap<String, Vec<Value>>>,
}

impl MemoryDocuments {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `document` to `collection`.
    pub fn insert(&self, collection: &str, document: Value) {
        lock(&self.collections)
            .entry(collection.to_owned())
            .or_default()
            .push(document);
    }

    /// The documents of `collection`.
    pub fn documents(&self, collection: &str) -> Vec<Value> {
        lock(&self.collections)
            .get(collection)
            .cloned()
            .unwrap_or_default()
    }
}

fn matches(document: &Value, filter: &Value) -> bool {
    match filter.as_object() {
        Some(fields) => fields.iter().all(|(k, v)| document.get(k) == Some(v)),
        None => false,
    }
}

#[async_trait]
impl DocumentStore for MemoryDocuments {
    async fn find_one(
        &self,
        _database: Option<&str>,
        collection: &str,
        filter: &Value,
    ) -> Result<Option<Value>, BackendError> {
        let collections = lock(&self.collections);
        let found = collections
            .get(collection)
            .and_then(|docs| docs.iter().find(|d| matches(d, filter)));
        Ok(found.cloned())
    }

    async fn put(&self, collection: &str, id: &str, document: &Value) -> Result<(), BackendError> {
        let mut document = document.clone();
        if let Some(fields) = document.as_object_mut() {
            fields.insert("_id".to_owned(), Value::String(id.to_owned()));
        }
        let mut collections = lock(&self.collections);
        let docs = collections.entry(collection.to_owned()).or_default();
        docs.retain(|d| d.get("_id").and_then(Value::as_str) != Some(id));
        docs.push(document);
        Ok(())
    }
}

/// A cache with expiry.
#[derive(Debug, Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (Value, Instant)>>,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys currently stored (fresh or not).
    pub fn keys(&self) -> Vec<String> {
        lock(&self.entries).keys().cloned().collect()
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Value>, BackendError> {
        let entries = lock(&self.entries);
        let fresh = entries
            .get(key)
            .filter(|(_, expires)| *expires > Instant::now());
        Ok(fresh.map(|(value, _)| value.clone()))
    }

    async fn set(&self, key: &str, value: &Value, ttl: Duration) -> Result<(), BackendError> {
        lock(&self.entries).insert(key.to_owned(), (value.clone(), Instant::now() + ttl));
        Ok(())
    }
}

/// Records published messages.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    messages: Mutex<Vec<Message>>,
}

impl MemoryPublisher {
    /// A publisher with no messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages published, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.messages).clone()
    }
}

#[async_trait]
impl Publisher for MemoryPublisher {
    async fn publish(&self, message: &Message) -> Result<(), BackendError> {
        lock(&self.messages).push(message.clone());
        Ok(())
    }
}

/// Checkpoints by run id and component.
#[derive(Debug, Default)]
pub struct MemoryCheckpoints {
    runs: Mutex<HashMap<String, HashMap<String, Checkpoint>>>,
}

impl MemoryCheckpoints {
    /// No checkpoints.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Checkpoints for MemoryCheckpoints {
    async fn load(&self, run_id: &str) -> Result<HashMap<String, Checkpoint>, BackendError> {
        Ok(lock(&self.runs).get(run_id).cloned().unwrap_or_default())
    }

    async fn save(
        &self,
        run_id: &str,
        component: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), BackendError> {
        lock(&self.runs)
            .entry(run_id.to_owned())
            .or_default()
            .insert(component.to_owned(), checkpoint.clone());
        Ok(())
    }

    async fn clear(&self, run_id: &str) -> Result<(), BackendError> {
        lock(&self.runs).remove(run_id);
        Ok(())
    }
}
