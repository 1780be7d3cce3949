//! Unit tests of the AnalyticsJob builders, on the sample job and Platform.

use super::*;
use crate::fixtures::{
    NAMESPACE, assert_no_literal_secrets, env_literal, env_secret_ref, mk_analytics_job,
    mk_platform, only_container,
};
use machina_crds::AnalyticsJobSpec;
use pretty_assertions::assert_eq;

fn settings() -> PlatformSettings {
    PlatformSettings::from_platform(&mk_platform()).expect("settings")
}

fn scheduled() -> AnalyticsJob {
    let mut job = mk_analytics_job();
    job.spec.mode = JobMode::Scheduled;
    job.spec.schedule = Some("0 * * * *".into());
    job.spec.time_zone = Some("Europe/Berlin".into());
    job
}

fn streaming_deployment(objects: &AnalyticsJobObjects) -> &Deployment {
    match &objects.workload {
        JobWorkload::Streaming(d) => d,
        JobWorkload::Scheduled(_) => panic!("expected a Deployment"),
    }
}

fn cron(objects: &AnalyticsJobObjects) -> &CronJob {
    match &objects.workload {
        JobWorkload::Scheduled(c) => c,
        JobWorkload::Streaming(_) => panic!("expected a CronJob"),
    }
}

#[test]
fn streaming_mode_builds_a_deployment_and_deletes_the_cronjob() {
    let objects = desired_state(&mk_analytics_job(), &settings(), None).expect("objects");
    let d = streaming_deployment(&objects);
    assert_eq!(
        d.metadata.name.as_deref(),
        Some("content-engagement-analytics")
    );
    assert_eq!(d.metadata.namespace.as_deref(), Some(NAMESPACE));
    let owner = &d.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("AnalyticsJob", Some(true))
    );
    assert_eq!(d.spec.replicas, Some(1));
    assert_eq!(
        objects.deletions,
        [Deletion::new(
            DeleteKind::CronJob,
            "content-engagement-analytics"
        )]
    );
}

#[test]
fn the_worker_container_gets_its_spec_and_credentials_by_reference() {
    let objects = desired_state(&mk_analytics_job(), &settings(), None).expect("objects");
    let pod = streaming_deployment(&objects)
        .spec
        .template
        .spec
        .as_ref()
        .expect("pod");
    let c = only_container(pod);
    assert_eq!(c.args.as_deref(), Some(&["worker".to_owned()][..]));
    assert_eq!(
        c.image.as_deref(),
        Some(
            format!(
                "ghcr.io/machina-dev/machina-analytics:{}",
                machina_crds::images::TAG
            )
            .as_str()
        )
    );
    assert_no_literal_secrets(c);
    assert_eq!(
        env_secret_ref(c, "MONGODB_URI"),
        Some(("content-engagement-analytics-mongodb", "uri"))
    );
    assert_eq!(
        env_secret_ref(c, "AMQP_URL"),
        Some(("content-engagement-analytics-rabbitmq", "url"))
    );
    assert_eq!(env_literal(c, "JOB_NAME"), Some("content-engagement"));
    assert_eq!(
        env_literal(c, "OUTPUT_COLLECTION"),
        Some("rollups_content_engagement")
    );
    let spec: AnalyticsJobSpec =
        serde_json::from_str(env_literal(c, "JOB_SPEC").expect("JOB_SPEC")).expect("json");
    assert_eq!(spec, mk_analytics_job().spec);
}

#[test]
fn suspended_streaming_job_scales_to_zero() {
    let mut job = mk_analytics_job();
    job.spec.suspend = true;
    let objects = desired_state(&job, &settings(), None).expect("objects");
    assert_eq!(streaming_deployment(&objects).spec.replicas, Some(0));
}

#[test]
fn scheduled_mode_builds_a_cronjob_and_deletes_the_deployment() {
    let objects = desired_state(&scheduled(), &settings(), None).expect("objects");
    let c = cron(&objects);
    assert_eq!(
        c.metadata.name.as_deref(),
        Some("content-engagement-analytics")
    );
    assert_eq!(c.spec.schedule, "0 * * * *");
    assert_eq!(c.spec.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(c.spec.suspend, Some(false));
    assert_eq!(c.spec.concurrency_policy.as_deref(), Some("Forbid"));
    assert_eq!(c.spec.successful_jobs_history_limit, Some(3));
    assert_eq!(c.spec.failed_jobs_history_limit, Some(1));
    let job_spec = c.spec.job_template.spec.as_ref().expect("job spec");
    assert_eq!(job_spec.backoff_limit, Some(3));
    let pod = job_spec.template.spec.as_ref().expect("pod");
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    let container = only_container(pod);
    assert_no_literal_secrets(container);
    assert_eq!(env_literal(container, "JOB_MODE"), Some("Scheduled"));
    assert_eq!(
        objects.deletions,
        [Deletion::new(
            DeleteKind::Deployment,
            "content-engagement-analytics"
        )]
    );
}

#[test]
fn suspended_scheduled_job_suspends_the_cronjob() {
    let mut job = scheduled();
    job.spec.suspend = true;
    let objects = desired_state(&job, &settings(), None).expect("objects");
    assert_eq!(cron(&objects).spec.suspend, Some(true));
}

#[test]
fn long_names_fit_the_cronjob_limit() {
    let mut job = scheduled();
    job.metadata.name = Some("a-very-long-analytics-job-name-that-goes-on-and-on".into());
    let objects = desired_state(&job, &settings(), None).expect("objects");
    let name = cron(&objects).metadata.name.clone().expect("name");
    assert!(name.len() <= crate::names::MAX_CRONJOB, "{name}");
}
