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
use std::hash::{Hash, Hasher};

use futures::{Stream, StreamExt, future};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Resource;
#[cfg(test)]
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;

use crate::content_pipeline::redis;
use crate::controllers::content_pipeline::{Health, health_of_rollout, rotation};

/// What of an object decides whether its owner must reconcile again.
pub type Fingerprint<K> = fn(&K) -> u64;

fn hash(value: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// A Deployment as its owner's status sees it: its ready and available counts, whether it
/// is Ready by [`health_of_rollout`] and rolled out by [`rotation::rollout_complete`] (the
/// facts the owners' statuses and a credential rotation's last step are computed from),
/// and its generation, labels and annotations (drift worth re-applying). The states a
/// Deployment passes through while its pods start (observed, updated, not ready yet)
/// change none of these. A pipeline's Redis is in no status (a pipeline reports its
/// worker's readiness), so its rollout wakes nobody: only its spec and metadata count.
pub fn rollout(d: &Deployment) -> u64 {
    let reported = !d.metadata.labels.as_ref().is_some_and(redis::is_redis);
    let readiness = reported.then(|| {
        let status = d.status.clone().unwrap_or_default();
        let desired = d.spec.replicas.unwrap_or(1);
        (
            status.ready_replicas.unwrap_or(0),
            status.available_replicas.unwrap_or(0),
            health_of_rollout(d, desired) == Health::Ready,
            rotation::rollout_complete(d),
        )
    });
    hash((
        d.metadata.generation,
        &d.metadata.labels,
        &d.metadata.annotations,
        readiness,
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

/// Passes on the events of `events` whose object's fingerprint changed, every deletion,
/// and the list markers (`Init`, `InitDone`).
pub fn changed<K, S>(
    events: S,
    fingerprint: Fingerprint<K>,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource + Send + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    let mut seen: HashMap<u64, u64> = HashMap::new();
    events.filter(move |event| {
        let passed = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                let fp = fingerprint(o);
                seen.insert(identity(o), fp) != Some(fp)
            }
            Ok(watcher::Event::Delete(o)) => {
                seen.remove(&identity(o));
                true
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) | Err(_) => true,
        };
        future::ready(passed)
    })
}

/// Hash of the uid, or of namespace/name for an object without one (never from an API
/// server).
fn identity<K: Resource>(o: &K) -> u64 {
    let m = o.meta();
    match &m.uid {
        Some(uid) => hash(uid),
        None => hash((&m.namespace, &m.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
    use kube::api::ObjectMeta;

    fn deployment(generation: i64, ready: i32, observed: i64) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("worker".into()),
                uid: Some("u1".into()),
                generation: Some(generation),
                ..ObjectMeta::default()
            },
            spec: DeploymentSpec {
                replicas: Some(1),
                ..DeploymentSpec::default()
            },
            // One replica: created (updated) once the controller observed the spec.
            status: Some(DeploymentStatus {
                replicas: Some(i32::from(observed >= generation)),
                updated_replicas: Some(i32::from(observed >= generation)),
                ready_replicas: Some(ready),
                available_replicas: Some(ready),
                observed_generation: Some(observed),
                ..DeploymentStatus::default()
            }),
        }
    }

    async fn passed(events: Vec<watcher::Event<Deployment>>) -> Vec<Deployment> {
        let stream = changed(
            futures::stream::iter(events.into_iter().map(Ok)),
            rollout as Fingerprint<Deployment>,
        )
        .touched_objects();
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
        // Observed but not ready yet changes nothing an owner reports.
        assert_eq!(out, vec![a, ready.clone(), ready.clone(), ready]);
    }

    #[test]
    fn a_pipeline_redis_rollout_wakes_nobody_but_its_spec_changes_do() {
        let labelled = |mut d: Deployment| {
            d.metadata.labels = Some(redis::redis_labels("copy").labels());
            d
        };
        let starting = labelled(deployment(1, 0, 0));
        assert_eq!(rollout(&starting), rollout(&labelled(deployment(1, 1, 1))));
        assert_ne!(rollout(&starting), rollout(&labelled(deployment(2, 0, 0))));
        // Any other Deployment's readiness counts.
        assert_ne!(rollout(&deployment(1, 0, 0)), rollout(&deployment(1, 1, 1)));
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
