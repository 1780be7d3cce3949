//! The worker's Prometheus metrics, registered in the kit's registry (so `/metrics` serves
//! them with the HTTP and dependency metrics): `machina_generative_runs_total` by `api`
//! (`sync`, `job`) and `outcome` (`succeeded`, `rejected`, `failed`), and
//! `machina_generative_job_deliveries_total` by `disposition` (`ack`, `requeue`,
//! `dead_letter`).

use crate::events::Outcome;
use machina_kit::Metrics;
use machina_kit::prometheus_client::metrics::counter::Counter;
use machina_kit::prometheus_client::metrics::family::Family;

type Labels = Vec<(&'static str, &'static str)>;

/// Counters of runs and job deliveries; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct WorkerMetrics {
    runs: Family<Labels, Counter>,
    deliveries: Family<Labels, Counter>,
}

impl WorkerMetrics {
    /// The counters, registered in `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        let this = Self::default();
        metrics.register(
            "generative_runs",
            "Pipeline runs by API and outcome",
            this.runs.clone(),
        );
        metrics.register(
            "generative_job_deliveries",
            "Job deliveries handled, by disposition",
            this.deliveries.clone(),
        );
        this
    }

    /// Counts a run of `api` that ended with `outcome`.
    pub fn run(&self, api: &'static str, outcome: Outcome) {
        let outcome = match outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        };
        self.runs
            .get_or_create(&vec![("api", api), ("outcome", outcome)])
            .inc();
    }

    /// Counts a job delivery handled with `disposition`.
    pub fn delivery(&self, disposition: &'static str) {
        self.deliveries
            .get_or_create(&vec![("disposition", disposition)])
            .inc();
    }
}
