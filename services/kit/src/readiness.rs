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

/// A one-time preparation (indexes, topology) that must succeed before a service takes
/// traffic: tried once at startup and, while it fails (a backend is down), retried in the
/// background with backoff. As a [`ReadinessCheck`] it is red until it has succeeded, so a
/// service starts, stays up and turns ready without a restart.
#[derive(Clone)]
pub struct Prepared {
    name: String,
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("name", &self.name)
            .field("done", &self.is_done())
            .finish()
    }
}

/// First and longest pause between attempts of a [`Prepared`] step.
const PREPARE_BACKOFF: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(10));

impl Prepared {
    /// Runs `step` now; on failure keeps retrying it in the background (500 ms doubling to
    /// 10 s) until it succeeds. `name` names the readiness check, e.g. `mongodb-indexes`.
    pub async fn start<F, Fut, E>(name: impl Into<String>, step: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display,
    {
        use std::sync::atomic::Ordering;
        let prepared = Self {
            name: name.into(),
            done: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        };
        match step().await {
            Ok(()) => prepared.done.store(true, Ordering::SeqCst),
            Err(err) => {
                tracing::warn!(step = %prepared.name, error = %err, "not prepared yet; retrying in the background");
                let (name, done) = (prepared.name.clone(), Arc::clone(&prepared.done));
                tokio::spawn(async move {
                    let (mut delay, max) = PREPARE_BACKOFF;
                    loop {
                        tokio::time::sleep(delay).await;
                        match step().await {
                            Ok(()) => {
                                done.store(true, Ordering::SeqCst);
                                tracing::info!(step = %name, "prepared");
                                return;
                            }
                            Err(err) => {
                                tracing::warn!(step = %name, error = %err, "preparing failed")
                            }
                        }
                        delay = (delay * 2).min(max);
                    }
                });
            }
        }
        prepared
    }

    /// Whether the step has succeeded.
    pub fn is_done(&self) -> bool {
        self.done.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl ReadinessCheck for Prepared {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let done = self.is_done();
        Box::pin(async move {
            if done {
                Ok(())
            } else {
                Err("not prepared yet".to_owned())
            }
        })
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
    async fn a_prepared_step_is_retried_until_it_succeeds() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&attempts);
        let prepared = Prepared::start("indexes", move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err("mongodb down") } else { Ok(()) } }
        })
        .await;
        assert_eq!(prepared.name(), "indexes");
        assert!(prepared.check().await.is_err(), "red while it fails");
        // Retries after 0.5 s and 1 s of backoff.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(prepared.is_done());
        assert!(prepared.check().await.is_ok());
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
    }

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
