//! What the controllers of kube-controller-manager and the apiserver do after a write,
//! run synchronously to a fixed point: deletion with finalizers, ownerReference
//! garbage collection (background, foreground, orphan), namespace termination and
//! CRD instance cleanup.

use serde_json::{Value, json};

use crate::crd;
use crate::gc_index::owner_uids;
use crate::ops::Propagation;
use crate::patch::fields;
use crate::store::{EventType, Key, State};

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";
/// Safety net against a cycle of ownerReferences; real GC would also stall there.
const MAX_ROUNDS: usize = 100_000;

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn is_deleting(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

/// Deletes the object at `key`: immediately when it has no finalizers, otherwise by
/// setting `deletionTimestamp`. Returns the object and whether deletion is pending.
pub fn delete_key(st: &mut State, key: &Key, propagation: Propagation) -> (Option<Value>, bool) {
    let Some(mut obj) = st.objects.get(key).cloned() else {
        return (None, false);
    };
    if is_deleting(&obj) {
        return (Some(obj), true);
    }
    let mut fins = finalizers(&obj);
    let extra = match propagation {
        Propagation::Foreground => Some(FOREGROUND),
        Propagation::Orphan => Some(ORPHAN),
        Propagation::Background => None,
    };
    if let Some(f) = extra
        && !fins.iter().any(|x| x == f)
    {
        fins.push(f.to_owned());
    }
    let is_namespace = key.group.is_empty() && key.plural == "namespaces";
    if fins.is_empty() && !is_namespace {
        return (st.remove(key), false);
    }
    obj["metadata"]["deletionTimestamp"] = json!(fields::now());
    obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    if !fins.is_empty() {
        obj["metadata"]["finalizers"] = json!(fins);
    }
    if is_namespace {
        obj["status"]["phase"] = json!("Terminating");
    }
    (Some(st.put(key.clone(), obj, EventType::Modified)), true)
}

/// Removes finalizer `f`; deletes the object when it was the last one.
fn drop_finalizer(st: &mut State, key: &Key, f: &str) {
    let Some(mut obj) = st.objects.get(key).cloned() else {
        return;
    };
    let fins: Vec<String> = finalizers(&obj).into_iter().filter(|x| x != f).collect();
    obj["metadata"]["finalizers"] = json!(fins);
    if fins.is_empty() {
        if let Some(md) = obj["metadata"].as_object_mut() {
            md.remove("finalizers");
        }
        st.replace_before_removal(key, obj);
        st.remove(key);
    } else {
        st.put(key.clone(), obj, EventType::Modified);
    }
}

/// One pass; returns whether anything changed.
fn round(st: &mut State) -> bool {
    // Background GC: dependents none of whose owners exist any more. Only the objects the
    // index names as candidates (given owners, or an owner removed) are looked at.
    let orphans: Vec<Key> = st
        .gc
        .take_candidates()
        .into_iter()
        .filter(|k| {
            st.objects.get(k).is_some_and(|o| {
                let owners = owner_uids(o);
                !is_deleting(o) && !owners.is_empty() && owners.iter().all(|u| !st.gc.exists(u))
            })
        })
        .collect();
    if !orphans.is_empty() {
        for k in &orphans {
            delete_key(st, k, Propagation::Background);
        }
        return true;
    }

    // Owners being deleted in the foreground or with orphaning.
    let deleting: Vec<(Key, String, Vec<String>)> = st
        .gc
        .deleting()
        .into_iter()
        .filter_map(|k| {
            let o = st.objects.get(&k)?;
            let uid = o["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
            let fins = finalizers(o);
            Some((k, uid, fins))
        })
        .collect();
    for (key, uid, fins) in deleting {
        // Only orphaning and foreground deletion look at dependents.
        let dependents: Vec<Key> = if fins.iter().any(|f| f == ORPHAN || f == FOREGROUND) {
            st.gc
                .dependents(&uid)
                .into_iter()
                .filter(|k| st.objects.contains_key(k))
                .collect()
        } else {
            Vec::new()
        };
        if fins.iter().any(|f| f == ORPHAN) {
            for d in &dependents {
                if let Some(mut o) = st.objects.get(d).cloned() {
                    let kept: Vec<Value> = o["metadata"]["ownerReferences"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter(|r| r["uid"].as_str() != Some(uid.as_str()))
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default();
                    o["metadata"]["ownerReferences"] = json!(kept);
                    if kept.is_empty()
                        && let Some(md) = o["metadata"].as_object_mut()
                    {
                        md.remove("ownerReferences");
                    }
                    st.put(d.clone(), o, EventType::Modified);
                }
            }
            drop_finalizer(st, &key, ORPHAN);
            return true;
        }
        if fins.iter().any(|f| f == FOREGROUND) {
            let live: Vec<&Key> = dependents
                .iter()
                .filter(|d| st.objects.get(*d).is_some_and(|o| !is_deleting(o)))
                .collect();
            if let Some(d) = live.first() {
                let d = (*d).clone();
                delete_key(st, &d, Propagation::Foreground);
                return true;
            }
            if dependents.is_empty() {
                drop_finalizer(st, &key, FOREGROUND);
                return true;
            }
        }
        if key.group.is_empty() && key.plural == "namespaces" && terminate_namespace(st, &key) {
            return true;
        }
        if crd::is_crd_key(&key) && crd::cleanup(st, &key) {
            return true;
        }
    }
    false
}

/// Deletes what a terminating namespace contains; removes it once empty.
fn terminate_namespace(st: &mut State, ns_key: &Key) -> bool {
    let ns = ns_key.name.clone();
    let contents: Vec<(Key, bool)> = st
        .objects
        .iter()
        .filter(|(k, _)| k.namespace == ns)
        .map(|(k, o)| (k.clone(), is_deleting(o)))
        .collect();
    let live: Vec<&Key> = contents
        .iter()
        .filter(|(_, deleting)| !deleting)
        .map(|(k, _)| k)
        .collect();
    if !live.is_empty() {
        for k in live {
            delete_key(st, k, Propagation::Background);
        }
        return true;
    }
    if contents.is_empty() {
        let fins = finalizers(&st.objects[ns_key]);
        if fins.is_empty() {
            st.remove(ns_key);
            return true;
        }
    }
    false
}

/// Runs the controllers until nothing changes.
pub fn settle(st: &mut State) {
    if !st.gc_pending {
        return; // nothing was removed, marked for deletion or given an owner
    }
    for _ in 0..MAX_ROUNDS {
        if !round(st) {
            st.gc_pending = false;
            return;
        }
    }
    tracing::warn!("housekeeping did not settle; ownerReference cycle?");
}
