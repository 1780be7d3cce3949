//! Cross-replica cache invalidation over Redis pub/sub.
//!
//! Every version change (create, update, activate, retire) is published as
//! `{"name", "version"}` on the channel (`machina:templates:changed` by default);
//! every replica subscribes and evicts what depends on that name. A lost
//! subscription clears the cache and drops to the short TTL until it is back,
//! since messages may have been missed meanwhile.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use machina_kit::{Metrics, Redis, Secret};
use serde::{Deserialize, Serialize};
use tokio::{sync::watch, task::JoinHandle};

use crate::cache::Cache;

/// A change announcement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Changed {
    /// The template that changed.
    pub name: String,
    /// The version now active (0 when retired).
    pub version: i64,
}

/// Publishes changes (a no-op without Redis).
#[derive(Debug, Clone)]
pub struct Notifier {
    redis: Option<Redis>,
    channel: String,
}

impl Notifier {
    /// A notifier publishing on `channel` through `redis`, if configured.
    pub fn new(redis: Option<Redis>, channel: String) -> Self {
        Self { redis, channel }
    }

    /// Announces a change; a failure is logged and counted, not returned: the
    /// write is already committed and other replicas fall back to their TTL.
    pub async fn publish(&self, name: &str, version: i64) {
        let Some(redis) = &self.redis else { return };
        let message = Changed {
            name: name.to_owned(),
            version,
        };
        let payload = serde_json::to_string(&message).unwrap_or_default();
        let mut conn = redis.connection();
        let outcome = redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(payload)
            .query_async::<i64>(&mut conn)
            .await;
        if let Err(err) = outcome {
            // `unavailable` counts and logs the failure; the 503 it builds is dropped.
            let _ = redis.unavailable(&err);
        }
    }
}

/// The subscriber task; aborted when dropped.
#[derive(Debug)]
pub struct Subscriber {
    task: JoinHandle<()>,
    subscribed: watch::Receiver<bool>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Subscriber {
    /// Starts subscribing to `channel` at `url`, evicting from `cache` on every message.
    pub fn spawn(
        url: &Secret<String>,
        channel: String,
        cache: Arc<Cache>,
        metrics: Metrics,
    ) -> machina_kit::Result<Self> {
        let client = redis::Client::open(url.expose().as_str()).map_err(|e| {
            machina_kit::Error::Connect {
                dependency: "redis",
                reason: format!("{:?}", e.kind()),
            }
        })?;
        let (tx, subscribed) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            loop {
                match listen(&client, &channel, &cache, &tx).await {
                    Ok(()) => tracing::warn!(channel = %channel, "invalidation subscription ended"),
                    Err(err) => {
                        metrics.dependency_error("redis");
                        tracing::warn!(error = %err, channel = %channel, "invalidation subscription failed");
                    }
                }
                if *tx.borrow() {
                    backoff = Duration::from_millis(200);
                }
                cache.set_subscribed(false);
                cache.clear();
                tx.send_replace(false);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
        Ok(Self { task, subscribed })
    }

    /// Waits until the subscription is live, at most `timeout`; true when it is.
    pub async fn wait_subscribed(&self, timeout: Duration) -> bool {
        let mut rx = self.subscribed.clone();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// One subscription: subscribe, then evict on each message until the stream ends.
async fn listen(
    client: &redis::Client,
    channel: &str,
    cache: &Cache,
    subscribed: &watch::Sender<bool>,
) -> redis::RedisResult<()> {
    let mut pubsub = tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub())
        .await
        .map_err(|_| redis::RedisError::from(std::io::Error::other("connect timed out")))??;
    pubsub.subscribe(channel).await?;
    // Anything cached before now may have missed a message.
    cache.clear();
    cache.set_subscribed(true);
    subscribed.send_replace(true);
    tracing::info!(channel = %channel, "subscribed to template changes");
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let payload: String = match message.get_payload() {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!(error = %err, "unreadable invalidation message");
                continue;
            }
        };
        match serde_json::from_str::<Changed>(&payload) {
            Ok(changed) => {
                tracing::debug!(name = %changed.name, version = changed.version, "template changed");
                cache.evict(&changed.name);
            }
            // Unknown shape: be safe and forget everything.
            Err(_) => cache.clear(),
        }
    }
    Ok(())
}
