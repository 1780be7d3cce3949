//! What every reconcile shares ([`Context`]) and what the HTTP server reports about the
//! operator ([`Diagnostics`]): the Context/State split of controller-rs.

use crate::controllers::backends::Backends;
use crate::controllers::own_writes::OwnWrites;
use crate::controllers::provisioned::Provisioned;
use crate::controllers::template::{HttpTemplateService, TemplateService};
use crate::metrics::Metrics;
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "machina-operator";

/// Configuration of the controllers.
#[derive(Clone, Debug)]
pub struct Config {
    /// Field manager of server-side applies ([`FIELD_MANAGER`]).
    pub field_manager: String,
    /// Namespaces to watch; empty: all namespaces.
    pub watch_namespaces: Vec<String>,
    /// Periodic reconcile of a Ready resource: restores external state changed out of band.
    pub resync: Duration,
    /// Requeue while a rollout progresses.
    pub progress_requeue: Duration,
    /// Requeue of a resource that is Degraded for a reason outside it (a missing Platform).
    pub degraded_requeue: Duration,
    /// First delay of the error backoff; doubles per consecutive failure.
    pub backoff_base: Duration,
    /// Longest delay of the error backoff.
    pub backoff_max: Duration,
    /// Identity reported on Events (the pod name).
    pub instance: Option<String>,
    /// Base URL of the template service of every Platform, instead of its in-cluster
    /// Service `http://<platform>-templates.<namespace>.svc:8080` (tests, out-of-cluster runs).
    pub template_service_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            field_manager: FIELD_MANAGER.into(),
            watch_namespaces: Vec::new(),
            resync: Duration::from_secs(300),
            progress_requeue: Duration::from_secs(10),
            degraded_requeue: Duration::from_secs(30),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
            instance: None,
            template_service_url: None,
        }
    }
}

/// State the HTTP server reports: readiness and leadership.
#[derive(Debug, Default)]
pub struct Diagnostics {
    ready: AtomicBool,
    leader: AtomicBool,
}

impl Diagnostics {
    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
    /// Marks the operator ready (watchers started, or standing by for the Lease).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }
    /// Whether this replica holds the Lease.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }
    /// Records whether this replica holds the Lease.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }
}

/// The delay before retry number `failures` (1 for the first failure): `base` doubled per
/// further failure, at most `max`.
pub fn backoff_delay(failures: u32, base: Duration, max: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(20);
    base.saturating_mul(1u32 << exponent).min(max)
}

/// Consecutive failures per object, for the exponential backoff of the error policy.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Records a failure of `key` and returns how long to wait before retrying it.
    pub fn next_delay(&self, key: &str, base: Duration, max: Duration) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        backoff_delay(*count, base, max)
    }

    /// Forgets the failures of `key` after a successful reconcile.
    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// What every reconcile shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// The reconcilers' metrics.
    pub metrics: Metrics,
    /// What the HTTP server reports.
    pub diagnostics: Arc<Diagnostics>,
    /// Configuration.
    pub config: Config,
    /// Provisioners of external resources.
    pub backends: Arc<dyn Backends>,
    /// Consecutive failures per object.
    pub backoff: Backoff,
    /// Publishes Events.
    pub recorder: Recorder,
    /// Client of the Platforms' template services.
    pub templates: Arc<dyn TemplateService>,
    /// Provisioning calls that succeeded recently, per object (skips identical repeats).
    pub provisioned: Provisioned,
    /// The operator's latest writes to its objects, whose watch events are no news.
    pub own_writes: Arc<OwnWrites>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("config", &self.config)
            .field("diagnostics", &self.diagnostics)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context for `client` with the given configuration and provisioners.
    pub fn new(
        client: Client,
        config: Config,
        backends: Arc<dyn Backends>,
        metrics: Metrics,
        diagnostics: Arc<Diagnostics>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.into(),
            instance: config.instance.clone(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            diagnostics,
            config,
            backends,
            backoff: Backoff::default(),
            templates: Arc::new(HttpTemplateService::default()),
            provisioned: Provisioned::default(),
            own_writes: Arc::default(),
        }
    }

    /// The same context with another template service client (a fake in tests).
    #[must_use]
    pub fn with_template_service(mut self, templates: Arc<dyn TemplateService>) -> Self {
        self.templates = templates;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_resets() {
        let (base, max) = (Duration::from_secs(5), Duration::from_secs(300));
        let backoff = Backoff::default();
        let delays: Vec<u64> = (0..8)
            .map(|_| backoff.next_delay("shop/copy", base, max).as_secs())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff.next_delay("shop/other", base, max).as_secs(), 5);
        backoff.reset("shop/copy");
        assert_eq!(backoff.next_delay("shop/copy", base, max).as_secs(), 5);
        assert_eq!(backoff_delay(u32::MAX, base, max), max);
    }
}
