//! Prometheus metrics of the reconcilers, prefixed `machina_operator_`:
//! `reconciliations_total{controller}`, `reconcile_errors_total{controller,error}` (the
//! error label is [`crate::Error::metric_label`]), `reconcile_duration_seconds{controller}`
//! and `provision_duration_seconds{controller,backend}` (time spent in calls to MongoDB and
//! RabbitMQ, so a slow reconcile can be told apart from a slow backend).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// Labels of the per-controller metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// `contentpipeline`, `platform`, …
    pub controller: String,
}

/// Labels of the error counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The controller that failed.
    pub controller: String,
    /// The error's [`crate::Error::metric_label`].
    pub error: String,
}

/// Labels of the provisioning histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProvisionLabels {
    /// The controller that provisioned.
    pub controller: String,
    /// `mongodb` or `rabbitmq`.
    pub backend: String,
}

/// Buckets of the duration histogram, in seconds (reconciles take milliseconds to seconds).
const DURATION_BUCKETS: [f64; 9] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The reconcilers' metrics, registered in their own registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Reconciles started.
    pub reconciliations: Family<ControllerLabels, Counter>,
    /// Reconciles that failed, by error.
    pub errors: Family<ErrorLabels, Counter>,
    /// Duration of reconciles.
    pub duration: Family<ControllerLabels, Histogram>,
    /// Duration of the calls to the external backends (one observation per provisioning).
    pub provision: Family<ProvisionLabels, Histogram>,
    /// Where they are registered, for `/metrics`.
    pub registry: Arc<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        let reconciliations = Family::<ControllerLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let duration = Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(DURATION_BUCKETS)
        });
        let provision = Family::<ProvisionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(DURATION_BUCKETS)
        });
        let mut registry = Registry::with_prefix("machina_operator");
        registry.register(
            "reconciliations",
            "Reconciles started, per controller",
            reconciliations.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, per controller and error",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconciles, per controller",
            duration.clone(),
        );
        registry.register(
            "provision_duration_seconds",
            "Time spent provisioning external resources, per controller and backend",
            provision.clone(),
        );
        Self {
            reconciliations,
            errors,
            duration,
            provision,
            registry: Arc::new(registry),
        }
    }
}

impl Metrics {
    /// Counts a reconcile of `controller` and returns a timer that records its duration
    /// when dropped.
    pub fn reconcile(&self, controller: &str) -> ReconcileTimer {
        let labels = ControllerLabels {
            controller: controller.to_owned(),
        };
        self.reconciliations.get_or_create(&labels).inc();
        ReconcileTimer {
            histogram: self.duration.get_or_create(&labels).clone(),
            start: Instant::now(),
        }
    }

    /// Counts a failed reconcile.
    pub fn reconcile_failure(&self, controller: &str, error: &crate::Error) {
        self.errors
            .get_or_create(&ErrorLabels {
                controller: controller.to_owned(),
                error: error.metric_label().to_owned(),
            })
            .inc();
    }

    /// Records `elapsed` spent provisioning on `backend` for `controller`.
    pub fn provisioned(&self, controller: &str, backend: &str, elapsed: std::time::Duration) {
        self.provision
            .get_or_create(&ProvisionLabels {
                controller: controller.to_owned(),
                backend: backend.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Records the duration of a reconcile when dropped.
#[derive(Debug)]
pub struct ReconcileTimer {
    histogram: Histogram,
    start: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_prefixed_and_labelled() {
        let metrics = Metrics::default();
        drop(metrics.reconcile("contentpipeline"));
        metrics.provisioned(
            "contentpipeline",
            "mongodb",
            std::time::Duration::from_millis(20),
        );
        metrics.reconcile_failure(
            "contentpipeline",
            &crate::Error::GeneratePassword("rng".into()),
        );
        let text = metrics.encode().expect("encode");
        assert!(
            text.contains(
                r#"machina_operator_reconciliations_total{controller="contentpipeline"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"machina_operator_reconcile_errors_total{controller="contentpipeline",error="GeneratePassword"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"machina_operator_reconcile_duration_seconds_count{controller="contentpipeline"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"machina_operator_provision_duration_seconds_count{controller="contentpipeline",backend="mongodb"} 1"#),
            "{text}"
        );
    }
}
