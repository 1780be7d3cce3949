//! The kube-runtime controllers, and [`run`], which starts them.
//!
//! - [`content_pipeline`]: ContentPipeline → definition, worker, Redis, MongoDB user,
//!   RabbitMQ topology, Secrets.
//! - [`platform`]: Platform → connection Secrets, Deployments, Services, budgets.
//! - [`analytics_job`]: AnalyticsJob → MongoDB user, queue on the events exchange, Secrets,
//!   streaming Deployment or CronJob.
//! - [`template`]: Template → a registered, activated template in the Platform's template service.
//! - [`common`]: Platform resolution, pause annotation, backoff, Events (every controller).
//! - [`health`]: the Ready/Progressing/Degraded conditions of every kind.
//! - [`backends`]: the provisioners behind small traits (fakes in tests).
//! - [`kube_ops`]: server-side apply, deletion, Secret reads.

pub mod analytics_job;
pub mod backends;
pub mod common;
pub mod content_pipeline;
pub mod health;
pub mod kube_ops;
pub mod platform;
pub mod template;
#[cfg(test)]
mod test_support;

use crate::context::Context;
use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::watcher;
use kube::{Api, Client};
use machina_crds::{AnalyticsJob, ContentPipeline, Platform, Template};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

/// Most reconciles of one controller running at once.
pub const CONCURRENCY: u16 = 16;

/// Only the objects the operator manages are watched (never every Secret of the cluster).
fn owned_objects() -> watcher::Config {
    watcher::Config::default().labels(&format!(
        "{}={}",
        crate::labels::MANAGED_BY,
        crate::labels::MANAGED_BY_VALUE
    ))
}

/// Adds the watches of the objects a controller owns.
fn owning<K>(controller: Controller<K>, client: &Client, ns: Option<&str>) -> Controller<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    controller
        .with_config(ControllerConfig::default().concurrency(CONCURRENCY))
        .owns(scoped::<Deployment>(client, ns), owned_objects())
        .owns(scoped::<Service>(client, ns), owned_objects())
        .owns(scoped::<ConfigMap>(client, ns), owned_objects())
        .owns(scoped::<Secret>(client, ns), owned_objects())
        .owns(scoped::<PodDisruptionBudget>(client, ns), owned_objects())
        .shutdown_on_signal()
}

/// Drains a controller's stream, logging failed triggers at debug level (reconcile
/// errors are logged by the error policies).
async fn drain<S, T, E>(stream: S)
where
    S: futures::Stream<Item = std::result::Result<T, E>>,
    E: std::fmt::Display,
{
    stream
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "controller event");
            }
        })
        .await;
}

/// Runs the Platform, ContentPipeline, Template and AnalyticsJob controllers (one of each per watched namespace,
/// or one of each for all namespaces) until a shutdown signal; marks the operator ready
/// once their watchers have listed what they watch.
pub async fn run(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let mut runs: Vec<BoxFuture<'static, ()>> = Vec::new();
    let mut pipeline_stores = Vec::new();
    let mut platform_stores = Vec::new();
    let mut template_stores = Vec::new();
    let mut job_stores = Vec::new();
    for ns in namespace_list(&ctx.config.watch_namespaces) {
        let ns = ns.as_deref();
        let pipelines = owning(
            Controller::new(
                scoped::<ContentPipeline>(&client, ns),
                watcher::Config::default(),
            ),
            &client,
            ns,
        );
        pipeline_stores.push(pipelines.store());
        runs.push(Box::pin(drain(pipelines.run(
            content_pipeline::reconcile,
            content_pipeline::error_policy,
            ctx.clone(),
        ))));
        let platforms = owning(
            Controller::new(scoped::<Platform>(&client, ns), watcher::Config::default()),
            &client,
            ns,
        );
        platform_stores.push(platforms.store());
        runs.push(Box::pin(drain(platforms.run(
            platform::reconcile,
            platform::error_policy,
            ctx.clone(),
        ))));
        let jobs = owning(
            Controller::new(
                scoped::<AnalyticsJob>(&client, ns),
                watcher::Config::default(),
            ),
            &client,
            ns,
        )
        .owns(scoped::<CronJob>(&client, ns), owned_objects());
        job_stores.push(jobs.store());
        runs.push(Box::pin(drain(jobs.run(
            analytics_job::reconcile,
            analytics_job::error_policy,
            ctx.clone(),
        ))));
        // Templates own no Kubernetes object: only the Templates themselves are watched.
        let templates =
            Controller::new(scoped::<Template>(&client, ns), watcher::Config::default())
                .with_config(ControllerConfig::default().concurrency(CONCURRENCY))
                .shutdown_on_signal();
        template_stores.push(templates.store());
        runs.push(Box::pin(drain(templates.run(
            template::reconcile,
            template::error_policy,
            ctx.clone(),
        ))));
    }
    let diagnostics = ctx.diagnostics.clone();
    let ready = async move {
        for store in pipeline_stores {
            if store.wait_until_ready().await.is_err() {
                return;
            }
        }
        for store in platform_stores {
            if store.wait_until_ready().await.is_err() {
                return;
            }
        }
        for store in job_stores {
            if store.wait_until_ready().await.is_err() {
                return;
            }
        }
        for store in template_stores {
            if store.wait_until_ready().await.is_err() {
                return;
            }
        }
        tracing::info!("watchers synced");
        diagnostics.set_ready(true);
    };
    tokio::join!(ready, futures::future::join_all(runs));
}

fn namespace_list(namespaces: &[String]) -> Vec<Option<String>> {
    if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().cloned().map(Some).collect()
    }
}

fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}
