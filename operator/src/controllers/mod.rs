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
//! - [`cached`]: the compact form the controllers' caches keep their CRs in.
//! - [`backends`]: the provisioners behind small traits (fakes in tests).
//! - [`kube_ops`]: server-side apply, deletion, Secret reads.
//! - [`provisioned`]: the memo that skips provisioning calls whose input did not change.
//! - [`triggers`]: which watch events start a reconcile.
//! - [`own_writes`]: the operator's own writes, whose watch events are no news to it.
//! - [`owned`]: one watch per owned kind, routed to the controller of each object's owner.

pub mod analytics_job;
pub mod backends;
pub mod cached;
pub mod common;
pub mod content_pipeline;
pub mod dependents;
pub mod health;
pub mod kube_ops;
pub mod own_writes;
pub mod owned;
pub mod platform;
pub mod provisioned;
pub mod template;
#[cfg(test)]
mod test_support;
pub mod triggers;

use crate::context::Context;
use crate::{Error, Result};
use cached::Cached;
use futures::StreamExt;
use futures::future::{BoxFuture, Either};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use machina_crds::{AnalyticsJob, ContentPipeline, Platform, Template};
use own_writes::OwnWrites;
use owned::SharedWatch;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

/// Most reconciles of one controller running at once.
pub const CONCURRENCY: u16 = 16;

/// Triggers of one object closer together than this start one reconcile: creating a CR's
/// objects sends a burst of events (one per object) that one reconcile answers.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// The controllers' settings: bounded concurrency, debounced triggers.
fn controller_config() -> ControllerConfig {
    ControllerConfig::default()
        .concurrency(CONCURRENCY)
        .debounce(DEBOUNCE)
}

/// A controller of `K` (cached compactly, see [`cached`]), started by changes of everything
/// but an object's status (the controller writes the status itself; see [`triggers::desired`]).
fn controller_of<K>(api: Api<Cached<K>>) -> Controller<Cached<K>>
where
    K: dependents::OnPlatform + Serialize + DeserializeOwned + Send + Sync,
{
    let (reader, writer) = reflector::store();
    // The cache keeps every object of the kind: without their managedFields (never read,
    // often the larger half of an object written by server-side apply).
    let events = reflector(
        writer,
        watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|o| o.meta_mut().managed_fields = None),
    );
    Controller::for_stream(
        triggers::changed(events, triggers::desired).touched_objects(),
        reader,
    )
    .with_config(controller_config())
}

/// Only the objects the operator manages are watched (never every Secret of the cluster).
fn owned_objects() -> watcher::Config {
    watcher::Config::default().labels(&format!(
        "{}={}",
        crate::labels::MANAGED_BY,
        crate::labels::MANAGED_BY_VALUE
    ))
}

/// The shared watches of the kinds the controllers own, in one namespace (or all).
struct OwnedWatches {
    deployments: SharedWatch<Deployment>,
    services: SharedWatch<Service>,
    config_maps: SharedWatch<ConfigMap>,
    secrets: SharedWatch<Secret>,
    budgets: SharedWatch<PodDisruptionBudget>,
    cron_jobs: SharedWatch<CronJob>,
}

impl OwnedWatches {
    fn new(client: &Client, ns: Option<&str>, own: &Arc<OwnWrites>) -> Self {
        Self {
            // A Deployment's status moves through states its owner's status ignores.
            deployments: touched(scoped(client, ns), own, Some(triggers::rollout)),
            services: touched(scoped(client, ns), own, None),
            config_maps: touched(scoped(client, ns), own, None),
            secrets: touched(scoped(client, ns), own, None),
            budgets: touched(scoped(client, ns), own, None),
            cron_jobs: touched(scoped(client, ns), own, None),
        }
    }

    /// Adds the watches of the objects every controller but the Templates' owns.
    fn owned_by<K>(&mut self, controller: Controller<K>) -> Controller<K>
    where
        K: kube::Resource<DynamicType = ()>
            + Clone
            + DeserializeOwned
            + Debug
            + Send
            + Sync
            + 'static,
    {
        controller
            .owns_stream(self.deployments.subscribe::<K>())
            .owns_stream(self.services.subscribe::<K>())
            .owns_stream(self.config_maps.subscribe::<K>())
            .owns_stream(self.secrets.subscribe::<K>())
            .owns_stream(self.budgets.subscribe::<K>())
            .shutdown_on_signal()
    }

    /// The watches, each running until the controllers it feeds have stopped.
    fn runs(self) -> Vec<BoxFuture<'static, ()>> {
        vec![
            Box::pin(self.deployments.run()),
            Box::pin(self.services.run()),
            Box::pin(self.config_maps.run()),
            Box::pin(self.secrets.run()),
            Box::pin(self.budgets.run()),
            Box::pin(self.cron_jobs.run()),
        ]
    }
}

