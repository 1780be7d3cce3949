//! Restart backoff of crashed containers, as the kubelet does it: the delay doubles from
//! `initial` up to `max`, and resets once a container has run for `reset_after`.

use std::time::Duration;

/// Restart delay policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first restart (kubelet: 10 s).
    pub initial: Duration,
    /// Largest delay (kubelet: 5 min).
    pub max: Duration,
    /// A run this long forgets earlier crashes (kubelet: 10 min).
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// The delay before restart number `crashes` (1-based count of consecutive crashes).
    pub fn delay(&self, crashes: u32) -> Duration {
        let shift = crashes.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1u32 << shift)
            .map_or(self.max, |d| d.min(self.max))
    }

    /// Consecutive crash count after a run of `ran` that ended in a crash.
    pub fn next_crashes(&self, crashes: u32, ran: Duration) -> u32 {
        if ran >= self.reset_after {
            1
        } else {
            crashes.saturating_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets_after_a_long_run() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=7).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(b.delay(1000), b.max);
        assert_eq!(b.next_crashes(5, Duration::from_secs(1)), 6);
        assert_eq!(b.next_crashes(5, Duration::from_secs(601)), 1);
    }
}
