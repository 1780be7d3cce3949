//! CronJobs: a Job `<cronjob>-<minutes since epoch>` at each scheduled minute (UTC; only the
//! latest missed run is started), `concurrencyPolicy`, `suspend`, history limits, and
//! `lastScheduleTime` / `lastSuccessfulTime`. `timeZone` and `startingDeadlineSeconds` are
//! not honoured.

use super::conditions::{time, to_chrono};
use super::pods::{self, owner_reference};
use super::{Ctx, controller_for, drive, name_ns};
use crate::cron::Schedule;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Api;
use kube::api::{DeleteParams, ObjectMeta, PostParams, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs the CronJob controller until `stop`.
pub async fn run(ctx: Arc<Ctx>, stop: CancellationToken) {
    let jobs = Api::<Job>::all(ctx.client.clone());
    let controller = controller_for::<CronJob>(&ctx.client).owns(jobs, watcher::Config::default());
    drive(controller, reconcile, ctx, stop).await;
}

fn job_state(job: &Job) -> Option<(&'static str, Option<DateTime<Utc>>)> {
    let status = job.status.as_ref()?;
    for c in status.conditions.iter().flatten() {
        if c.status == "True" && c.type_ == "Complete" {
            return Some(("Complete", status.completion_time.as_ref().map(to_chrono)));
        }
        if c.status == "True" && c.type_ == "Failed" {
            return Some(("Failed", None));
        }
    }
    None
}

/// Name of the Job for the run scheduled at `at`.
pub fn job_name(cronjob: &str, at: DateTime<Utc>) -> String {
    format!("{cronjob}-{}", at.timestamp() / 60)
}

async fn reconcile(cj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action> {
    let (name, ns) = name_ns(cj.as_ref(), "CronJob")?;
    if pods::terminating(&cj.metadata) {
        return Ok(Action::await_change());
    }
    let spec = &cj.spec;
    let schedule = Schedule::parse(&spec.schedule).map_err(|reason| Error::Invalid {
        field: "spec.schedule".into(),
        reason,
    })?;
    let uid = cj.metadata.uid.clone().unwrap_or_default();
    let jobs_api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let mut jobs: Vec<Job> = pods::owned(&ctx.client, &ns, &uid, None).await?;
    jobs.sort_by_key(|j| j.metadata.creation_timestamp.as_ref().map(to_chrono));
    let active: Vec<&Job> = jobs
        .iter()
        .filter(|j| job_state(j).is_none() && !pods::terminating(&j.metadata))
        .collect();
    let now = Utc::now();
    let created_at = cj
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now, to_chrono);
    let last = cj
        .status
        .as_ref()
        .and_then(|s| s.last_schedule_time.as_ref())
        .map_or(created_at, to_chrono);
    let mut last_schedule = cj
        .status
        .as_ref()
        .and_then(|s| s.last_schedule_time.as_ref())
        .map(to_chrono);
    let mut created: Option<(String, String)> = None;
    if spec.suspend != Some(true)
        && let Some(due) = schedule.latest_due(last, now)
    {
        let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
        let run = match policy {
            "Forbid" => active.is_empty(),
            "Replace" => {
                for j in &active {
                    delete_job(&jobs_api, j).await?;
                }
                true
            }
            _ => true,
        };
        if run {
            let job_name = job_name(&name, due);
            let template = &spec.job_template;
            let mut meta = template.metadata.clone().unwrap_or_default();
            meta.annotations
                .get_or_insert_with(Default::default)
                .insert(
                    "batch.kubernetes.io/cronjob-scheduled-timestamp".into(),
                    time(due),
                );
            let job = Job {
                metadata: ObjectMeta {
                    name: Some(job_name.clone()),
                    namespace: Some(ns.clone()),
                    owner_references: Some(vec![owner_reference(cj.as_ref())?]),
                    ..meta
                },
                spec: template.spec.clone(),
                status: None,
            };
            match jobs_api.create(&PostParams::default(), &job).await {
                Ok(j) => created = Some((job_name, j.metadata.uid.unwrap_or_default())),
                // Already created by an earlier pass whose status write was lost.
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(Error::kube(format!("create job {ns}/{job_name}"))(e)),
            }
            last_schedule = Some(due);
        }
    }
    prune(
        &jobs_api,
        &jobs,
        "Complete",
        spec.successful_jobs_history_limit.unwrap_or(3),
    )
    .await?;
    prune(
        &jobs_api,
        &jobs,
        "Failed",
        spec.failed_jobs_history_limit.unwrap_or(1),
    )
    .await?;
    let last_success = jobs
        .iter()
        .filter_map(|j| job_state(j).and_then(|(_, t)| t))
        .max()
        .or_else(|| {
            cj.status
                .as_ref()
                .and_then(|s| s.last_successful_time.as_ref())
                .map(to_chrono)
        });
    let mut refs: Vec<serde_json::Value> = active
        .iter()
        .map(|j| json!({"apiVersion": "batch/v1", "kind": "Job", "name": j.metadata.name, "namespace": ns, "uid": j.metadata.uid}))
        .collect();
    if let Some((job_name, job_uid)) = created {
        refs.push(json!({"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "namespace": ns, "uid": job_uid}));
    }
    let status = json!({"status": {
        "active": if refs.is_empty() { json!(null) } else { json!(refs) },
        "lastScheduleTime": last_schedule.map(time),
        "lastSuccessfulTime": last_success.map(time),
    }});
    let api: Api<CronJob> = Api::namespaced(ctx.client.clone(), &ns);
    super::patch_status(&api, &name, cj.status.as_ref(), &status).await?;
    let wait = schedule
        .next_after(now)
        .map_or(Duration::from_secs(300), |next| {
            Duration::from_millis(u64::try_from((next - now).num_milliseconds()).unwrap_or(0) + 200)
        });
    Ok(Action::requeue(wait.min(Duration::from_secs(300))))
}

async fn delete_job(api: &Api<Job>, job: &Job) -> Result<()> {
    let job_name = job.metadata.name.clone().unwrap_or_default();
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    match api.delete(&job_name, &params).await {
        Ok(_) => Ok(()),
        Err(e) if super::is_status(&e, 404) => Ok(()),
        Err(e) => Err(Error::kube(format!("delete job {job_name}"))(e)),
    }
}

async fn prune(api: &Api<Job>, jobs: &[Job], state: &str, keep: i32) -> Result<()> {
    let done: Vec<&Job> = jobs
        .iter()
        .filter(|j| job_state(j).is_some_and(|(s, _)| s == state))
        .collect();
    let keep = usize::try_from(keep.max(0)).unwrap_or(0);
    for job in done.iter().take(done.len().saturating_sub(keep)) {
        delete_job(api, job).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn job_names_follow_the_scheduled_minute() {
        let t = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 5, 0)
            .single()
            .expect("t");
        assert_eq!(
            job_name("report", t),
            format!("report-{}", t.timestamp() / 60)
        );
    }
}
