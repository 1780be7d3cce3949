//! [`GcIndex`]: what the garbage collector needs to know without scanning every object —
//! which uids exist, who names an owner, which objects are being deleted, and which
//! objects may have lost their owners since the last pass. [`crate::store::State`] keeps
//! it current on every write, so a pass costs what changed, not the cluster's size (a
//! scan per write made creating 15,000 owned objects quadratic).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::store::{Key, ObjectIndex};

/// Indexes over the stored objects, kept by [`GcIndex::change`].
#[derive(Debug, Default)]
pub struct GcIndex {
    uids: HashMap<String, Key>,
    dependents: HashMap<String, BTreeSet<Key>>,
    deleting: BTreeSet<Key>,
    candidates: BTreeSet<Key>,
}

/// The object's uid.
fn uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["uid"].as_str()
}

/// The uids of the object's owners.
pub fn owner_uids(obj: &Value) -> BTreeSet<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["uid"].as_str()).collect())
        .unwrap_or_default()
}

fn is_deleting(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

impl ObjectIndex for GcIndex {
    fn change(&mut self, key: &Key, before: Option<&Value>, after: Option<&Value>) {
        if let Some(u) = before.and_then(uid)
            && after.and_then(uid) != Some(u)
        {
            self.uids.remove(u);
            // Whoever named the removed object as owner may be an orphan now.
            if after.is_none()
                && let Some(deps) = self.dependents.get(u)
            {
                self.candidates.extend(deps.iter().cloned());
            }
        }
        if let Some(u) = after.and_then(uid) {
            self.uids.insert(u.to_owned(), key.clone());
        }
        let old = before.map(owner_uids).unwrap_or_default();
        let new = after.map(owner_uids).unwrap_or_default();
        for gone in old.difference(&new) {
            if let Some(deps) = self.dependents.get_mut(*gone) {
                deps.remove(key);
                if deps.is_empty() {
                    self.dependents.remove(*gone);
                }
            }
        }
        for added in new.difference(&old) {
            self.dependents
                .entry((*added).to_owned())
                .or_default()
                .insert(key.clone());
        }
        if !new.is_empty() && new != old {
            self.candidates.insert(key.clone());
        }
        match after {
            Some(o) if is_deleting(o) => {
                self.deleting.insert(key.clone());
            }
            Some(_) => {
                self.deleting.remove(key);
            }
            None => {
                self.deleting.remove(key);
                self.candidates.remove(key);
            }
        }
    }
}

impl GcIndex {
    /// Whether an object with this uid exists.
    pub fn exists(&self, uid: &str) -> bool {
        self.uids.contains_key(uid)
    }

    /// The objects naming `owner` among their owners.
    pub fn dependents(&self, owner: &str) -> Vec<Key> {
        self.dependents
            .get(owner)
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The objects with a deletionTimestamp.
    pub fn deleting(&self) -> Vec<Key> {
        self.deleting.iter().cloned().collect()
    }

    /// Takes the objects that may have lost all their owners since the last call.
    pub fn take_candidates(&mut self) -> BTreeSet<Key> {
        std::mem::take(&mut self.candidates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> Key {
        Key {
            group: String::new(),
            plural: "configmaps".into(),
            namespace: "default".into(),
            name: name.into(),
        }
    }

    fn obj(uid: &str, owners: &[&str]) -> Value {
        let refs: Vec<Value> = owners.iter().map(|o| json!({"uid": o})).collect();
        json!({"metadata": {"uid": uid, "ownerReferences": refs}})
    }

    #[test]
    fn an_owner_removed_makes_its_dependents_candidates() {
        let mut ix = GcIndex::default();
        ix.change(&key("owner"), None, Some(&obj("u1", &[])));
        ix.change(&key("child"), None, Some(&obj("u2", &["u1"])));
        assert_eq!(ix.take_candidates(), BTreeSet::from([key("child")]));
        assert!(ix.exists("u1"));
        assert_eq!(ix.dependents("u1"), vec![key("child")]);

        ix.change(&key("owner"), Some(&obj("u1", &[])), None);
        assert!(!ix.exists("u1"));
        assert_eq!(ix.take_candidates(), BTreeSet::from([key("child")]));
    }

    #[test]
    fn status_updates_make_no_candidates_and_owner_changes_move_the_dependent() {
        let mut ix = GcIndex::default();
        ix.change(&key("child"), None, Some(&obj("u2", &["u1"])));
        ix.take_candidates();
        ix.change(
            &key("child"),
            Some(&obj("u2", &["u1"])),
            Some(&obj("u2", &["u1"])),
        );
        assert!(ix.take_candidates().is_empty());
        ix.change(
            &key("child"),
            Some(&obj("u2", &["u1"])),
            Some(&obj("u2", &["u3"])),
        );
        assert_eq!(ix.take_candidates(), BTreeSet::from([key("child")]));
        assert!(ix.dependents("u1").is_empty());
        assert_eq!(ix.dependents("u3"), vec![key("child")]);
    }

    #[test]
    fn deleting_follows_the_deletion_timestamp() {
        let mut ix = GcIndex::default();
        let mut o = obj("u1", &[]);
        ix.change(&key("a"), None, Some(&o));
        assert!(ix.deleting().is_empty());
        let before = o.clone();
        o["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        ix.change(&key("a"), Some(&before), Some(&o));
        assert_eq!(ix.deleting(), vec![key("a")]);
        ix.change(&key("a"), Some(&o), None);
        assert!(ix.deleting().is_empty());
    }
}
