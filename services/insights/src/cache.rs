//! [`Cache`]: results in Redis, one immutable generation per recompute.
//!
//! Layout, with `P` the configured prefix and `G` a generation number:
//!
//! | key               | type   | holds |
//! |-------------------|--------|-------|
//! | `P:generation`    | string | counter `INCR`ed by every recompute |
//! | `P:current`       | string | the generation being served |
//! | `P:gG:user:{id}`  | list   | a user's recommendations, one JSON object per element (`""` alone: nothing left unseen) |
//! | `P:gG:item:{id}`  | list   | an item's similar items |
//! | `P:gG:fallback`   | list   | the cold-start list |
//! | `P:gG:trends`     | string | the trend report (JSON) |
//! | `P:gG:series:{s}` | string | the anomaly report of series `s` (JSON) |
//! | `P:gG:meta`       | string | what the generation holds (JSON) |
//! | `P:version`       | string | counter `INCR`ed by every publish, full or incremental |
//! | `P:updates`       | channel | the new version, `PUBLISH`ed after every publish |
//!
//! A full recompute writes a whole new generation, then flips `P:current`, so a
//! reader never sees half of one and half of another; old generations expire
//! by TTL. An incremental step rewrites only the lists that changed, in the
//! current generation, each in one `MULTI` (a reader sees the old list or the
//! new one, never none). Lists hold pre-serialised JSON so a miss of the
//! in-process [`HotCache`] is one `LRANGE` and a string join; every publish
//! bumps `P:version` and announces it on `P:updates` so each replica empties
//! its [`HotCache`].

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use machina_kit::Redis;
use redis::{AsyncCommands, RedisError};
use serde::Serialize;

use crate::{algo::recs::Scored, compute::Snapshot, hot::HotCache, incremental::Delta};

/// Sets `KEYS[1]` to `ARGV[1]` unless it already holds a larger number; returns the value kept.
const ADVANCE_CURRENT: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local proposed = tonumber(ARGV[1])
if proposed > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return proposed
end
return current
";

/// Deletes `KEYS[1]` if it still holds `ARGV[1]` (releasing only our own lock).
const RELEASE_LOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The only element of a known user's list when nothing is left to recommend.
pub const EMPTY_MARKER: &str = "";

/// Commands per pipeline round trip when publishing.
const PIPELINE_CHUNK: usize = 500;

/// Which precomputed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Per-user recommendations.
    User,
    /// Per-item similar items.
    Item,
    /// The cold-start list (the id is ignored).
    Fallback,
}

/// What a generation holds; served by `GET /v1/insights/status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// The generation number.
    pub generation: u64,
    /// The instant results are as of, milliseconds since the epoch.
    pub as_of_ms: i64,
    /// Events read.
    pub events: usize,
    /// Users with a personalised list.
    pub users: usize,
    /// Items with a similar-items list.
    pub items: usize,
    /// Trends found.
    pub trends: usize,
    /// Series with an anomaly report.
    pub series: Vec<String>,
}

/// The Redis side of the service; cheap to clone.
#[derive(Debug, Clone)]
pub struct Cache {
    redis: Redis,
    prefix: String,
    ttl: Duration,
    /// The generation this replica serves; 0 while none is known.
    current: Arc<AtomicU64>,
    /// The last `P:version` seen; a change empties `hot`.
    version: Arc<AtomicU64>,
    /// Finished response bodies, in process.
    hot: Arc<HotCache>,
}

