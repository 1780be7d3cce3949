//! Background loops every replica runs: the scheduler, the outbox relay and the
//! webhook dispatcher. Each polls, claims one job at a time with a lease (see
//! `store::jobs`), and stops when the [`Workers`] handle is dropped.

mod dispatcher;
mod relay;
mod scheduler;

use std::{future::Future, time::Duration};

use tokio::task::JoinHandle;

pub use dispatcher::Dispatcher;
pub use relay::Relay;
pub use scheduler::Scheduler;

/// The running loops; aborts them when dropped.
#[derive(Debug, Default)]
pub struct Workers {
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Runs `tick` every `interval` until dropped.
    pub fn every<F, Fut>(&mut self, interval: Duration, mut tick: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        self.tasks.push(tokio::spawn(async move {
            let mut timer = tokio::time::interval(interval);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                timer.tick().await;
                tick().await;
            }
        }));
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// `base * 2^attempts`, capped at an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1 << attempts.min(20))
        .min(Duration::from_secs(3600))
}

/// A duration in milliseconds, for timestamps.
pub fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 0), base);
        assert_eq!(backoff(base, 3), Duration::from_millis(800));
        assert_eq!(backoff(base, 40), Duration::from_secs(3600));
    }
}
