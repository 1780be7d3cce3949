//! Offline evaluation: leave-last-out per user, hit-rate@k of the model against
//! the popularity baseline, and catalogue coverage as a diversity measure.

use std::collections::{HashMap, HashSet};

use super::{Interaction, Model, RecParams};

/// A train/test split: the training events and each user's held-out item.
#[derive(Debug, Clone)]
pub struct Split {
    /// Everything except the held-out items.
    pub train: Vec<Interaction>,
    /// User -> the item of their last interaction, removed from `train`.
    pub held_out: HashMap<String, String>,
}

/// Holds out each user's most recent item (every interaction with it, so it
/// is not "seen"), for users with at least two distinct items.
pub fn leave_last_out(interactions: &[Interaction]) -> Split {
    let mut last: HashMap<&str, (&str, i64)> = HashMap::new();
    let mut distinct: HashMap<&str, HashSet<&str>> = HashMap::new();
    for e in interactions {
        distinct.entry(&e.user).or_default().insert(&e.item);
        let slot = last.entry(&e.user).or_insert((&e.item, e.ts_ms));
        if e.ts_ms >= slot.1 {
            *slot = (&e.item, e.ts_ms);
        }
    }
    let held_out: HashMap<String, String> = last
        .into_iter()
        .filter(|(user, _)| distinct.get(user).is_some_and(|d| d.len() >= 2))
        .map(|(user, (item, _))| (user.to_owned(), item.to_owned()))
        .collect();
    let train = interactions
        .iter()
        .filter(|e| held_out.get(&e.user) != Some(&e.item))
        .cloned()
        .collect();
    Split { train, held_out }
}

/// What the evaluation measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Users evaluated.
    pub users: usize,
    /// Share of users whose held-out item is in the model's top k.
    pub model_hit_rate: f64,
    /// The same for the most-popular-unseen baseline.
    pub popular_hit_rate: f64,
    /// Share of the catalogue that appears in at least one model list.
    pub model_coverage: f64,
    /// The same for the baseline.
    pub popular_coverage: f64,
}

/// Trains on `split.train` and measures hit-rate@`k` and coverage.
pub fn evaluate(split: &Split, now_ms: i64, params: &RecParams, k: usize) -> Report {
    let model = Model::train(&split.train, &HashMap::new(), now_ms, params);
    let catalogue = model.items().count().max(1) as f64;
    let (mut model_hits, mut popular_hits) = (0usize, 0usize);
    let (mut model_items, mut popular_items) = (HashSet::new(), HashSet::new());
    for (user, held) in &split.held_out {
        let recs = model.for_user(user, k).unwrap_or_default();
        model_hits += usize::from(recs.iter().any(|s| &s.item == held));
        model_items.extend(recs.into_iter().map(|s| s.item));
        let baseline = model.popular_unseen(user, k);
        popular_hits += usize::from(baseline.iter().any(|s| &s.item == held));
        popular_items.extend(baseline.into_iter().map(|s| s.item));
    }
    let users = split.held_out.len().max(1) as f64;
    Report {
        users: split.held_out.len(),
        model_hit_rate: model_hits as f64 / users,
        popular_hit_rate: popular_hits as f64 / users,
        model_coverage: model_items.len() as f64 / catalogue,
        popular_coverage: popular_items.len() as f64 / catalogue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::synthetic::{ClusteredSpec, clustered_interactions};

    #[test]
    fn split_holds_out_the_last_item_of_each_user() {
        let e = |user: &str, item: &str, ts_ms| Interaction {
            user: user.to_owned(),
            item: item.to_owned(),
            weight: 1.0,
            ts_ms,
        };
        let events = [
            e("u", "a", 1),
            e("u", "b", 2),
            e("u", "a", 3),
            e("solo", "a", 1),
        ];
        let split = leave_last_out(&events);
        assert_eq!(split.held_out.get("u").map(String::as_str), Some("a"));
        assert!(
            !split.held_out.contains_key("solo"),
            "one item: nothing to hold out"
        );
        assert_eq!(split.train.len(), 2, "u keeps only b; solo keeps a");
    }

    #[test]
    fn model_beats_popularity_on_clustered_users() {
        let data = clustered_interactions(&ClusteredSpec::default(), 0);
        let split = leave_last_out(&data.interactions);
        let report = evaluate(&split, 100 * 3_600_000, &RecParams::default(), 10);
        println!(
            "hit-rate@10 over {} users: model {:.3}, popularity {:.3}; coverage {:.3} vs {:.3}",
            report.users,
            report.model_hit_rate,
            report.popular_hit_rate,
            report.model_coverage,
            report.popular_coverage
        );
        assert!(report.users >= 500);
        assert!(
            report.model_hit_rate >= 1.5 * report.popular_hit_rate
                && report.model_hit_rate - report.popular_hit_rate >= 0.1,
            "{report:?}"
        );
        // Diversity: lists differ between users instead of repeating the head.
        assert!(
            report.model_coverage >= 3.0 * report.popular_coverage,
            "{report:?}"
        );
    }
}
