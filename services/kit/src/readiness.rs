//! Readiness checks: what `/readyz` runs to decide whether to take traffic.
//!
//! A service registers one [`ReadinessCheck`] per dependency it cannot work
//! without. `/readyz` runs them all concurrently, each with a timeout, and
//! answers 200 only if every one passes.

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use serde::Serialize;

/// The boxed future a [`ReadinessCheck`] returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One dependency check. `Err` carries a short reason shown in the `/readyz` body.
pub trait ReadinessCheck: Send + Sync {
    /// Short stable name, e.g. `redis`.
    fn name(&self) -> &str;
    /// Checks the dependency once.
    fn check(&self) -> CheckFuture<'_>;
}

/// A [`ReadinessCheck`] made from a name and an async closure.
pub struct FnCheck<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnCheck<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnCheck")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ReadinessCheck`] from a closure returning a future.
pub fn check_fn<F, Fut>(name: impl Into<String>, f: F) -> FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    FnCheck {
        name: name.into(),
        f,
    }
}

impl<F, Fut> ReadinessCheck for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin((self.f)())
    }
}

/// The outcome of one check, as reported by `/readyz`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckReport {
    /// The check's name.
    pub name: String,
    /// `ok` or `failed`.
    pub status: &'static str,
    /// Why it failed (absent when it passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `/readyz` body: overall status and every check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReadinessReport {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// One entry per registered check, in registration order.
    pub checks: Vec<CheckReport>,
}

impl ReadinessReport {
    /// True when every check passed.
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

/// The registered checks; cheap to clone.
#[derive(Clone)]
pub struct Readiness {
    checks: Vec<Arc<dyn ReadinessCheck>>,
    timeout: Duration,
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("Readiness")
            .field("checks", &names)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            checks: Vec::new(),
            timeout: Duration::from_secs(2),
        }
    }
}

impl Readiness {
    /// Registers a check.
    pub fn add(&mut self, check: impl ReadinessCheck + 'static) {
        self.checks.push(Arc::new(check));
    }

    /// Sets how long one check may take before it counts as failed (default 2 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Runs every check concurrently and reports.
    pub async fn run(&self) -> ReadinessReport {
        let runs = self.checks.iter().map(|check| async move {
            let outcome = match tokio::time::timeout(self.timeout, check.check()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("timed out after {:?}", self.timeout)),
            };
            CheckReport {
                name: check.name().to_owned(),
                status: if outcome.is_ok() { "ok" } else { "failed" },
                error: outcome.err(),
            }
        });
        let checks = futures::future::join_all(runs).await;
        let ready = checks.iter().all(|c| c.error.is_none());
        ReadinessReport {
            status: if ready { "ready" } else { "unavailable" },
            checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slow_check_times_out() {
        let mut readiness = Readiness::default();
        readiness.set_timeout(Duration::from_millis(20));
        readiness.add(check_fn("fast", || async { Ok(()) }));
        readiness.add(check_fn("slow", || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        }));
        let report = readiness.run().await;
        assert!(!report.is_ready());
        assert_eq!(report.checks[0].status, "ok");
        assert_eq!(report.checks[1].status, "failed");
        assert!(
            report.checks[1]
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("timed out")
        );
    }
}
