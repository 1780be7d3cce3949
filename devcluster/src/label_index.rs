//! [`LabelIndex`]: which objects of a resource carry a label `key=value`, so a LIST with
//! an equality in its label selector reads the few objects that can match instead of every
//! object of the resource (the node controllers list a Deployment's pods, a Service's
//! endpoints, on every change: with thousands of pods in a namespace a scan per list made
//! rolling them out quadratic). [`crate::store::State`] keeps it current on every write.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::store::{Key, ObjectIndex};

/// `(group, plural, label key, label value)`.
type Posting = (String, String, String, String);

/// Objects by label pair, per resource, in key order.
#[derive(Debug, Default)]
pub struct LabelIndex {
    postings: HashMap<Posting, BTreeSet<Key>>,
}

fn labels(obj: Option<&Value>) -> Option<&Map<String, Value>> {
    obj?["metadata"]["labels"].as_object()
}

fn posting(key: &Key, label: &str, value: &str) -> Posting {
    (
        key.group.clone(),
        key.plural.clone(),
        label.to_owned(),
        value.to_owned(),
    )
}

impl ObjectIndex for LabelIndex {
    fn change(&mut self, key: &Key, before: Option<&Value>, after: Option<&Value>) {
        let (old, new) = (labels(before), labels(after));
        // Status writes (most writes) keep the labels: nothing to do.
        if old == new {
            return;
        }
        for (label, value) in old.into_iter().flatten() {
            let Some(value) = value.as_str() else {
                continue;
            };
            if new.and_then(|n| n.get(label)).and_then(Value::as_str) == Some(value) {
                continue;
            }
            let p = posting(key, label, value);
            if let Some(keys) = self.postings.get_mut(&p) {
                keys.remove(key);
                if keys.is_empty() {
                    self.postings.remove(&p);
                }
            }
        }
        for (label, value) in new.into_iter().flatten() {
            let Some(value) = value.as_str() else {
                continue;
            };
            if old.and_then(|o| o.get(label)).and_then(Value::as_str) == Some(value) {
                continue;
            }
            self.postings
                .entry(posting(key, label, value))
                .or_default()
                .insert(key.clone());
        }
    }
}

impl LabelIndex {
    /// Of the objects of `group/plural` carrying one of the `pairs`, the fewest: every
    /// object matching all of them is among these. `None` when `pairs` is empty.
    pub fn narrowest<'a>(
        &self,
        group: &str,
        plural: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<&BTreeSet<Key>> {
        static EMPTY: BTreeSet<Key> = BTreeSet::new();
        pairs
            .into_iter()
            .map(|(label, value)| {
                self.postings
                    .get(&(
                        group.to_owned(),
                        plural.to_owned(),
                        label.to_owned(),
                        value.to_owned(),
                    ))
                    .unwrap_or(&EMPTY)
            })
            .min_by_key(|keys| keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> Key {
        Key {
            group: String::new(),
            plural: "pods".into(),
            namespace: "default".into(),
            name: name.into(),
        }
    }

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}})
    }

    fn names(index: &LabelIndex, pairs: &[(&str, &str)]) -> Option<Vec<String>> {
        index
            .narrowest("", "pods", pairs.iter().copied())
            .map(|keys| keys.iter().map(|k| k.name.clone()).collect())
    }

    #[test]
    fn finds_objects_by_label_and_picks_the_narrowest_pair() {
        let mut index = LabelIndex::default();
        index.change(
            &key("a"),
            None,
            Some(&pod(json!({"app": "web", "tier": "1"}))),
        );
        index.change(
            &key("b"),
            None,
            Some(&pod(json!({"app": "web", "tier": "2"}))),
        );
        index.change(&key("c"), None, Some(&pod(json!({"app": "db"}))));
        assert_eq!(
            names(&index, &[("app", "web")]),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            names(&index, &[("app", "web"), ("tier", "2")]),
            Some(vec!["b".into()])
        );
        assert_eq!(names(&index, &[("app", "none")]), Some(vec![]));
        assert_eq!(names(&index, &[]), None);
        // Other resources are not mixed in.
        assert!(
            index
                .narrowest("", "services", [("app", "web")])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn follows_label_changes_and_removals() {
        let mut index = LabelIndex::default();
        let before = pod(json!({"app": "web", "tier": "1"}));
        let after = pod(json!({"app": "web", "tier": "2"}));
        index.change(&key("a"), None, Some(&before));
        index.change(&key("a"), Some(&before), Some(&after));
        assert_eq!(names(&index, &[("tier", "1")]), Some(vec![]));
        assert_eq!(names(&index, &[("tier", "2")]), Some(vec!["a".into()]));
        assert_eq!(names(&index, &[("app", "web")]), Some(vec!["a".into()]));
        index.change(&key("a"), Some(&after), None);
        assert_eq!(names(&index, &[("app", "web")]), Some(vec![]));
        assert!(index.postings.is_empty(), "no empty postings kept");
    }

    #[test]
    fn rebuild_indexes_every_object() {
        let (a, b) = (key("a"), key("b"));
        let (pa, pb) = (pod(json!({"app": "web"})), pod(json!({"app": "web"})));
        let index = LabelIndex::rebuild([(&a, &pa), (&b, &pb)]);
        assert_eq!(
            names(&index, &[("app", "web")]),
            Some(vec!["a".into(), "b".into()])
        );
    }
}
