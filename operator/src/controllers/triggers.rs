//! Which watch events start a reconcile. Every reconcile applies all of a CR's objects, so
//! an event that cannot change its outcome is only load: a Deployment's status moves
//! through several states while its pods start (only the readiness counts matter), and a
//! CR's own status write would otherwise wake its controller again. Measured with the
//! 1,000-pipeline benchmark (`operator/examples/bench`).
//!
//! Each filter keeps a fingerprint per object and passes an object on when its fingerprint
//! changed; deletions always pass (the owner recreates what was deleted). What a filter
//! hides is still repaired at the periodic resync.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};

use futures::{Stream, StreamExt, future};
use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

/// What of an object decides whether its owner must reconcile again.
pub type Fingerprint<K> = fn(&K) -> u64;

fn hash(value: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// A Deployment as its owner's status sees it: its spec generation, the counts readiness
/// is computed from, and its labels and annotations (drift worth re-applying).
pub fn rollout(d: &Deployment) -> u64 {
    let s = d.status.clone().unwrap_or_default();
    hash((
        d.metadata.generation,
        &d.metadata.labels,
        &d.metadata.annotations,
        s.observed_generation,
        s.replicas,
        s.ready_replicas,
        s.updated_replicas,
        s.available_replicas,
    ))
}

/// A CR as its reconcile sees it: everything but its status (the reconcile writes that).
pub fn desired<K: Resource>(o: &K) -> u64 {
    let m = o.meta();
    hash((
        &m.uid,
        m.generation,
        &m.labels,
        &m.annotations,
        &m.finalizers,
        m.deletion_timestamp.is_some(),
    ))
}

/// Passes on the objects of `events` whose fingerprint changed, and every deletion.
pub fn changed<K, S>(
    events: S,
    fingerprint: Fingerprint<K>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource + Send + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    let mut seen: HashMap<String, u64> = HashMap::new();
    events.filter_map(move |event| {
        let passed = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                let fp = fingerprint(&o);
                (seen.insert(identity(&o), fp) != Some(fp)).then_some(Ok(o))
            }
            Ok(watcher::Event::Delete(o)) => {
                seen.remove(&identity(&o));
                Some(Ok(o))
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
            Err(e) => Some(Err(e)),
        };
        future::ready(passed)
    })
}

/// The objects of `api` matching `config` that changed by `fingerprint` (a watch with the
/// default backoff, so a broken watch is retried rather than ended).
pub fn watch_changed<K>(
    api: Api<K>,
    config: watcher::Config,
    fingerprint: Fingerprint<K>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    changed(watcher(api, config).default_backoff(), fingerprint)
}

/// uid, or namespace/name for an object without one (never from an API server).
fn identity<K: Resource>(o: &K) -> String {
    let m = o.meta();
    m.uid.clone().unwrap_or_else(|| {
        format!(
            "{}/{}",
            m.namespace.as_deref().unwrap_or_default(),
            m.name.as_deref().unwrap_or_default()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use kube::api::ObjectMeta;

    fn deployment(generation: i64, ready: i32, observed: i64) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("worker".into()),
                uid: Some("u1".into()),
                generation: Some(generation),
                ..ObjectMeta::default()
            },
            status: Some(DeploymentStatus {
                ready_replicas: Some(ready),
                observed_generation: Some(observed),
                ..DeploymentStatus::default()
            }),
            ..Deployment::default()
        }
    }

    async fn passed(events: Vec<watcher::Event<Deployment>>) -> Vec<Deployment> {
        let stream = changed(
            futures::stream::iter(events.into_iter().map(Ok)),
            rollout as Fingerprint<Deployment>,
        );
        stream.map(Result::unwrap).collect().await
    }

    #[tokio::test]
    async fn only_readiness_and_spec_changes_and_deletions_pass() {
        let a = deployment(1, 0, 0);
        let mut noise = a.clone();
        noise.metadata.resource_version = Some("9".into());
        noise.metadata.managed_fields = Some(Vec::new());
        let observed = deployment(1, 0, 1);
        let ready = deployment(1, 1, 1);
        let out = passed(vec![
            watcher::Event::Init,
            watcher::Event::InitApply(a.clone()),
            watcher::Event::InitDone,
            watcher::Event::Apply(noise),
            watcher::Event::Apply(observed.clone()),
            watcher::Event::Apply(ready.clone()),
            watcher::Event::Apply(ready.clone()),
            watcher::Event::Delete(ready.clone()),
            watcher::Event::Apply(ready.clone()),
        ])
        .await;
        assert_eq!(out, vec![a, observed, ready.clone(), ready.clone(), ready]);
    }

    #[test]
    fn status_writes_keep_the_desired_fingerprint() {
        let object = deployment(1, 0, 0);
        let mut with_status = deployment(1, 1, 1);
        with_status.metadata.resource_version = Some("7".into());
        assert_eq!(desired(&object), desired(&with_status));
        let mut paused = object.clone();
        paused
            .metadata
            .annotations
            .get_or_insert_default()
            .insert("machina.dev/paused".into(), "true".into());
        assert_ne!(desired(&object), desired(&paused));
        let mut finalized = object.clone();
        finalized.metadata.finalizers = Some(vec!["machina.dev/cleanup".into()]);
        assert_ne!(desired(&object), desired(&finalized));
        assert_ne!(desired(&object), desired(&deployment(2, 0, 0)));
    }
}
