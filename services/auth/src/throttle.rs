//! [`Throttle`]: login brute-force protection in Redis, per account and per IP.
//!
//! Every failed login increments a counter per account and per IP (kept 24 h).
//! Once a counter reaches its threshold, that key is locked for
//! `base × 2^(failures − threshold)`, capped: each further failure doubles the lockout.
//! While locked, attempts are refused with 429 and `Retry-After` before any
//! password is checked. A success clears the account's counter.

use std::time::Duration;

use machina_kit::Redis;
use redis::AsyncCommands as _;

use crate::{Error, Result, config::ThrottlePolicy, crypto::sha256_hex};

/// How long failure counters live.
const WINDOW_SECS: i64 = 86_400;

/// The lockout after `excess` failures beyond the threshold.
pub fn lockout(excess: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(excess.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// Counts failures and enforces lockouts.
#[derive(Debug, Clone)]
pub struct Throttle {
    redis: Redis,
    prefix: String,
    policy: ThrottlePolicy,
}

impl Throttle {
    /// A throttle storing keys under `prefix`.
    pub fn new(redis: Redis, prefix: &str, policy: ThrottlePolicy) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            policy,
        }
    }

    fn keys(&self, account: &str, ip: &str) -> [(String, String, u32); 2] {
        // Hash the email so Redis never holds the address in clear.
        let acct = sha256_hex(account.as_bytes());
        [
            (
                format!("{}fail:acct:{acct}", self.prefix),
                format!("{}lock:acct:{acct}", self.prefix),
                self.policy.max_failures_account,
            ),
            (
                format!("{}fail:ip:{ip}", self.prefix),
                format!("{}lock:ip:{ip}", self.prefix),
                self.policy.max_failures_ip,
            ),
        ]
    }

    /// Refuses with [`Error::Throttled`] while the account or the IP is locked.
    pub async fn check(&self, account: &str, ip: &str) -> Result<()> {
        let mut conn = self.redis.connection();
        let mut wait_ms: i64 = 0;
        for (_, lock, _) in self.keys(account, ip) {
            let ttl: i64 = conn
                .pttl(&lock)
                .await
                .map_err(|e| self.redis.unavailable(&e))?;
            wait_ms = wait_ms.max(ttl);
        }
        if wait_ms > 0 {
            return Err(Error::Throttled(Duration::from_millis(
                wait_ms.unsigned_abs(),
            )));
        }
        Ok(())
    }

    /// Records a failed attempt, locking keys that reached their threshold.
    pub async fn failure(&self, account: &str, ip: &str) -> Result<()> {
        let mut conn = self.redis.connection();
        for (fail, lock, max) in self.keys(account, ip) {
            let (count,): (u32,) = redis::pipe()
                .atomic()
                .incr(&fail, 1)
                .expire(&fail, WINDOW_SECS)
                .ignore()
                .query_async(&mut conn)
                .await
                .map_err(|e| self.redis.unavailable(&e))?;
            if count >= max {
                let wait = lockout(
                    count - max,
                    self.policy.lockout_base,
                    self.policy.lockout_max,
                );
                let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
                let () = conn
                    .pset_ex(&lock, 1, ms)
                    .await
                    .map_err(|e| self.redis.unavailable(&e))?;
                tracing::warn!(key = %lock, failures = count, lockout_ms = ms, "login locked");
            }
        }
        Ok(())
    }

    /// Clears the account's failure count after a successful login.
    pub async fn success(&self, account: &str, ip: &str) -> Result<()> {
        let [(fail, _, _), _] = self.keys(account, ip);
        let mut conn = self.redis.connection();
        let () = conn
            .del(&fail)
            .await
            .map_err(|e| self.redis.unavailable(&e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_doubles_and_caps() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(900);
        assert_eq!(lockout(0, base, max), Duration::from_secs(30));
        assert_eq!(lockout(1, base, max), Duration::from_secs(60));
        assert_eq!(lockout(4, base, max), Duration::from_secs(480));
        assert_eq!(lockout(5, base, max), max);
        assert_eq!(lockout(200, base, max), max);
    }
}
