//! When to rotate and which keys to publish: pure functions of key ages.

use std::time::Duration;

/// What the ring needs to know about a key to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAge {
    /// Rotation generation.
    pub generation: i64,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// True if a new key is needed: none exists, or the newest is older than `rotation`.
pub fn rotation_due(keys: &[KeyAge], now_ms: i64, rotation: Duration) -> bool {
    keys.iter()
        .map(|k| k.created_ms)
        .max()
        .is_none_or(|newest| now_ms.saturating_sub(newest) >= ms(rotation))
}

/// Generations still published in the JWKS: the newest (it signs), and every
/// older key whose successor started less than `retention` ago, because tokens
/// it signed may still be valid (`retention` = token lifetime + clock leeway).
pub fn published(keys: &[KeyAge], now_ms: i64, retention: Duration) -> Vec<i64> {
    let mut sorted: Vec<KeyAge> = keys.to_vec();
    sorted.sort_by_key(|k| k.generation);
    let mut out = Vec::new();
    for (i, key) in sorted.iter().enumerate() {
        match sorted.get(i + 1) {
            None => out.push(key.generation),
            Some(next) if now_ms.saturating_sub(next.created_ms) < ms(retention) => {
                out.push(key.generation);
            }
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn k(generation: i64, created_ms: i64) -> KeyAge {
        KeyAge {
            generation,
            created_ms,
        }
    }

    #[test]
    fn rotates_when_empty_or_old() {
        let day = Duration::from_secs(86_400);
        assert!(rotation_due(&[], 0, day));
        assert!(!rotation_due(&[k(1, 0)], 23 * HOUR, day));
        assert!(rotation_due(&[k(1, 0)], 24 * HOUR, day));
        assert!(!rotation_due(&[k(1, 0), k(2, 20 * HOUR)], 25 * HOUR, day));
    }

    #[test]
    fn old_key_stays_until_its_tokens_expire() {
        let retention = Duration::from_secs(3600);
        let keys = [k(1, 0), k(2, 10 * HOUR), k(3, 20 * HOUR)];
        assert_eq!(published(&keys, 20 * HOUR + 1, retention), [2, 3]);
        assert_eq!(published(&keys, 21 * HOUR, retention), [3]);
        assert_eq!(published(&[k(7, 0)], 100 * HOUR, retention), [7]);
    }
}
