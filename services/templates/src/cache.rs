//! [`Cache`]: compiled engines by `(name, version)` and active versions by name.
//!
//! A cached engine holds the root version plus its dependencies at the versions
//! that were active when it was built, so a change to any template evicts the
//! engines that contain it ([`Cache::evict`]). Changes arrive from this replica's
//! own writes and, across replicas, over Redis pub/sub (`invalidation`). Entries
//! also expire: after a short TTL while no pub/sub subscription is live (no Redis,
//! or Redis down), after a long safety-net TTL while it is.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use machina_template_engine::{Engine, InputSchema, Limits};

use crate::{config::ACTIVE_VERSION_TTL_WITH_REDIS, model::VersionDoc};

/// More engines than this and the cache starts over (a crude but safe bound).
const MAX_ENGINES: usize = 4096;

/// A compiled root version with everything a render needs.
#[derive(Debug)]
pub struct CachedEngine {
    /// The sandboxed engine holding the root and its dependencies.
    pub engine: Engine,
    /// The root version.
    pub root: VersionDoc,
    /// The root's compiled input schema.
    pub schema: Option<InputSchema>,
    /// Dependencies `(name, version)` compiled in.
    pub dependencies: Vec<(String, i64)>,
    /// Limits renders run under (the root's, capped by the service's).
    pub limits: Limits,
}

#[derive(Debug, Default)]
struct Inner {
    active: HashMap<String, (i64, Instant)>,
    engines: HashMap<(String, i64), (Arc<CachedEngine>, Instant)>,
}

/// The in-memory caches of one replica.
#[derive(Debug)]
pub struct Cache {
    inner: Mutex<Inner>,
    /// TTL while no invalidation subscription is live.
    short_ttl: Duration,
    /// Whether a pub/sub subscription currently delivers invalidations.
    subscribed: AtomicBool,
}

impl Cache {
    /// An empty cache trusting entries for `short_ttl` without a subscription.
    pub fn new(short_ttl: Duration) -> Self {
        Self {
            inner: Mutex::default(),
            short_ttl,
            subscribed: AtomicBool::new(false),
        }
    }

    /// Records whether invalidations are being received.
    pub fn set_subscribed(&self, subscribed: bool) {
        self.subscribed.store(subscribed, Ordering::SeqCst);
    }

    fn ttl(&self) -> Duration {
        if self.subscribed.load(Ordering::SeqCst) {
            ACTIVE_VERSION_TTL_WITH_REDIS
        } else {
            self.short_ttl
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached active version of `name` (which implies it is live).
    pub fn active(&self, name: &str) -> Option<i64> {
        let ttl = self.ttl();
        let inner = self.lock();
        inner
            .active
            .get(name)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(v, _)| *v)
    }

    /// Remembers the active version of `name`.
    pub fn set_active(&self, name: &str, version: i64) {
        self.lock()
            .active
            .insert(name.to_owned(), (version, Instant::now()));
    }

    /// The cached engine of `(name, version)`.
    pub fn engine(&self, name: &str, version: i64) -> Option<Arc<CachedEngine>> {
        let ttl = self.ttl();
        let inner = self.lock();
        inner
            .engines
            .get(&(name.to_owned(), version))
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(e, _)| Arc::clone(e))
    }

    /// Caches `engine`.
    pub fn put_engine(&self, engine: Arc<CachedEngine>) {
        let mut inner = self.lock();
        if inner.engines.len() >= MAX_ENGINES {
            inner.engines.clear();
        }
        let key = (engine.root.name.clone(), engine.root.version);
        inner.engines.insert(key, (engine, Instant::now()));
    }

    /// Forgets everything that depends on `name`: its active version and every
    /// engine it is the root of or compiled into.
    pub fn evict(&self, name: &str) {
        let mut inner = self.lock();
        inner.active.remove(name);
        inner.engines.retain(|(root, _), (engine, _)| {
            root != name && !engine.dependencies.iter().any(|(d, _)| d == name)
        });
    }

    /// Forgets everything (after missing invalidations).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.active.clear();
        inner.engines.clear();
    }

    /// Number of cached engines (for tests).
    pub fn engines(&self) -> usize {
        self.lock().engines.len()
    }
}

#[cfg(test)]
mod tests {
    use machina_template_engine::{EngineOptions, TemplateFormat, TemplateSet};
    use mongodb::bson::DateTime;

    use super::*;

    fn mk_engine(name: &str, version: i64, deps: &[&str]) -> Arc<CachedEngine> {
        let set = TemplateSet::new().with(name, TemplateFormat::Text, "x");
        let engine = Engine::new(set, EngineOptions::default()).expect("compiles");
        Arc::new(CachedEngine {
            engine,
            root: VersionDoc {
                name: name.to_owned(),
                version,
                format: TemplateFormat::Text,
                source: "x".to_owned(),
                checksum: String::new(),
                content_checksum: String::new(),
                input_schema: None,
                sample_context: None,
                limits: Limits::default(),
                extends: None,
                includes: Vec::new(),
                created_at: DateTime::now(),
            },
            schema: None,
            dependencies: deps.iter().map(|d| ((*d).to_owned(), 1)).collect(),
            limits: Limits::default(),
        })
    }

    #[test]
    fn evicting_a_dependency_evicts_its_dependents() {
        let cache = Cache::new(Duration::from_secs(60));
        cache.put_engine(mk_engine("page", 1, &["layout"]));
        cache.put_engine(mk_engine("other", 1, &[]));
        cache.set_active("layout", 3);
        cache.evict("layout");
        assert!(cache.engine("page", 1).is_none());
        assert!(cache.engine("other", 1).is_some());
        assert_eq!(cache.active("layout"), None);
    }

    #[test]
    fn entries_expire_after_the_short_ttl() {
        let cache = Cache::new(Duration::ZERO);
        cache.set_active("a", 1);
        assert_eq!(cache.active("a"), None);
        cache.set_subscribed(true);
        assert_eq!(cache.active("a"), Some(1));
    }
}
