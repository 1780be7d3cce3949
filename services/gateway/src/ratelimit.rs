//! Rate limits per client, counted in Redis so every replica shares them.
//!
//! GCRA (the generic cell rate algorithm) in one Lua script: Redis stores one
//! "theoretical arrival time" per client and the script reads, decides and
//! writes atomically, using Redis' own clock so replicas with skewed clocks
//! agree. `limit` requests per `period` are allowed, with bursts up to `limit`.
//! Responses carry `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
//! and `RateLimit-Policy` (IETF httpapi draft) and `Retry-After` on 429.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use machina_kit::Redis;

/// `RateLimit-Limit`.
pub const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`.
pub const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`.
pub const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
/// `RateLimit-Policy`.
pub const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// KEYS[1]: the client's key. ARGV[1]: emission interval (µs per request);
/// ARGV[2]: burst (requests). Returns {allowed, remaining, retry_after_µs, reset_µs}.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local tolerance = interval * burst
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
";

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The limit per period.
    pub limit: u64,
    /// Requests left right now.
    pub remaining: u64,
    /// When the client may retry (zero when allowed).
    pub retry_after: Duration,
    /// When the full quota is back.
    pub reset: Duration,
    /// The window the limit counts over.
    pub period: Duration,
}

impl Decision {
    /// Adds the rate-limit headers (and `Retry-After` when refused); seconds round up.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let secs = |d: Duration| d.as_micros().div_ceil(1_000_000);
        let mut set = |name: HeaderName, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        set(LIMIT, self.limit.to_string());
        set(REMAINING, self.remaining.to_string());
        set(RESET, secs(self.reset).to_string());
        set(
            POLICY,
            format!("{};w={}", self.limit, self.period.as_secs()),
        );
        if !self.allowed {
            set(
                header::RETRY_AFTER,
                secs(self.retry_after).max(1).to_string(),
            );
        }
    }
}

/// Parses the script's reply.
fn decision(reply: &[i64], limit: u64, period: Duration) -> Decision {
    let get = |i: usize| reply.get(i).copied().unwrap_or(0).max(0).unsigned_abs();
    Decision {
        allowed: get(0) == 1,
        limit,
        remaining: get(1).min(limit),
        retry_after: Duration::from_micros(get(2)),
        reset: Duration::from_micros(get(3)),
        period,
    }
}

/// A Redis-backed GCRA limiter; cheap to clone.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    redis: Redis,
    script: std::sync::Arc<redis::Script>,
    prefix: String,
    limit: u64,
    period: Duration,
}

impl RateLimiter {
    /// `limit` requests per `period` per client, keys under `prefix`.
    pub fn new(redis: Redis, prefix: impl Into<String>, limit: u64, period: Duration) -> Self {
        Self {
            redis,
            script: std::sync::Arc::new(redis::Script::new(GCRA)),
            prefix: prefix.into(),
            limit: limit.max(1),
            period,
        }
    }

    /// Counts one request of `client`; `Err` when Redis cannot be reached.
    pub async fn check(&self, client: &str) -> Result<Decision, redis::RedisError> {
        let interval = (self.period.as_micros() / u128::from(self.limit)).max(1);
        let mut conn = self.redis.connection();
        let reply: Vec<i64> = self
            .script
            .key(format!("{}{client}", self.prefix))
            .arg(interval.to_string())
            .arg(self.limit)
            .invoke_async(&mut conn)
            .await?;
        Ok(decision(&reply, self.limit, self.period))
    }

    /// The Redis handle (for readiness and error reporting).
    pub fn redis(&self) -> &Redis {
        &self.redis
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_allowed_and_refused_requests() {
        let mut h = HeaderMap::new();
        decision(&[1, 4, 0, 12_000_000], 5, Duration::from_secs(60)).write_headers(&mut h);
        assert_eq!(h["ratelimit-limit"], "5");
        assert_eq!(h["ratelimit-remaining"], "4");
        assert_eq!(h["ratelimit-reset"], "12");
        assert_eq!(h["ratelimit-policy"], "5;w=60");
        assert!(h.get("retry-after").is_none());

        let mut h = HeaderMap::new();
        let refused = decision(&[0, 0, 11_500_001, 60_000_000], 5, Duration::from_secs(60));
        assert!(!refused.allowed);
        refused.write_headers(&mut h);
        assert_eq!(h["retry-after"], "12");
        assert_eq!(h["ratelimit-remaining"], "0");
    }
}
