//! [`State`]: the objects, the global resourceVersion counter and the bounded event
//! history that watches replay from. Every write goes through [`State::put`] or
//! [`State::remove`], so every change gets a new resourceVersion and an event.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::cluster_ips::ClusterIps;
use crate::gc_index::GcIndex;
use crate::label_index::LabelIndex;
use crate::registry::Registry;
use crate::selectors::LabelSelector;

/// Where an object lives: `(group, plural, namespace, name)`; namespace "" when
/// cluster-scoped. Versions share one key: objects are stored once per group/plural.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// API group.
    pub group: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace, "" for cluster-scoped objects.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

/// An index over the stored objects that [`State`] keeps current on every write.
pub trait ObjectIndex: Default {
    /// Records that the object at `key` went from `before` to `after` (`None`: absent).
    fn change(&mut self, key: &Key, before: Option<&Value>, after: Option<&Value>);

    /// Rebuilt from scratch (after loading a snapshot).
    fn rebuild<'a>(objects: impl IntoIterator<Item = (&'a Key, &'a Value)>) -> Self {
        let mut index = Self::default();
        for (k, o) in objects {
            index.change(k, None, Some(o));
        }
        index
    }
}

/// `ADDED`, `MODIFIED` or `DELETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The watch wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, as replayed to watches.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// Where the object lives.
    pub key: Key,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (before it, for deletions, with the new rv).
    pub object: Value,
    /// The object before a modification (watches with selectors need it).
    pub previous: Option<Value>,
}

/// The whole cluster state, behind one lock in [`crate::Cluster`].
#[derive(Debug)]
pub struct State {
    /// Served resources.
    pub registry: Registry,
    /// All objects.
    pub objects: BTreeMap<Key, Value>,
    /// Last resourceVersion handed out.
    pub rv: u64,
    /// Recent events, oldest first.
    pub history: VecDeque<Arc<Event>>,
    /// Watches from a resourceVersion below this one get 410 Gone.
    pub compacted: u64,
    history_limit: usize,
    tx: broadcast::Sender<Arc<Event>>,
    /// Set on every change; the persister clears it after writing a snapshot.
    pub dirty: bool,
    /// Set by changes the garbage collector and finalizer logic must look at
    /// (removals, deletionTimestamps, ownerReferences); `housekeeping::settle` clears it.
    pub gc_pending: bool,
    /// What the garbage collector reads instead of scanning every object.
    pub gc: GcIndex,
    /// Objects by label pair, for selective lists.
    pub labels: LabelIndex,
    /// Service cluster IPs in use, for allocating new ones.
    pub cluster_ips: ClusterIps,
    /// Pods on a node are deleted gracefully (the kubelet finishes the deletion).
    pub graceful_pods: bool,
}

impl State {
    /// An empty state keeping `history_limit` events for watches.
    pub fn new(history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(4096);
        Self {
            registry: Registry::default(),
            objects: BTreeMap::new(),
            rv: 0,
            history: VecDeque::new(),
            compacted: 0,
            history_limit: history_limit.max(1),
            tx,
            dirty: false,
            gc_pending: false,
            gc: GcIndex::default(),
            labels: LabelIndex::default(),
            cluster_ips: ClusterIps::default(),
            graceful_pods: false,
        }
    }

