//! When a failed upstream call may be retried: only idempotent methods, only on
//! connect errors, 502 or 503, and only while the [`RetryBudget`] allows, so a
//! struggling upstream is not buried under retries.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};

/// Methods that may be sent twice without a different effect (RFC 9110 §9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// What happened on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The connection could not be opened; the request never reached the upstream.
    ConnectError,
    /// Any other transport failure (reset mid-request, bad response).
    OtherError,
    /// The upstream answered with this status.
    Status(StatusCode),
}

/// Whether an attempt with `outcome` is worth repeating for `method`.
pub fn is_retryable(method: &Method, outcome: Outcome) -> bool {
    is_idempotent(method)
        && match outcome {
            Outcome::ConnectError => true,
            Outcome::OtherError => false,
            Outcome::Status(status) => {
                status == StatusCode::BAD_GATEWAY || status == StatusCode::SERVICE_UNAVAILABLE
            }
        }
}

/// Pause before retry `attempt` (1-based): 20 ms, 40 ms, 80 ms, ... capped at 500 ms.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((20u64 << attempt.saturating_sub(1).min(5)).min(500))
}

/// A retry budget shared by all requests (Finagle/Linkerd style): each request
/// deposits `ratio` of a token, each retry withdraws one; a floor of
/// `min_per_second` retries is always allowed so low traffic can still retry.
#[derive(Debug)]
pub struct RetryBudget {
    /// Tokens in thousandths.
    balance: AtomicU64,
    deposit: u64,
    cap: u64,
    min_per_second: u64,
    floor: Mutex<(Instant, u64)>,
}

const UNIT: u64 = 1000;

impl RetryBudget {
    /// Retries may add `ratio` (0.0–1.0) to the request rate, plus `min_per_second`.
    pub fn new(ratio: f64, min_per_second: u64) -> Self {
        let deposit = (ratio.clamp(0.0, 1.0) * UNIT as f64).round() as u64;
        Self {
            balance: AtomicU64::new(0),
            deposit,
            // At most ten seconds' worth of a 1000 req/s ratio stored up.
            cap: deposit.saturating_mul(10_000).max(UNIT),
            min_per_second,
            floor: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Records one request.
    pub fn deposit(&self) {
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((b + self.deposit).min(self.cap))
            });
    }

    /// Takes one retry from the budget; false when it is spent.
    pub fn withdraw(&self) -> bool {
        let took = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                b.checked_sub(UNIT)
            })
            .is_ok();
        took || self.withdraw_floor(Instant::now())
    }

    fn withdraw_floor(&self, now: Instant) -> bool {
        let mut floor = self.floor.lock().unwrap_or_else(PoisonError::into_inner);
        if now.duration_since(floor.0) >= Duration::from_secs(1) {
            *floor = (now, 0);
        }
        if floor.1 < self.min_per_second {
            floor.1 += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idempotent_methods_on_connect_errors_502_503() {
        for method in [
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::PUT,
            Method::DELETE,
        ] {
            assert!(is_retryable(&method, Outcome::ConnectError));
            assert!(is_retryable(
                &method,
                Outcome::Status(StatusCode::BAD_GATEWAY)
            ));
            assert!(is_retryable(
                &method,
                Outcome::Status(StatusCode::SERVICE_UNAVAILABLE)
            ));
            assert!(!is_retryable(
                &method,
                Outcome::Status(StatusCode::INTERNAL_SERVER_ERROR)
            ));
            assert!(!is_retryable(
                &method,
                Outcome::Status(StatusCode::GATEWAY_TIMEOUT)
            ));
            assert!(!is_retryable(&method, Outcome::OtherError));
        }
        for method in [Method::POST, Method::PATCH] {
            assert!(!is_retryable(&method, Outcome::ConnectError));
            assert!(!is_retryable(
                &method,
                Outcome::Status(StatusCode::SERVICE_UNAVAILABLE)
            ));
        }
    }

    #[test]
    fn budget_allows_ratio_of_requests_plus_floor() {
        let budget = RetryBudget::new(0.2, 0);
        assert!(!budget.withdraw(), "nothing deposited yet");
        for _ in 0..10 {
            budget.deposit();
        }
        assert!(budget.withdraw());
        assert!(budget.withdraw());
        assert!(!budget.withdraw(), "10 requests at 20% buy 2 retries");

        let floor = RetryBudget::new(0.0, 3);
        assert_eq!((0..5).filter(|_| floor.withdraw()).count(), 3);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(20));
        assert_eq!(backoff(2), Duration::from_millis(40));
        assert_eq!(backoff(30), Duration::from_millis(500));
    }
}
