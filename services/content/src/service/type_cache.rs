//! Content types cached for reads.
//!
//! Reads only need a type to know which fields are localized and which hold
//! references; caching it saves a MongoDB round trip per read. Entries cached
//! for `TYPE_CACHE_TTL` (a change on another replica shows within it; this
//! replica's own changes show at once). Writes and publications always read the
//! type fresh, so validation never uses a stale definition.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::model::ContentType;

/// Most types kept; beyond that the cache starts over (types are few).
const CAPACITY: usize = 1024;

/// Types by id with the time they were read.
#[derive(Debug)]
pub struct TypeCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<ContentType>)>>,
}

impl TypeCache {
    /// A cache trusting an entry for `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached lookup of `id` (`Some(None)`: known not to exist), if fresh.
    pub fn get(&self, id: &str) -> Option<Option<ContentType>> {
        let entries = self.entries.lock().ok()?;
        let (at, ty) = entries.get(id)?;
        (at.elapsed() < self.ttl).then(|| ty.clone())
    }

    /// Remembers the lookup of `id`.
    pub fn put(&self, id: &str, ty: Option<ContentType>) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(id.to_owned(), (Instant::now(), ty));
        }
    }

    /// Forgets `id` (after this replica changed it).
    pub fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        let cache = TypeCache::new(Duration::from_secs(60));
        cache.put("a", None);
        assert_eq!(cache.get("a"), Some(None));
        cache.forget("a");
        assert_eq!(cache.get("a"), None);
        let off = TypeCache::new(Duration::ZERO);
        off.put("a", None);
        assert_eq!(off.get("a"), None);
    }
}
