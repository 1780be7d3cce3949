//! [`HotCache`]: finished response bodies of the list endpoints, in process.
//!
//! A cache hit answers without a Redis round trip, so a request needs only
//! this process to be scheduled: that is what keeps the tail latency down on
//! a busy machine. Entries are whole bodies (`Bytes`, cloned by reference
//! count), keyed by list kind, id and `k`.
//!
//! Staleness is bounded three ways: every publish in this replica clears the
//! cache at once; other replicas' publishes arrive over Redis pub/sub (and,
//! should a message be lost, through the version poll); and every entry
//! expires after a short TTL regardless.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::body::Bytes;

use crate::cache::ListKind;

/// One cached body.
#[derive(Debug, Clone)]
struct Entry {
    k: usize,
    body: Bytes,
    at: Instant,
}

#[derive(Debug, Default)]
struct Maps {
    users: HashMap<Box<str>, Vec<Entry>>,
    items: HashMap<Box<str>, Vec<Entry>>,
    len: usize,
    /// Bumped by every [`HotCache::clear`]: a body read from Redis before a
    /// clear must not be stored after it.
    epoch: u64,
}

/// Response bodies by (kind, id, k), for at most `ttl`.
#[derive(Debug)]
pub struct HotCache {
    maps: Mutex<Maps>,
    ttl: Duration,
    max_entries: usize,
}

impl HotCache {
    /// A cache keeping at most `max_entries` bodies for `ttl` each; a zero
    /// `ttl` or size turns it off.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            maps: Mutex::new(Maps::default()),
            ttl,
            max_entries,
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.max_entries > 0
    }

    /// The cached body, if fresh.
    pub fn get(&self, kind: ListKind, id: &str, k: usize) -> Option<Bytes> {
        if !self.enabled() {
            return None;
        }
        let maps = self.maps.lock().ok()?;
        let map = match kind {
            ListKind::User => &maps.users,
            ListKind::Item => &maps.items,
            ListKind::Fallback => return None,
        };
        map.get(id)?
            .iter()
            .find(|e| e.k == k && e.at.elapsed() < self.ttl)
            .map(|e| e.body.clone())
    }

    /// The current epoch; pass it to [`HotCache::put`] with a body read after this call.
    pub fn epoch(&self) -> u64 {
        self.maps.lock().map_or(0, |m| m.epoch)
    }

    /// Remembers `body`, read from Redis in `epoch`, unless a clear happened
    /// since. A full cache is emptied first (crude, but bounded and O(1)
    /// amortised; entries live for seconds anyway).
    pub fn put(&self, epoch: u64, kind: ListKind, id: &str, k: usize, body: Bytes) {
        if !self.enabled() {
            return;
        }
        let Ok(mut maps) = self.maps.lock() else {
            return;
        };
        if maps.epoch != epoch {
            return;
        }
        if maps.len >= self.max_entries {
            *maps = Maps {
                epoch,
                ..Maps::default()
            };
        }
        let map = match kind {
            ListKind::User => &mut maps.users,
            ListKind::Item => &mut maps.items,
            ListKind::Fallback => return,
        };
        let entries = map.entry(id.into()).or_default();
        let entry = Entry {
            k,
            body,
            at: Instant::now(),
        };
        let added = match entries.iter_mut().find(|e| e.k == k) {
            Some(old) => {
                *old = entry;
                0
            }
            None => {
                entries.push(entry);
                1
            }
        };
        maps.len += added;
    }

    /// Forgets everything (new results were published).
    pub fn clear(&self) {
        if let Ok(mut maps) = self.maps.lock() {
            *maps = Maps {
                epoch: maps.epoch + 1,
                ..Maps::default()
            };
        }
    }

    /// Bodies held.
    pub fn len(&self) -> usize {
        self.maps.lock().map_or(0, |m| m.len)
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_per_kind_id_and_k_until_cleared() {
        let c = HotCache::new(Duration::from_secs(60), 10);
        let e = c.epoch();
        c.put(e, ListKind::User, "u1", 10, Bytes::from_static(b"a"));
        c.put(e, ListKind::User, "u1", 5, Bytes::from_static(b"b"));
        assert_eq!(c.get(ListKind::User, "u1", 10).as_deref(), Some(&b"a"[..]));
        assert_eq!(c.get(ListKind::User, "u1", 5).as_deref(), Some(&b"b"[..]));
        assert_eq!(c.get(ListKind::Item, "u1", 10), None);
        assert_eq!(c.get(ListKind::User, "u2", 10), None);
        c.put(e, ListKind::User, "u1", 10, Bytes::from_static(b"c"));
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(ListKind::User, "u1", 10).as_deref(), Some(&b"c"[..]));
        c.clear();
        assert!(c.is_empty() && c.get(ListKind::User, "u1", 10).is_none());
        // A body read before the clear is not stored after it.
        c.put(e, ListKind::User, "u1", 10, Bytes::from_static(b"stale"));
        assert!(c.get(ListKind::User, "u1", 10).is_none());
    }

    #[test]
    fn entries_expire_and_size_is_bounded() {
        let c = HotCache::new(Duration::from_millis(1), 10);
        c.put(c.epoch(), ListKind::Item, "i", 3, Bytes::from_static(b"x"));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.get(ListKind::Item, "i", 3), None);
        let c = HotCache::new(Duration::from_secs(60), 3);
        for n in 0..7 {
            c.put(
                c.epoch(),
                ListKind::Item,
                &format!("i{n}"),
                3,
                Bytes::from_static(b"x"),
            );
        }
        assert!(c.len() <= 3, "{}", c.len());
        let off = HotCache::new(Duration::ZERO, 10);
        off.put(0, ListKind::User, "u", 1, Bytes::from_static(b"x"));
        assert!(off.get(ListKind::User, "u", 1).is_none());
    }
}
