//! Carries out scheduled publications: claims each due schedule (one replica
//! wins it) and publishes as [`Actor::Scheduler`], which applies only while the
//! entry still shows that schedule, so a retry after a crash never publishes twice.
//! Each tick also completes publications a replica left half-done (see
//! `service::publishing`).

use std::time::Duration;

use crate::{
    Content,
    clock::{now_ms, rfc3339},
    metrics::JobMetrics,
    service::Actor,
    store::ScheduleDoc,
    workflow::State,
};

/// How long an event may stay pending before a sweep completes it: well above
/// the time a live request takes to settle its own.
const PENDING_GRACE: Duration = Duration::from_secs(10);

/// The scheduler of one replica.
#[derive(Debug, Clone)]
pub struct Scheduler {
    content: Content,
    lease: Duration,
    metrics: JobMetrics,
}

impl Scheduler {
    /// A scheduler over `content`, owning claimed schedules for `lease`.
    pub fn new(content: Content, lease: Duration, metrics: JobMetrics) -> Self {
        Self {
            content,
            lease,
            metrics,
        }
    }

    /// Carries out every schedule due now, then sweeps interrupted publications.
    pub async fn tick(&self) {
        self.run_due().await;
        match self.content.sweep_pending(PENDING_GRACE).await {
            Ok(0) => {}
            Ok(_) => self.metrics.count("sweep", "ok"),
            Err(err) => tracing::warn!(error = %err, "cannot sweep pending events"),
        }
    }

    async fn run_due(&self) {
        loop {
            let claimed = match self
                .content
                .store()
                .claim_schedule(now_ms(), self.lease)
                .await
            {
                Ok(Some(job)) => job,
                Ok(None) => return,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot claim scheduled publications");
                    return;
                }
            };
            self.run(&claimed).await;
        }
    }

    async fn run(&self, job: &ScheduleDoc) {
        let at = rfc3339(job.publish_at);
        let actor = Actor::Scheduler { publish_at: &at };
        match self
            .content
            .transition(actor, &job.entry_id, &job.locale, State::Published)
            .await
        {
            Ok(_) => {
                self.metrics.count("schedule", "ok");
                tracing::info!(entry = %job.entry_id, locale = %job.locale, "scheduled publication done")
            }
            Err(crate::Error::Api(machina_kit::ApiError::Unavailable(_))) => {
                // Keep the schedule; the lease runs out and a replica retries.
                self.metrics.count("schedule", "retry");
                tracing::warn!(entry = %job.entry_id, "scheduled publication postponed: a dependency is down");
                return;
            }
            Err(err) => {
                // Not publishable (a 409 or 422 a retry would repeat): drop it,
                // and stop showing it on the entry.
                self.metrics.count("schedule", "dropped");
                tracing::warn!(entry = %job.entry_id, locale = %job.locale, error = %err, "scheduled publication dropped");
                if let Err(err) = self
                    .content
                    .clear_schedule_mark(&job.entry_id, &job.locale, &at)
                    .await
                {
                    tracing::warn!(error = %err, "cannot clear a dropped schedule from its entry");
                }
            }
        }
        if let Err(err) = self.content.store().finish_schedule(job).await {
            tracing::warn!(error = %err, "cannot remove a finished schedule; it is retried harmlessly");
        }
    }
}
