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
//!
//! A recompute writes a whole new generation, then flips `P:current`, so a
//! reader never sees half of one and half of another; old generations expire
//! by TTL. Lists hold pre-serialised JSON so the hot path is one `LRANGE` and a
//! string join: no parsing, no allocation per field.

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

use crate::{algo::recs::Scored, compute::Snapshot};

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
}

impl Cache {
    /// A cache under `prefix` whose generations live for `ttl`.
    pub fn new(redis: Redis, prefix: &str, ttl: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            ttl,
            current: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The Redis client, for readiness and error reporting.
    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    /// The generation being served, if any (no Redis call).
    pub fn generation(&self) -> Option<u64> {
        Some(self.current.load(Ordering::Acquire)).filter(|g| *g > 0)
    }

    /// Re-reads `P:current` (another replica may have recomputed).
    pub async fn refresh_generation(&self) -> Result<Option<u64>, RedisError> {
        let mut conn = self.redis.connection();
        let current: Option<u64> = conn.get(format!("{}:current", self.prefix)).await?;
        if let Some(g) = current {
            self.current.fetch_max(g, Ordering::AcqRel);
        }
        Ok(self.generation())
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
        // Redis has no empty lists. A known user whose list is empty (they have
        // seen every candidate) gets [`EMPTY_MARKER`], so they are not handed the
        // fallback, which would repeat items they have seen; other empty lists
        // are simply absent.
        let marker = [String::from(EMPTY_MARKER)];
        for chunk in lists.chunks(PIPELINE_CHUNK) {
            let mut pipe = redis::pipe();
            let mut commands = 0;
            for (key, list, mark_empty) in chunk {
                let entries: Vec<String> = if !list.is_empty() {
                    list.iter().map(to_json).collect()
                } else if *mark_empty {
                    marker.to_vec()
                } else {
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
                pipe.query_async::<()>(&mut conn).await?;
            }
        }
        // Two replicas may recompute at once; the newer generation wins even if
        // it finishes first, so `current` never moves backwards.
        let current: u64 = redis::Script::new(ADVANCE_CURRENT)
            .key(format!("{}:current", self.prefix))
            .arg(generation)
            .invoke_async(&mut conn)
            .await?;
        self.current.fetch_max(current, Ordering::AcqRel);
        Ok(meta)
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
