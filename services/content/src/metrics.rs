//! Background job metrics: `machina_content_jobs_total` by `job` (`event`,
//! `webhook`, `schedule`, `sweep`) and `outcome` (`ok`, `retry`, `failed`,
//! `dropped`). A growing `event`/`retry` count means RabbitMQ is refusing events;
//! `webhook`/`failed` counts deliveries that used up their attempts.

use machina_kit::Metrics;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};

/// Labels of the job counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: &'static str,
    outcome: &'static str,
}

/// Job counters on the service's registry; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct JobMetrics {
    jobs: Family<JobLabels, Counter>,
}

impl JobMetrics {
    /// Creates the counters and registers them on `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        let jobs = Family::<JobLabels, Counter>::default();
        metrics.register(
            "content_jobs",
            "Background jobs (outbox events, webhook attempts, scheduled publications, sweeps) by outcome",
            jobs.clone(),
        );
        Self { jobs }
    }

    /// Counts one job run.
    pub fn count(&self, job: &'static str, outcome: &'static str) {
        self.jobs.get_or_create(&JobLabels { job, outcome }).inc();
    }
}
