//! An AnalyticsJob's desired state: a streaming Deployment or a CronJob running the
//! analytics worker, and the object of the other mode to delete.

pub mod builders;

pub use builders::{AMQP_URL_KEY, MONGODB_URI_KEY, cron_job, deployment, worker_env};

use crate::pod::PlatformSettings;
use crate::{DeleteKind, Deletion, Result, labels, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use machina_crds::AnalyticsJob;
use machina_crds::analytics_job::JobMode;

/// The workload of an AnalyticsJob, by mode.
#[derive(Clone, Debug, PartialEq)]
pub enum JobWorkload {
    /// A worker consuming the job's queue continuously.
    Streaming(Box<Deployment>),
    /// A Job per schedule.
    Scheduled(Box<CronJob>),
}

/// The objects an AnalyticsJob owns, to apply, and those to delete.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyticsJobObjects {
    /// The worker.
    pub workload: JobWorkload,
    /// The workload of the other mode (after a mode change).
    pub deletions: Vec<Deletion>,
}

/// The desired state of `job`, on the Platform described by `platform`, with the version of
/// its credentials (which rolls the streaming worker when they rotate).
pub fn desired_state(
    job: &AnalyticsJob,
    platform: &PlatformSettings,
    credentials_version: Option<&str>,
) -> Result<AnalyticsJobObjects> {
    let name = labels::name(job)?;
    Ok(match job.spec.mode {
        JobMode::Streaming => AnalyticsJobObjects {
            workload: JobWorkload::Streaming(Box::new(deployment(
                job,
                platform,
                credentials_version,
            )?)),
            deletions: vec![Deletion::new(
                DeleteKind::CronJob,
                names::analytics_cronjob(&name),
            )],
        },
        JobMode::Scheduled => AnalyticsJobObjects {
            workload: JobWorkload::Scheduled(Box::new(cron_job(job, platform)?)),
            deletions: vec![Deletion::new(
                DeleteKind::Deployment,
                names::analytics_worker(&name),
            )],
        },
    })
}

#[cfg(test)]
mod tests;
