//! The status of an AnalyticsJob, computed from what a reconcile observed: pure, so it is
//! unit-tested without a server.

use super::converge::{Applied, Observed};
use crate::controllers::content_pipeline::health_of_rollout;
use crate::controllers::health::{Health, set_health};
use crate::names;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use machina_crds::AnalyticsJob;
use machina_crds::analytics_job::AnalyticsJobStatus;

/// Streaming: Ready when the worker Deployment has rolled out (0 replicas while
/// suspended). Scheduled: Ready when the CronJob exists and is not suspended.
pub fn health(job: &AnalyticsJob, observed: &Observed) -> Health {
    match &observed.workload {
        Applied::Streaming(deployment) => {
            health_of_rollout(deployment, if job.spec.suspend { 0 } else { 1 })
        }
        Applied::Scheduled(cron_job) => {
            if cron_job.spec.suspend.unwrap_or(false) {
                Health::Progressing {
                    message: "the CronJob is suspended".into(),
                }
            } else {
                Health::Ready
            }
        }
    }
}

/// The status to write: the previous one with this reconcile's observations, conditions
/// updated and `observedGeneration` set.
pub fn build(
    job: &AnalyticsJob,
    observed: Option<&Observed>,
    health: &Health,
    now: Timestamp,
) -> AnalyticsJobStatus {
    let mut status = job.status.clone().unwrap_or_default();
    if let Some(observed) = observed {
        let name = job.metadata.name.clone().unwrap_or_default();
        status.output_collection = Some(observed.output_collection.clone());
        status.mongodb_secret = Some(names::analytics_mongodb_secret(&name));
        status.queue = Some(observed.queue.clone());
        if let Applied::Scheduled(cron_job) = &observed.workload {
            let cron = cron_job.status.clone().unwrap_or_default();
            status.last_run_time = cron.last_schedule_time.or(status.last_run_time);
            status.last_success_time = cron.last_successful_time.or(status.last_success_time);
        }
        // The worker's own report (`<db>.analytics_job_progress`) is the authority on what
        // it aggregated; a streaming worker's last report is its last "run".
        if let Some(progress) = &observed.progress {
            status.events_processed = Some(progress.events_processed);
            status.last_event_time = progress
                .last_event_time
                .map(Time)
                .or(status.last_event_time);
            status.last_success_time = progress
                .last_success_time
                .map(Time)
                .or(status.last_success_time);
            if let Applied::Streaming(_) = &observed.workload {
                status.last_run_time = progress.updated_at.map(Time).or(status.last_run_time);
            }
        }
    }
    let generation = job.metadata.generation;
    set_health(&mut status.observed.conditions, health, generation, now);
    status.observed.observed_generation = generation;
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_analytics_job;
    use crate::provision::mongodb::AnalyticsProgress;

    #[test]
    fn the_workers_progress_fills_the_status() {
        let job = mk_analytics_job();
        let at = Timestamp::from_second(1_764_000_000).expect("time");
        let observed = Observed {
            workload: Applied::Streaming(Box::default()),
            output_collection: "rollups_x".into(),
            queue: "q".into(),
            progress: Some(AnalyticsProgress {
                events_processed: 42,
                last_event_time: Some(at),
                last_success_time: Some(at),
                updated_at: Some(at),
            }),
        };
        let status = build(&job, Some(&observed), &Health::Ready, at);
        assert_eq!(status.events_processed, Some(42));
        assert_eq!(status.last_event_time, Some(Time(at)));
        assert_eq!(status.last_success_time, Some(Time(at)));
        assert_eq!(status.last_run_time, Some(Time(at)));
        // No report yet: the previous figures stay.
        let mut job = job;
        job.status = Some(status);
        let quiet = Observed {
            progress: None,
            workload: Applied::Streaming(Box::default()),
            ..observed
        };
        let status = build(&job, Some(&quiet), &Health::Ready, at);
        assert_eq!(status.events_processed, Some(42));
    }
}
