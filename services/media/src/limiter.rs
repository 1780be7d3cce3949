//! [`Limiter`]: at most N images processed at once, at most M waiting.
//!
//! Image work is CPU and memory heavy; unbounded concurrency turns a burst
//! into swapping. Requests beyond the running slots wait in a bounded queue;
//! when the queue is full, or a waiter has waited too long, the request is
//! shed with 503 and `Retry-After` so a CDN or client backs off.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Error;

/// Seconds a shed client is told to wait.
const RETRY_AFTER: u64 = 2;

/// The processing gate; cheap to clone.
#[derive(Debug, Clone)]
pub struct Limiter {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
    max_wait: Duration,
}

/// A held processing slot; released on drop.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Limiter {
    /// `concurrency` slots, `queue` waiters, each waiting at most `max_wait`.
    pub fn new(concurrency: usize, queue: usize, max_wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
            max_wait,
        }
    }

    /// Takes a slot, waiting in the queue if there is room; else [`Error::Busy`].
    pub async fn acquire(&self) -> Result<Slot, Error> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(Slot(permit));
        }
        let busy = Error::Busy {
            retry_after: RETRY_AFTER,
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy);
        }
        let waited =
            tokio::time::timeout(self.max_wait, Arc::clone(&self.slots).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match waited {
            Ok(Ok(permit)) => Ok(Slot(permit)),
            _ => Err(busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn excess_waits_then_is_shed_when_the_queue_is_full() {
        let limiter = Limiter::new(1, 1, Duration::from_secs(5));
        let held = limiter.acquire().await.unwrap();
        let waiter = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire().await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(limiter.acquire().await, Err(Error::Busy { .. })));
        drop(held);
        assert!(waiter.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_waiter_gives_up_after_the_max_wait() {
        let limiter = Limiter::new(1, 4, Duration::from_millis(20));
        let _held = limiter.acquire().await.unwrap();
        assert!(matches!(limiter.acquire().await, Err(Error::Busy { .. })));
    }
}