/// A shared watch of the operator's objects of `K`, changes and deletions alike, less the
/// events of its own writes and, with a `fingerprint`, those that did not change it (the
/// fingerprint filter comes first, so that it has seen the own writes too).
fn touched<K>(
    api: Api<K>,
    own: &Arc<OwnWrites>,
    fingerprint: Option<triggers::Fingerprint<K>>,
) -> SharedWatch<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let events = watcher::watcher(api, owned_objects()).default_backoff();
    let own = own.clone();
    match fingerprint {
        Some(fingerprint) => SharedWatch::new(
            own_writes::without_own_writes(triggers::changed(events, fingerprint), own)
                .touched_objects(),
        ),
        None => SharedWatch::new(own_writes::without_own_writes(events, own).touched_objects()),
    }
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

/// The controllers being started, and the caches that must list before the operator is ready.
#[derive(Default)]
struct Launch {
    runs: Vec<BoxFuture<'static, ()>>,
    synced: Vec<BoxFuture<'static, bool>>,
}

impl Launch {
    /// Adds a controller with its reconcile function and error policy.
    fn add<K, F>(
        &mut self,
        controller: Controller<Cached<K>>,
        mut reconcile: impl FnMut(Arc<K>, Arc<Context>) -> F + Send + 'static,
        error_policy: impl Fn(Arc<Cached<K>>, &Error, Arc<Context>) -> Action + Send + Sync + 'static,
        ctx: Arc<Context>,
    ) where
        K: dependents::OnPlatform + Serialize + DeserializeOwned + Send + Sync,
        F: std::future::Future<Output = Result<Action>> + Send + 'static,
    {
        let store = controller.store();
        self.synced.push(Box::pin(
            async move { store.wait_until_ready().await.is_ok() },
        ));
        // The reconcile reads the whole object: expanded from the cache's compact form.
        let expanding = move |cached: Arc<Cached<K>>, ctx| match cached.expand() {
            Ok(object) => Either::Left(reconcile(Arc::new(object), ctx)),
            Err(e) => Either::Right(futures::future::ready(Err(e))),
        };
        self.runs.push(Box::pin(drain(controller.run(
            expanding,
            error_policy,
            ctx,
        ))));
    }
}

/// Re-reconciles the objects of `controller` that name a Platform when that Platform changes.
fn following_platforms<K>(
    controller: Controller<K>,
    client: &Client,
    ns: Option<&str>,
) -> Controller<K>
where
    K: dependents::OnPlatform + DeserializeOwned + Debug + Send + Sync,
{
    let mapper = dependents::mapper(controller.store());
    controller.watches(
        scoped::<Platform>(client, ns),
        watcher::Config::default(),
        mapper,
    )
}

/// Runs the Platform, ContentPipeline, Template and AnalyticsJob controllers (one of each
/// per watched namespace, or one of each for all namespaces) until a shutdown signal;
/// marks the operator ready once their watchers have listed what they watch.
pub async fn run(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let mut launch = Launch::default();
    for ns in namespace_list(&ctx.config.watch_namespaces) {
        let ns = ns.as_deref();
        let mut owned = OwnedWatches::new(&client, ns, &ctx.own_writes);
        let pipelines = owned.owned_by(controller_of(scoped::<Cached<ContentPipeline>>(
            &client, ns,
        )));
        launch.add(
            following_platforms(pipelines, &client, ns),
            content_pipeline::reconcile,
            content_pipeline::error_policy,
            ctx.clone(),
        );
        let platforms = owned.owned_by(controller_of(scoped::<Cached<Platform>>(&client, ns)));
        launch.add(
            platforms,
            platform::reconcile,
            platform::error_policy,
            ctx.clone(),
        );
        let jobs = owned
            .owned_by(controller_of(scoped::<Cached<AnalyticsJob>>(&client, ns)))
            .owns_stream(owned.cron_jobs.subscribe::<AnalyticsJob>());
        launch.add(
            following_platforms(jobs, &client, ns),
            analytics_job::reconcile,
            analytics_job::error_policy,
            ctx.clone(),
        );
        // Templates own no Kubernetes object: only the Templates themselves are watched.
        let templates = controller_of(scoped::<Cached<Template>>(&client, ns)).shutdown_on_signal();
        launch.add(
            following_platforms(templates, &client, ns),
            template::reconcile,
            template::error_policy,
            ctx.clone(),
        );
        launch.runs.extend(owned.runs());
    }
    let diagnostics = ctx.diagnostics.clone();
    let Launch { runs, synced } = launch;
    let ready = async move {
        if futures::future::join_all(synced)
            .await
            .into_iter()
            .all(|ok| ok)
        {
            tracing::info!("watchers synced");
            diagnostics.set_ready(true);
        }
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
