//! The analytics worker of an AnalyticsJob: its container, and the Deployment (Streaming)
//! or CronJob (Scheduled) running it.

use crate::labels::{self, AppLabels};
use crate::platform::CREDENTIALS_VERSION_ANNOTATION;
use crate::pod::{MachinaContainer, PlatformSettings, env_secret, env_value};
use crate::workload::{self, PodParts};
use crate::{Error, Result, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use machina_crds::AnalyticsJob;
use machina_crds::analytics_job::JobMode;
use machina_crds::common::Workload;
use machina_crds::images::Component;
use std::collections::BTreeMap;

/// Key of the connection string in the job's MongoDB Secret.
pub const MONGODB_URI_KEY: &str = "uri";
/// Key of the AMQP URL in the job's RabbitMQ Secret.
pub const AMQP_URL_KEY: &str = "url";

fn app(instance: &str) -> AppLabels<'_> {
    AppLabels {
        name: "machina-analytics",
        instance,
        component: "analytics-job",
    }
}

/// The rollup collection: `spec.output.collection`, else `rollups_<name>` (`-` as `_`).
pub fn output_collection(job: &AnalyticsJob) -> Result<String> {
    match &job.spec.output.collection {
        Some(collection) => Ok(collection.clone()),
        None => Ok(format!(
            "rollups_{}",
            labels::name(job)?.replace(['-', '.'], "_")
        )),
    }
}

/// The worker's environment: the kit's variables, the job and its spec (JSON), its
/// credentials from its Secrets, where the rollups go, then nothing literal that is secret.
pub fn worker_env(job: &AnalyticsJob, platform: &PlatformSettings) -> Result<Vec<EnvVar>> {
    let name = labels::name(job)?;
    let spec_json = serde_json::to_string(&job.spec).map_err(|e| Error::SerializeSpec {
        what: "analytics job spec",
        source: Box::new(e),
    })?;
    let mode = match job.spec.mode {
        JobMode::Streaming => "Streaming",
        JobMode::Scheduled => "Scheduled",
    };
    let mut env = platform.base_env(&names::analytics_worker(&name), true);
    env.extend([
        env_value("JOB_NAME", name.as_str()),
        env_value("JOB_MODE", mode),
        env_value("JOB_SPEC", spec_json),
        env_secret(
            "MONGODB_URI",
            &names::analytics_mongodb_secret(&name),
            MONGODB_URI_KEY,
        ),
        env_value(
            "MONGODB_DATABASE",
            format!("{}_analytics", platform.database_prefix),
        ),
        env_value("OUTPUT_COLLECTION", output_collection(job)?),
        env_secret(
            "AMQP_URL",
            &names::analytics_rabbitmq_secret(&name),
            AMQP_URL_KEY,
        ),
        env_value("EVENTS_EXCHANGE", platform.events_exchange.as_str()),
    ]);
    Ok(env)
}

fn container(job: &AnalyticsJob, platform: &PlatformSettings) -> Result<Container> {
    Ok(MachinaContainer {
        name: "analytics".into(),
        image: platform.image(Component::Analytics, job.spec.image.as_deref()),
        args: vec!["worker".into()],
        env: worker_env(job, platform)?,
        resources: job.spec.resources.clone(),
        volume_mounts: Vec::new(),
    }
    .build())
}

fn placement() -> Workload {
    Workload {
        replicas: 1,
        ..Workload::default()
    }
}

fn meta(job: &AnalyticsJob, object_name: &str) -> Result<ObjectMeta> {
    labels::object_meta(job, object_name.to_owned(), app(object_name).labels())
}

/// The streaming worker `<job>-analytics`: one replica, none while suspended.
pub fn deployment(
    job: &AnalyticsJob,
    platform: &PlatformSettings,
    credentials_version: Option<&str>,
) -> Result<Deployment> {
    let object_name = names::analytics_worker(&labels::name(job)?);
    let placement = placement();
    let annotations = credentials_version
        .map(|v| BTreeMap::from([(CREDENTIALS_VERSION_ANNOTATION.into(), v.to_owned())]))
        .unwrap_or_default();
    let parts = PodParts {
        app: app(&object_name),
        workload: &placement,
        container: container(job, platform)?,
        volumes: Vec::new(),
        annotations,
        platform,
        service_account: None,
    };
    let replicas = if job.spec.suspend { 0 } else { 1 };
    Ok(workload::deployment(
        meta(job, &object_name)?,
        replicas,
        parts,
    ))
}

/// The CronJob `<job>-analytics` of a Scheduled job: never two runs at once, retries and
/// history from the spec. A Scheduled job without a schedule is refused by the CRD; here it
/// would fall back to hourly rather than panic.
pub fn cron_job(job: &AnalyticsJob, platform: &PlatformSettings) -> Result<CronJob> {
    let object_name = names::analytics_cronjob(&labels::name(job)?);
    let placement = placement();
    let parts = PodParts {
        app: app(&object_name),
        workload: &placement,
        container: container(job, platform)?,
        volumes: Vec::new(),
        annotations: BTreeMap::new(),
        platform,
        service_account: None,
    };
    let mut template = workload::pod_template(parts);
    if let Some(pod) = template.spec.as_mut() {
        pod.restart_policy = Some("Never".into());
    }
    let spec = &job.spec;
    Ok(CronJob {
        metadata: meta(job, &object_name)?,
        spec: CronJobSpec {
            schedule: spec.schedule.clone().unwrap_or_else(|| "@hourly".into()),
            time_zone: spec.time_zone.clone(),
            suspend: Some(spec.suspend),
            concurrency_policy: Some("Forbid".into()),
            successful_jobs_history_limit: Some(spec.successful_jobs_history_limit),
            failed_jobs_history_limit: Some(spec.failed_jobs_history_limit),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(app(&object_name).labels()),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    backoff_limit: Some(spec.backoff_limit),
                    template,
                    ..JobSpec::default()
                }),
            },
            ..CronJobSpec::default()
        },
        status: None,
    })
}
