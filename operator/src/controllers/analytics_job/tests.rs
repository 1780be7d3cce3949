//! The AnalyticsJob reconciler against the mock API server, with fake provisioners that
//! record their calls.

use super::*;
use crate::controllers::test_support::{
    FakeBackends, World, assert_ssa, condition, deleted_at, event_reasons,
    seed_platform_and_admin_secrets, status_patch, world, world_with,
};
use crate::fixtures::mk_analytics_job;
use crate::mock_api::ApiServer;
use machina_crds::analytics_job::JobMode;
use serde_json::json;

const AJ: &str = "/apis/machina.dev/v1alpha1/namespaces/shop/analyticsjobs/content-engagement";
const SECRETS: &str = "/api/v1/namespaces/shop/secrets";
const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/shop/deployments/content-engagement-analytics";
const CRONJOB: &str = "/apis/batch/v1/namespaces/shop/cronjobs/content-engagement-analytics";
const USER: &str = "machina.aj.shop.content-engagement";

fn finalized(api: &ApiServer, edit: impl FnOnce(&mut AnalyticsJob)) -> Arc<AnalyticsJob> {
    let mut job = mk_analytics_job();
    job.metadata.finalizers = Some(vec![FINALIZER.into()]);
    edit(&mut job);
    api.seed(AJ, serde_json::to_value(&job).expect("job"));
    Arc::new(job)
}

fn scheduled(job: &mut AnalyticsJob) {
    job.spec.mode = JobMode::Scheduled;
    job.spec.schedule = Some("0 * * * *".into());
}

#[tokio::test]
async fn streaming_applies_the_deployment_and_deletes_the_cronjob() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    let action = reconcile(finalized(&w.api, |_| {}), w.ctx.clone())
        .await
        .expect("reconcile");
    // The mock server's Deployment has no status yet: rolling out.
    assert_eq!(action, Action::requeue(w.ctx.config.progress_requeue));
    let secret = |n: &str| format!("{SECRETS}/content-engagement-analytics-{n}");
    assert_eq!(
        w.api.lines()[3..],
        [
            format!("GET {}", secret("mongodb")),
            format!("GET {}", secret("rabbitmq")),
            format!("PATCH {}", secret("mongodb")),
            format!("PATCH {}", secret("rabbitmq")),
            format!("PATCH {DEPLOYMENT}"),
            format!("DELETE {CRONJOB}"),
            format!("PATCH {AJ}/status"),
        ]
    );
    for call in w.api.calls().iter().filter(|c| c.method == "PATCH") {
        assert_ssa(call);
    }
    assert_eq!(
        w.backends.calls(),
        [
            format!("mongo.ensure_role acme_analytics {USER}"),
            format!("mongo.ensure_user acme_analytics {USER}"),
            format!("rabbit.apply shop.acme {USER}"),
        ]
    );
    let status = status_patch(&w.api, AJ);
    assert_eq!(status["queue"], USER);
    assert_eq!(
        status["mongodbSecret"],
        "content-engagement-analytics-mongodb"
    );
    assert_eq!(status["outputCollection"], "rollups_content_engagement");
    assert_eq!(condition(&status, "Progressing")["status"], "True");
}

#[tokio::test]
async fn a_second_reconcile_with_the_same_input_provisions_nothing() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    let job = finalized(&w.api, |_| {});
    reconcile(job.clone(), w.ctx.clone())
        .await
        .expect("first reconcile");
    let first = w.backends.calls();
    assert_eq!(first.len(), 3, "{first:?}");
    // The mock API server keeps what it is given, not what is applied: the Secrets written
    // by the first reconcile are what the second one reads.
    for call in w.api.calls() {
        if call.method == "PATCH" && call.path.starts_with(SECRETS) {
            w.api.seed(&call.path, call.body);
        }
    }
    reconcile(job, w.ctx.clone())
        .await
        .expect("second reconcile");
    assert_eq!(w.backends.calls(), first, "nothing provisioned again");
}

