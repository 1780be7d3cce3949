//! The workload controllers, each a kube-runtime `Controller` over its kind that owns the
//! objects it creates: [`deployment`], [`statefulset`], [`job`], [`cronjob`], and
//! [`endpointslice`]. Shared helpers (owned pods, readiness, conditions, pods from
//! templates) live here.
//!
//! Deployments manage their Pods directly (labelled `pod-template-hash`), without
//! ReplicaSets: the API server does not serve ReplicaSets, and nothing Machina or kubectl
//! reads (`rollout status`, `wait`) depends on them.

pub mod conditions;
pub mod cronjob;
pub mod deployment;
pub mod endpointslice;
pub mod job;
pub mod pods;
pub mod statefulset;

use crate::{Error, NodeConfig, Result};
use futures::StreamExt;
use kube::runtime::controller::Action;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What every reconciler gets.
#[derive(Clone)]
pub struct Ctx {
    /// The API client.
    pub client: Client,
    /// The node's configuration.
    pub config: NodeConfig,
}

/// Requeue after an error: a short fixed delay keeps a dev cluster responsive.
pub fn error_policy<K>(obj: Arc<K>, err: &Error, _ctx: Arc<Ctx>) -> Action
where
    K: Resource,
{
    tracing::warn!(
        name = obj.meta().name.as_deref().unwrap_or("?"),
        error = %err,
        kind = err.label(),
        "reconcile failed"
    );
    Action::requeue(Duration::from_secs(2))
}

/// Drives `controller` until `stop` fires, logging each outcome at debug level.
pub async fn drive<K, F, Fut>(
    controller: Controller<K>,
    reconcile: F,
    ctx: Arc<Ctx>,
    stop: CancellationToken,
) where
    K: Clone + Resource + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Debug + Clone + Eq + Hash + Unpin,
    F: FnMut(Arc<K>, Arc<Ctx>) -> Fut,
    Fut: std::future::Future<Output = Result<Action>> + Send + 'static,
{
    controller
        .graceful_shutdown_on(async move { stop.cancelled().await })
        .run(reconcile, error_policy::<K>, ctx)
        .for_each(|outcome| async move {
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "controller event");
            }
        })
        .await;
}

/// A controller over every namespace's `K`.
pub fn controller_for<K>(client: &Client) -> Controller<K>
where
    K: Clone
        + Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Default + Debug + Clone + Eq + Hash + Unpin,
{
    Controller::new(Api::<K>::all(client.clone()), watcher::Config::default())
}

/// Name and namespace of `obj`, or a [`Error::Missing`].
pub fn name_ns<K: Resource>(obj: &K, kind: &'static str) -> Result<(String, String)> {
    let meta = obj.meta();
    let name = meta.name.clone().ok_or(Error::Missing {
        kind,
        name: "?".into(),
        field: "metadata.name",
    })?;
    let ns = meta.namespace.clone().ok_or_else(|| Error::Missing {
        kind,
        name: name.clone(),
        field: "metadata.namespace",
    })?;
    Ok((name, ns))
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("node", &self.config.node_name)
            .finish_non_exhaustive()
    }
}

/// Whether `err` is an API error with HTTP status `code`.
pub fn is_status(err: &kube::Error, code: u16) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == code)
}

/// Merge-patches `status` (`{"status": {...}}`) onto `name` unless `current` already has it.
pub async fn patch_status<K, S>(
    api: &Api<K>,
    name: &str,
    current: Option<&S>,
    status: &serde_json::Value,
) -> Result<()>
where
    K: Clone + Resource<DynamicType = ()> + DeserializeOwned + Debug,
    S: serde::Serialize,
{
    let existing = serde_json::to_value(current).unwrap_or_default();
    if !conditions::needs_patch(&existing, &status["status"]) {
        return Ok(());
    }
    api.patch_status(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(status),
    )
    .await
    .map_err(Error::kube(format!(
        "patch status of {} {name}",
        K::kind(&())
    )))?;
    Ok(())
}