    /// A receiver of events after the current resourceVersion.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Stores `obj` under `key` with a fresh resourceVersion and records the event.
    pub fn put(&mut self, key: Key, mut obj: Value, kind: EventType) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let md = &obj["metadata"];
        // Housekeeping scans every object, so it runs only when a write can give it work:
        // a deletion in progress, or owners given or changed (they may not exist). A status
        // update of an owned object (every pod and Deployment status) cannot.
        let owners = &md["ownerReferences"];
        let owners_changed = owners.as_array().is_some_and(|r| !r.is_empty())
            && self
                .objects
                .get(&key)
                .is_none_or(|before| before["metadata"]["ownerReferences"] != *owners);
        if !md["deletionTimestamp"].is_null() || owners_changed {
            self.gc_pending = true;
        }
        let previous = self.objects.insert(key.clone(), obj.clone());
        self.reindex(&key, previous.as_ref(), Some(&obj));
        self.record(key, kind, obj.clone(), previous);
        obj
    }

    /// Replaces the object under `key` without an event or a new resourceVersion: only
    /// for a final state that [`State::remove`] records right after (the last finalizer gone).
    pub fn replace_before_removal(&mut self, key: &Key, obj: Value) {
        let previous = self.objects.remove(key);
        self.reindex(key, previous.as_ref(), Some(&obj));
        self.objects.insert(key.clone(), obj);
    }

    /// Keeps every index current with a change of the object at `key`.
    fn reindex(&mut self, key: &Key, before: Option<&Value>, after: Option<&Value>) {
        self.gc.change(key, before, after);
        self.labels.change(key, before, after);
        self.cluster_ips.change(key, before, after);
    }

    /// Removes the object under `key`; the DELETED event carries a fresh resourceVersion.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.reindex(key, Some(&obj), None);
        self.gc_pending = true;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(key.clone(), EventType::Deleted, obj.clone(), None);
        Some(obj)
    }

    fn record(&mut self, key: Key, kind: EventType, object: Value, previous: Option<Value>) {
        self.dirty = true;
        let ev = Arc::new(Event {
            rv: self.rv,
            key,
            kind,
            object,
            previous,
        });
        self.history.push_back(ev.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(ev);
    }

    /// Objects of `group/plural`, optionally in one namespace, in key order.
    pub fn list<'a>(
        &'a self,
        group: &'a str,
        plural: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a Key, &'a Value)> + 'a {
        // Keys sort by group, plural, namespace, name: the objects of one resource (and
        // namespace) are one contiguous range, so a list never walks the other resources.
        let start = Key {
            group: group.to_owned(),
            plural: plural.to_owned(),
            namespace: namespace.unwrap_or_default().to_owned(),
            name: String::new(),
        };
        self.objects.range(start..).take_while(move |(k, _)| {
            k.group == group && k.plural == plural && namespace.is_none_or(|ns| k.namespace == ns)
        })
    }

    /// The objects of `group/plural` (in `namespace`) that may match `selector`, in key
    /// order: through the label index when the selector has an equality, else all of them.
    pub fn list_candidates<'a>(
        &'a self,
        group: &'a str,
        plural: &'a str,
        namespace: Option<&'a str>,
        selector: &LabelSelector,
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a Value)> + 'a> {
        let Some(keys) = self.labels.narrowest(group, plural, selector.equalities()) else {
            return Box::new(self.list(group, plural, namespace));
        };
        let start = Key {
            group: group.to_owned(),
            plural: plural.to_owned(),
            namespace: namespace.unwrap_or_default().to_owned(),
            name: String::new(),
        };
        Box::new(
            keys.range(start..)
                .take_while(move |k| namespace.is_none_or(|ns| k.namespace == ns))
                .filter_map(|k| self.objects.get_key_value(k)),
        )
    }

    /// Whether namespace `ns` exists, and whether it is terminating.
    pub fn namespace_state(&self, ns: &str) -> Option<bool> {
        let key = Key {
            group: String::new(),
            plural: "namespaces".into(),
            namespace: String::new(),
            name: ns.into(),
        };
        self.objects
            .get(&key)
            .map(|o| !o["metadata"]["deletionTimestamp"].is_null())
    }

    /// Restores objects and the counter from a snapshot (history starts empty, so
    /// watches from before the restart get 410 Gone and relist, like after compaction).
    pub fn restore(&mut self, rv: u64, objects: Vec<(Key, Value)>) {
        self.rv = rv;
        self.compacted = rv;
        self.objects = objects.into_iter().collect();
        self.gc = GcIndex::rebuild(&self.objects);
        self.labels = LabelIndex::rebuild(&self.objects);
        self.cluster_ips = ClusterIps::rebuild(&self.objects);
        self.gc_pending = true;
    }
}