impl Cache {
    /// A cache under `prefix` whose generations live for `ttl`.
    /// `hot` sits in front of Redis for the list endpoints.
    pub fn new(redis: Redis, prefix: &str, ttl: Duration, hot: HotCache) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            ttl,
            current: Arc::new(AtomicU64::new(0)),
            version: Arc::new(AtomicU64::new(0)),
            hot: Arc::new(hot),
        }
    }

    /// The in-process body cache.
    pub fn hot(&self) -> &HotCache {
        &self.hot
    }

    /// Takes the cross-replica compute lock `P:lock` for at most `ttl`;
    /// `false` when another holder has it.
    pub async fn try_lock(&self, token: &str, ttl: Duration) -> Result<bool, RedisError> {
        let taken: Option<String> = redis::cmd("SET")
            .arg(format!("{}:lock", self.prefix))
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .query_async(&mut self.redis.connection())
            .await?;
        Ok(taken.is_some())
    }

    /// Releases the lock if `token` still holds it.
    pub async fn unlock(&self, token: &str) -> Result<(), RedisError> {
        redis::Script::new(RELEASE_LOCK)
            .key(format!("{}:lock", self.prefix))
            .arg(token)
            .invoke_async::<i64>(&mut self.redis.connection())
            .await?;
        Ok(())
    }

    /// The pub/sub channel announcing publishes.
    pub fn updates_channel(&self) -> String {
        format!("{}:updates", self.prefix)
    }

    /// The Redis client, for readiness and error reporting.
    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    /// The generation being served, if any (no Redis call).
    pub fn generation(&self) -> Option<u64> {
        Some(self.current.load(Ordering::Acquire)).filter(|g| *g > 0)
    }

    /// Re-reads `P:current` and `P:version` (another replica may have
    /// published); a new version empties the in-process cache.
    pub async fn refresh_generation(&self) -> Result<Option<u64>, RedisError> {
        let mut conn = self.redis.connection();
        let (current, version): (Option<u64>, Option<u64>) = redis::pipe()
            .get(format!("{}:current", self.prefix))
            .get(format!("{}:version", self.prefix))
            .query_async(&mut conn)
            .await?;
        if let Some(g) = current {
            self.current.fetch_max(g, Ordering::AcqRel);
        }
        self.saw_version(version.unwrap_or(0));
        Ok(self.generation())
    }

    /// Empties the in-process cache when `version` is new to this replica.
    pub fn saw_version(&self, version: u64) {
        if self.version.swap(version, Ordering::AcqRel) != version {
            self.hot.clear();
        }
    }

    /// Bumps `P:version`, announces it, and empties this replica's cache.
    async fn announce(&self, conn: &mut redis::aio::ConnectionManager) -> Result<(), RedisError> {
        let version: u64 = conn.incr(format!("{}:version", self.prefix), 1).await?;
        self.saw_version(version);
        self.hot.clear();
        let _receivers: i64 = conn.publish(self.updates_channel(), version).await?;
        Ok(())
    }

    /// Up to `k` entries of a list, as JSON objects.
    pub async fn list(
        &self,
        generation: u64,
        kind: ListKind,
        id: &str,
        k: usize,
    ) -> Result<Vec<String>, RedisError> {
        let key = match kind {
            ListKind::User => format!("{}:g{generation}:user:{id}", self.prefix),
            ListKind::Item => format!("{}:g{generation}:item:{id}", self.prefix),
            ListKind::Fallback => format!("{}:g{generation}:fallback", self.prefix),
        };
        let stop = isize::try_from(k).unwrap_or(isize::MAX) - 1;
        self.redis.connection().lrange(key, 0, stop).await
    }

    /// A JSON document of a generation (`trends`, `meta`, `series:{name}`).
    pub async fn document(
        &self,
        generation: u64,
        name: &str,
    ) -> Result<Option<String>, RedisError> {
        self.redis
            .connection()
            .get(format!("{}:g{generation}:{name}", self.prefix))
            .await
    }

    /// Writes `snapshot` as a new generation and makes it current.
    pub async fn publish(&self, snapshot: &Snapshot) -> Result<Meta, RedisError> {
        let mut conn = self.redis.connection();
        let generation: u64 = conn.incr(format!("{}:generation", self.prefix), 1).await?;
        let base = format!("{}:g{generation}", self.prefix);
        let meta = Meta {
            generation,
            as_of_ms: snapshot.now_ms,
            events: snapshot.events,
            users: snapshot.users.len(),
            items: snapshot.items.len(),
            trends: snapshot.trends.len(),
            series: snapshot.series.keys().cloned().collect(),
        };
        let mut documents: Vec<(String, String)> = vec![
            (format!("{base}:meta"), to_json(&meta)),
            (format!("{base}:trends"), trends_json(snapshot)),
        ];
        documents.extend(
            snapshot
                .series
                .iter()
                .map(|(name, report)| (format!("{base}:series:{name}"), to_json(report))),
        );
        // (key, list, whether an empty list is stored as the marker)
        let mut lists: Vec<(String, &[Scored], bool)> = Vec::new();
        lists.push((format!("{base}:fallback"), &snapshot.fallback, false));
        lists.extend(
            snapshot
                .users
                .iter()
                .map(|(u, l)| (format!("{base}:user:{u}"), l.as_slice(), true)),
        );
        lists.extend(
            snapshot
                .items
                .iter()
                .map(|(i, l)| (format!("{base}:item:{i}"), l.as_slice(), false)),
        );
        let ttl = i64::try_from(self.ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        for chunk in documents.chunks(PIPELINE_CHUNK) {
            let mut pipe = redis::pipe();
            for (key, value) in chunk {
                pipe.set_ex(key, value, ttl as u64).ignore();
            }
            pipe.query_async::<()>(&mut conn).await?;
        }
        write_lists(&mut conn, &lists, ttl, false).await?;
        // Two replicas may recompute at once; the newer generation wins even if
        // it finishes first, so `current` never moves backwards.
        let current: u64 = redis::Script::new(ADVANCE_CURRENT)
            .key(format!("{}:current", self.prefix))
            .arg(generation)
            .invoke_async(&mut conn)
            .await?;
        self.current.fetch_max(current, Ordering::AcqRel);
        self.announce(&mut conn).await?;
        Ok(meta)
    }

    /// Rewrites the lists in `delta` in `generation` (an incremental step);
    /// returns how many lists were written.
    pub async fn publish_delta(&self, generation: u64, delta: &Delta) -> Result<usize, RedisError> {
        let base = format!("{}:g{generation}", self.prefix);
        let mut lists: Vec<(String, &[Scored], bool)> = Vec::new();
        if let Some(fallback) = &delta.fallback {
            lists.push((format!("{base}:fallback"), fallback, false));
        }
        lists.extend(
            delta
                .users
                .iter()
                .map(|(u, l)| (format!("{base}:user:{u}"), l.as_slice(), true)),
        );
        lists.extend(
            delta
                .items
                .iter()
                .map(|(i, l)| (format!("{base}:item:{i}"), l.as_slice(), false)),
        );
        let mut conn = self.redis.connection();
        let ttl = i64::try_from(self.ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        write_lists(&mut conn, &lists, ttl, true).await?;
        self.announce(&mut conn).await?;
        Ok(lists.len())
    }
}

/// Writes `lists` (key, entries, whether an empty list is stored as the
/// marker). With `replace`, each key is rewritten in one `MULTI` so readers
/// never see it missing, and an empty unmarked list deletes the key.
async fn write_lists(
    conn: &mut redis::aio::ConnectionManager,
    lists: &[(String, &[Scored], bool)],
    ttl: i64,
    replace: bool,
) -> Result<(), RedisError> {
    // Redis has no empty lists. A known user whose list is empty (they have
    // seen every candidate) gets [`EMPTY_MARKER`], so they are not handed the
    // fallback, which would repeat items they have seen; other empty lists
    // are simply absent.
    let marker = [String::from(EMPTY_MARKER)];
    for chunk in lists.chunks(PIPELINE_CHUNK) {
        let mut pipe = redis::pipe();
        if replace {
            pipe.atomic();
        }
        let mut commands = 0;
        for (key, list, mark_empty) in chunk {
            let entries: Vec<String> = if !list.is_empty() {
                list.iter().map(to_json).collect()
            } else if *mark_empty {
                marker.to_vec()
            } else {
                if replace {
                    pipe.del(key).ignore();
                    commands += 1;
                }
                continue;
            };
            commands += 1;
            pipe.del(key)
                .ignore()
                .rpush(key, entries)
                .ignore()
                .expire(key, ttl)
                .ignore();
        }
        if commands > 0 {
            pipe.query_async::<()>(conn).await?;
        }
    }
    Ok(())
}

/// Empties `cache`'s in-process bodies whenever another replica announces a
/// publish on `P:updates`; reconnects with a pause when the subscription breaks.
pub async fn listen_for_updates(cache: Cache, client: redis::Client) {
    use futures::StreamExt as _;
    let channel = cache.updates_channel();
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    // Publishes missed while unsubscribed.
                    let _ = cache.refresh_generation().await;
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        if let Ok(version) = message.get_payload::<u64>() {
                            cache.saw_version(version);
                        }
                        let _ = cache.refresh_generation().await;
                    }
                }
                Err(err) => tracing::debug!(error = %err, "cannot subscribe to insights updates"),
            },
            Err(err) => {
                tracing::debug!(error = %err, "cannot open the insights updates subscription")
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// The trend report: windows and the ranked list.
fn trends_json(snapshot: &Snapshot) -> String {
    to_json(&serde_json::json!({
        "asOfMs": snapshot.now_ms,
        "recentWindowMs": snapshot.trend_windows_ms.0,
        "baselineWindowMs": snapshot.trend_windows_ms.1,
        "trends": snapshot.trends,
    }))
}
