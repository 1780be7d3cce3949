//! Jobs: pods run to completion (`completions`, `parallelism`), failed pods retried up to
//! `backoffLimit`, `activeDeadlineSeconds`, status counts and Complete / Failed conditions.
//! Simplified: no pod-failure policy, no indexed completion, no retry delay between failures.

use super::conditions::{self, Cond, time, to_chrono};
use super::pods::{self, owner_reference};
use super::{Ctx, controller_for, drive, name_ns};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs the Job controller until `stop`.
pub async fn run(ctx: Arc<Ctx>, stop: CancellationToken) {
    let pods = Api::<Pod>::all(ctx.client.clone());
    let controller = controller_for::<Job>(&ctx.client).owns(pods, watcher::Config::default());
    drive(controller, reconcile, ctx, stop).await;
}

/// Counts the planner works from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Pods still running or pending.
    pub active: usize,
    /// Pods that succeeded.
    pub succeeded: usize,
    /// Pods that failed.
    pub failed: usize,
}

/// How a Job ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still running; create this many pods.
    Run(usize),
    /// Every completion succeeded.
    Complete,
    /// Failed, with the reason.
    Failed(&'static str),
}

/// The next step for a job with the given spec numbers and `counts`.
pub fn plan(
    completions: usize,
    parallelism: usize,
    backoff_limit: usize,
    counts: Counts,
    deadline_passed: bool,
) -> Outcome {
    if counts.succeeded >= completions {
        return Outcome::Complete;
    }
    if counts.failed > backoff_limit {
        return Outcome::Failed("BackoffLimitExceeded");
    }
    if deadline_passed {
        return Outcome::Failed("DeadlineExceeded");
    }
    let wanted = parallelism.min(completions - counts.succeeded);
    Outcome::Run(wanted.saturating_sub(counts.active))
}