#[tokio::test]
async fn scheduled_applies_the_cronjob_deletes_the_deployment_and_reports_runs() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    w.api.seed(
        CRONJOB,
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
               "metadata": {"name": "content-engagement-analytics"},
               "spec": {"schedule": "0 * * * *", "jobTemplate": {}},
               "status": {"lastScheduleTime": "2026-11-24T15:00:00Z",
                          "lastSuccessfulTime": "2026-11-24T15:02:10Z"}}),
    );
    let action = reconcile(finalized(&w.api, scheduled), w.ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.resync));
    let lines = w.api.lines();
    assert!(lines.contains(&format!("PATCH {CRONJOB}")), "{lines:?}");
    assert!(lines.contains(&format!("DELETE {DEPLOYMENT}")), "{lines:?}");
    assert!(!lines.contains(&format!("PATCH {DEPLOYMENT}")), "{lines:?}");
    let status = status_patch(&w.api, AJ);
    assert_eq!(status["lastRunTime"], "2026-11-24T15:00:00Z");
    assert_eq!(status["lastSuccessTime"], "2026-11-24T15:02:10Z");
    assert_eq!(condition(&status, "Ready")["status"], "True");
}

#[tokio::test]
async fn a_suspended_cronjob_is_not_ready() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    let job = finalized(&w.api, |j| {
        scheduled(j);
        j.spec.suspend = true;
    });
    reconcile(job, w.ctx.clone()).await.expect("reconcile");
    let status = status_patch(&w.api, AJ);
    assert_eq!(condition(&status, "Ready")["status"], "False");
}

#[tokio::test]
async fn a_missing_platform_is_degraded() {
    let w = world();
    let action = reconcile(finalized(&w.api, |_| {}), w.ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::requeue(w.ctx.config.degraded_requeue));
    assert!(w.backends.calls().is_empty());
    let status = status_patch(&w.api, AJ);
    assert_eq!(condition(&status, "Degraded")["reason"], "PlatformNotFound");
}

#[tokio::test]
async fn an_unreachable_mongodb_is_degraded_and_an_error() {
    let World { ctx, api, .. } = world_with(FakeBackends {
        mongo_down: true,
        ..FakeBackends::default()
    });
    seed_platform_and_admin_secrets(&api);
    reconcile(finalized(&api, |_| {}), ctx)
        .await
        .expect_err("mongo down");
    let status = status_patch(&api, AJ);
    assert_eq!(
        condition(&status, "Degraded")["reason"],
        "MongoDBUnavailable"
    );
}

fn deleted(api: &ApiServer, policy: DeletionPolicy) -> Arc<AnalyticsJob> {
    finalized(api, |j| {
        j.spec.deletion_policy = policy;
        j.metadata.deletion_timestamp = Some(deleted_at());
    })
}

fn finalizer_released(api: &ApiServer) -> bool {
    api.calls()
        .iter()
        .any(|c| c.method == "PATCH" && c.path == AJ && c.body.to_string().contains("\"remove\""))
}

#[tokio::test]
async fn delete_policy_drops_the_user_and_role_and_removes_the_queue() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    reconcile(deleted(&w.api, DeletionPolicy::Delete), w.ctx.clone())
        .await
        .expect("cleanup");
    assert_eq!(
        w.backends.calls(),
        [
            format!("mongo.drop_user acme_analytics {USER}"),
            format!("mongo.drop_role acme_analytics {USER}"),
            format!("rabbit.remove shop.acme {USER} KeepIfNotEmpty"),
        ]
    );
    assert!(finalizer_released(&w.api));
    assert_eq!(event_reasons(&w.api, "shop"), ["ExternalStateRemoved"]);
}

#[tokio::test]
async fn retain_policy_touches_nothing_external() {
    let w = world();
    seed_platform_and_admin_secrets(&w.api);
    reconcile(deleted(&w.api, DeletionPolicy::Retain), w.ctx.clone())
        .await
        .expect("cleanup");
    assert!(w.backends.calls().is_empty());
    assert!(finalizer_released(&w.api));
    assert_eq!(event_reasons(&w.api, "shop"), ["ExternalStateRetained"]);
}

#[tokio::test]
async fn a_delete_without_platform_releases_the_finalizer_with_a_warning() {
    let w = world();
    reconcile(deleted(&w.api, DeletionPolicy::Delete), w.ctx.clone())
        .await
        .expect("cleanup");
    assert!(w.backends.calls().is_empty());
    assert!(finalizer_released(&w.api));
    assert_eq!(event_reasons(&w.api, "shop"), ["ExternalStateLeftBehind"]);
}
