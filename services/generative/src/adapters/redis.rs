//! Redis: the [`Cache`] of Cache components. Values are JSON text under
//! `<prefix><key>` with the component's TTL.

use crate::backends::{BackendError, Cache};
use async_trait::async_trait;
use machina_kit::Redis;
use redis::AsyncCommands;
use serde_json::Value;
use std::time::Duration;

/// A cache in Redis; `prefix` separates pipelines (and tests) sharing one server.
#[derive(Debug, Clone)]
pub struct RedisCache {
    redis: Redis,
    prefix: String,
}

impl RedisCache {
    /// A cache over `redis` whose keys start with `prefix`.
    pub fn new(redis: Redis, prefix: impl Into<String>) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Value>, BackendError> {
        let mut conn = self.redis.connection();
        let text: Option<String> = conn.get(self.key(key)).await.map_err(|e| {
            let _ = self.redis.unavailable(&e);
            BackendError::new("cache get", e)
        })?;
        // A value that is not JSON (written by something else) is a miss, not an error.
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    async fn set(&self, key: &str, value: &Value, ttl: Duration) -> Result<(), BackendError> {
        let mut conn = self.redis.connection();
        let seconds = ttl.as_secs().max(1);
        let () = conn
            .set_ex(self.key(key), value.to_string(), seconds)
            .await
            .map_err(|e| {
                let _ = self.redis.unavailable(&e);
                BackendError::new("cache set", e)
            })?;
        Ok(())
    }
}