fn finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        })
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action> {
    let (name, ns) = name_ns(job.as_ref(), "Job")?;
    if pods::terminating(&job.metadata) || finished(&job) {
        return Ok(Action::await_change());
    }
    let spec = job.spec.as_ref().ok_or_else(|| Error::Missing {
        kind: "Job",
        name: name.clone(),
        field: "spec",
    })?;
    let uid = job.metadata.uid.clone().unwrap_or_default();
    // The pods carry the controller-uid label (set below), whatever the Job's selector.
    let by_uid = LabelSelector {
        match_labels: Some(BTreeMap::from([(
            "batch.kubernetes.io/controller-uid".to_owned(),
            uid.clone(),
        )])),
        ..LabelSelector::default()
    };
    let owned: Vec<Pod> = pods::owned(&ctx.client, &ns, &uid, Some(&by_uid)).await?;
    let phase_count = |phase: &str| owned.iter().filter(|p| pods::phase(p) == phase).count();
    let active: Vec<&Pod> = owned
        .iter()
        .filter(|p| {
            !pods::terminating(&p.metadata) && !matches!(pods::phase(p), "Succeeded" | "Failed")
        })
        .collect();
    let counts = Counts {
        active: active.len(),
        succeeded: phase_count("Succeeded"),
        failed: phase_count("Failed"),
    };
    let to_usize = |v: Option<i32>, d: usize| v.and_then(|v| usize::try_from(v).ok()).unwrap_or(d);
    let completions = to_usize(spec.completions, 1);
    let parallelism = to_usize(spec.parallelism, 1);
    let backoff_limit = to_usize(spec.backoff_limit, 6);
    let now = Utc::now();
    let start: DateTime<Utc> = job
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map_or(now, to_chrono);
    let deadline_passed = spec
        .active_deadline_seconds
        .is_some_and(|d| now - start >= chrono::Duration::seconds(d));
    let suspended = spec.suspend == Some(true);
    let outcome = if suspended {
        Outcome::Run(0)
    } else {
        plan(
            completions,
            parallelism,
            backoff_limit,
            counts,
            deadline_passed,
        )
    };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let mut created = 0;
    match &outcome {
        Outcome::Run(n) => {
            let owner = owner_reference(job.as_ref())?;
            let labels = BTreeMap::from([
                ("batch.kubernetes.io/job-name".to_owned(), name.clone()),
                ("job-name".to_owned(), name.clone()),
                ("batch.kubernetes.io/controller-uid".to_owned(), uid.clone()),
                ("controller-uid".to_owned(), uid.clone()),
            ]);
            for _ in 0..*n {
                let pod_name = format!("{name}-{}", pods::suffix());
                let pod =
                    pods::from_template(&spec.template, &pod_name, &ns, owner.clone(), &labels);
                api.create(&PostParams::default(), &pod)
                    .await
                    .map_err(Error::kube(format!("create pod {ns}/{pod_name}")))?;
                created += 1;
            }
        }
        Outcome::Failed(_) => {
            for p in &active {
                let pod_name = p.metadata.name.clone().unwrap_or_default();
                match api.delete(&pod_name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(e) if super::is_status(&e, 404) => {}
                    Err(e) => return Err(Error::kube(format!("delete pod {ns}/{pod_name}"))(e)),
                }
            }
        }
        Outcome::Complete => {}
    }
    let existing = serde_json::to_value(job.status.as_ref().and_then(|s| s.conditions.clone()))
        .unwrap_or_default();
    let mut wanted = Vec::new();
    let mut completion_time = json!(null);
    let active_now = match &outcome {
        Outcome::Run(_) => counts.active + created,
        _ => 0,
    };
    match &outcome {
        Outcome::Complete => {
            wanted.push(Cond::new(
                "SuccessCriteriaMet",
                true,
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            ));
            wanted.push(Cond::new(
                "Complete",
                true,
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            ));
            completion_time = json!(time(now));
        }
        Outcome::Failed(reason) => {
            let message = if *reason == "DeadlineExceeded" {
                "Job was active longer than specified deadline"
            } else {
                "Job has reached the specified backoff limit"
            };
            wanted.push(Cond::new("FailureTarget", true, reason, message));
            wanted.push(Cond::new("Failed", true, reason, message));
        }
        Outcome::Run(_) if suspended => wanted.push(Cond::new(
            "Suspended",
            true,
            "JobSuspended",
            "Job suspended",
        )),
        Outcome::Run(_) => {}
    }
    let count = |n: usize| if n == 0 { json!(null) } else { json!(n) };
    let ready = active.iter().filter(|p| pods::ready(p)).count();
    let status = json!({"status": {
        "startTime": time(start),
        "active": count(active_now),
        "ready": ready,
        "succeeded": count(counts.succeeded),
        "failed": count(counts.failed),
        "terminating": 0,
        "completionTime": completion_time,
        "conditions": if wanted.is_empty() { existing } else { conditions::merge_plain(&existing, &wanted, now) },
    }});
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    super::patch_status(&api, &name, job.status.as_ref(), &status).await?;
    Ok(match spec.active_deadline_seconds {
        Some(d) if matches!(outcome, Outcome::Run(_)) => {
            let left = (start + chrono::Duration::seconds(d) - now)
                .num_seconds()
                .max(1);
            Action::requeue(Duration::from_secs(u64::try_from(left).unwrap_or(1)))
        }
        _ => Action::requeue(Duration::from_secs(60)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(active: usize, succeeded: usize, failed: usize) -> Counts {
        Counts {
            active,
            succeeded,
            failed,
        }
    }

    #[test]
    fn runs_to_completion_with_parallelism() {
        assert_eq!(plan(3, 2, 6, c(0, 0, 0), false), Outcome::Run(2));
        assert_eq!(plan(3, 2, 6, c(1, 2, 0), false), Outcome::Run(0));
        assert_eq!(plan(3, 2, 6, c(0, 2, 0), false), Outcome::Run(1));
        assert_eq!(plan(3, 2, 6, c(0, 3, 1), false), Outcome::Complete);
    }

    #[test]
    fn fails_past_the_backoff_limit_or_deadline() {
        assert_eq!(plan(1, 1, 2, c(0, 0, 2), false), Outcome::Run(1));
        assert_eq!(
            plan(1, 1, 2, c(0, 0, 3), false),
            Outcome::Failed("BackoffLimitExceeded")
        );
        assert_eq!(
            plan(1, 1, 2, c(1, 0, 0), true),
            Outcome::Failed("DeadlineExceeded")
        );
    }
}
