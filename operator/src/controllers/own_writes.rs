//! The operator's own writes, so that their watch events do not wake the writer again.
//!
//! Every server-side apply returns the object with the `resourceVersion` of that write, and
//! the watch event the write causes carries the same version. A reconcile that creates a
//! pipeline's Secrets, ConfigMap and Deployments would otherwise be followed by a second,
//! identical reconcile answering its own events (measured: one reconcile in four of the
//! 1,000-pipeline benchmark). Any other change to an owned object (a user's edit, a
//! controller's status update, a deletion) has another version and still triggers.
//!
//! Each object has at most one entry, the version of the operator's latest write to it; the
//! next event about the object consumes it, whether or not it matches, so the table holds
//! only writes whose events have not arrived yet.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt, future};
use kube::Resource;
use kube::runtime::watcher;

/// Versions of the operator's latest writes, per object.
#[derive(Debug, Default)]
pub struct OwnWrites {
    latest: Mutex<HashMap<u64, u64>>,
}

impl OwnWrites {
    /// Records `written`, as a write of the operator returned it.
    pub fn record<K: Resource<DynamicType = ()>>(&self, written: &K) {
        if let Some(version) = version(written) {
            self.lock().insert(key(written), version);
        }
    }

    /// Whether `observed` (from a watch) is exactly the operator's latest write, and so no
    /// news to it. Consumes the entry of the object either way.
    pub fn is_own<K: Resource<DynamicType = ()>>(&self, observed: &K) -> bool {
        let recorded = self.lock().remove(&key(observed));
        recorded.is_some() && recorded == version(observed)
    }

    /// Drops the entry of `deleted`: a deletion is always news.
    pub fn forget<K: Resource<DynamicType = ()>>(&self, deleted: &K) {
        self.lock().remove(&key(deleted));
    }

    /// Writes whose events have not arrived yet (what the tests check the table by).
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, u64>> {
        // The table holds no invariant a panic could break: keep using it.
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `events` without the operator's own writes (deletions always pass).
pub fn without_own_writes<K, S>(
    events: S,
    own: Arc<OwnWrites>,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Send + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    events.filter(move |event| {
        let news = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => !own.is_own(o),
            Ok(watcher::Event::Delete(o)) => {
                own.forget(o);
                true
            }
            _ => true,
        };
        future::ready(news)
    })
}

fn key<K: Resource<DynamicType = ()>>(object: &K) -> u64 {
    let meta = object.meta();
    hash((K::kind(&()), &meta.namespace, &meta.name))
}

fn version<K: Resource>(object: &K) -> Option<u64> {
    object.meta().resource_version.as_ref().map(hash)
}

fn hash(value: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    use kube::api::ObjectMeta;

    fn config_map(name: &str, version: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                namespace: Some("ns".into()),
                name: Some(name.into()),
                resource_version: Some(version.into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    #[test]
    fn the_event_of_an_own_write_is_recognised_once() {
        let own = OwnWrites::default();
        own.record(&config_map("a", "7"));
        assert!(own.is_own(&config_map("a", "7")));
        assert!(!own.is_own(&config_map("a", "7")), "consumed");
        assert_eq!(own.pending(), 0);
    }

    #[test]
    fn any_other_version_is_news_and_clears_the_entry() {
        let own = OwnWrites::default();
        own.record(&config_map("a", "7"));
        // Someone else's edit, or a controller's status update, after the write.
        assert!(!own.is_own(&config_map("a", "8")));
        assert_eq!(own.pending(), 0);
        // Never written by the operator.
        assert!(!own.is_own(&config_map("b", "3")));
    }

    #[test]
    fn objects_are_told_apart_by_kind_namespace_and_name() {
        let own = OwnWrites::default();
        own.record(&config_map("a", "7"));
        let secret = Secret {
            metadata: config_map("a", "7").metadata,
            ..Secret::default()
        };
        assert!(!own.is_own(&secret));
        assert!(!own.is_own(&config_map("b", "7")));
        assert!(own.is_own(&config_map("a", "7")));
    }

    #[tokio::test]
    async fn a_watch_loses_only_the_events_of_own_writes() {
        let own = Arc::new(OwnWrites::default());
        own.record(&config_map("mine", "7"));
        own.record(&config_map("gone", "5"));
        let events = futures::stream::iter([
            watcher::Event::Apply(config_map("mine", "7")),
            watcher::Event::Apply(config_map("theirs", "8")),
            // A deletion passes even when it carries the version of the operator's write.
            watcher::Event::Delete(config_map("gone", "5")),
        ]);
        let passed: Vec<_> = without_own_writes(events.map(Ok), own.clone())
            .map(|e| match e.unwrap() {
                watcher::Event::Apply(o) | watcher::Event::Delete(o) => o.metadata.name.unwrap(),
                _ => unreachable!(),
            })
            .collect()
            .await;
        assert_eq!(passed, ["theirs", "gone"]);
        assert_eq!(own.pending(), 0);
    }

    #[test]
    fn a_later_write_replaces_the_earlier_one() {
        let own = OwnWrites::default();
        own.record(&config_map("a", "7"));
        own.record(&config_map("a", "9"));
        assert_eq!(own.pending(), 1);
        assert!(own.is_own(&config_map("a", "9")));
    }
}
