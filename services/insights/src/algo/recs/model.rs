//! [`Model`]: item–item cosine similarity over implicit feedback.
//!
//! Each user's profile weight for an item is `ln(1 + Σ event weight × decay)`:
//! repeats count, with diminishing returns, and old interactions fade with the
//! configured half-life. Item vectors are columns of the user × item matrix;
//! their cosine is accumulated user by user (only pairs that co-occur cost
//! anything) and the top neighbours of each item are kept. A user's candidates
//! are the neighbours of their items, scored `Σ profile weight × similarity`,
//! seen items removed, re-ranked by MMR and padded with popular items.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{
    Interaction, Reason, RecParams, Scored,
    diversity::{Candidate, mmr},
    profiles::Profiles,
};

/// A trained model: immutable, cheap to query.
#[derive(Debug, Clone, Default)]
pub struct Model {
    items: Vec<String>,
    index: HashMap<String, u32>,
    categories: Vec<Option<u32>>,
    neighbours: Vec<Vec<(u32, f32)>>,
    /// Every item a user interacted with, weighted, most recent first
    /// (ordered, so the similarity sums run in one order: equal input, equal bits).
    profiles: BTreeMap<String, Vec<(u32, f64)>>,
    /// Items by decreasing popularity, with the score normalised to `[0, 1]`.
    popular: Vec<(u32, f64)>,
    params: RecParams,
}

impl Model {
    /// Trains on `interactions` as of `now_ms`; `categories` maps item ids to a
    /// category (used by the per-category cap).
    pub fn train(
        interactions: &[Interaction],
        categories: &HashMap<String, String>,
        now_ms: i64,
        params: &RecParams,
    ) -> Self {
        let profiles = Profiles::of(interactions, now_ms, params.half_life_ms);
        let categories: BTreeMap<String, String> = categories
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self::derive(&profiles, &categories, params)
    }

    /// The model of accumulated `profiles`: a pure function of its input, so
    /// profiles built incrementally give the model a full recompute gives.
    pub fn derive(
        profiles: &Profiles,
        categories: &BTreeMap<String, String>,
        params: &RecParams,
    ) -> Self {
        let mut model = Self {
            params: params.clone(),
            ..Self::default()
        };
        // Items interned in sorted order: indices do not depend on arrival order.
        let items: BTreeSet<&String> = profiles.users.values().flat_map(|p| p.keys()).collect();
        items.into_iter().for_each(|item| {
            model.intern(item);
        });
        let mut category_ids: HashMap<&str, u32> = HashMap::new();
        model.categories = model
            .items
            .iter()
            .map(|item| {
                let next = category_ids.len() as u32;
                categories
                    .get(item)
                    .map(|c| *category_ids.entry(c.as_str()).or_insert(next))
            })
            .collect();
        let mut popularity = vec![0.0f64; model.items.len()];
        for (user, cells) in &profiles.users {
            let mut profile: Vec<(u32, f64, i64)> = cells
                .iter()
                .map(|(item, cell)| (model.index[item], (1.0 + cell.weight).ln(), cell.last_ms))
                .collect();
            profile.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
            for &(item, w, _) in &profile {
                popularity[item as usize] += w;
            }
            let profile = profile.into_iter().map(|(i, w, _)| (i, w)).collect();
            model.profiles.insert(user.clone(), profile);
        }
        model.neighbours = cosine_neighbours(&model.profiles, model.items.len(), params);
        let top = popularity
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let mut popular: Vec<(u32, f64)> = popularity
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i as u32, p / top))
            .collect();
        popular.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        popular.truncate(params.list_len.max(1) * 4);
        model.popular = popular;
        model
    }

    fn intern(&mut self, item: &str) -> u32 {
        if let Some(&i) = self.index.get(item) {
            return i;
        }
        let i = self.items.len() as u32;
        self.items.push(item.to_owned());
        self.index.insert(item.to_owned(), i);
        i
    }

    /// Users the model knows, in no particular order.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Items the model knows, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(String::as_str)
    }

    /// Number of (user, item) pairs.
    pub fn pairs(&self) -> usize {
        self.profiles.values().map(Vec::len).sum()
    }

    /// Personalised top-`k` for `user`, excluding seen items; `None` for an unknown user.
    pub fn for_user(&self, user: &str, k: usize) -> Option<Vec<Scored>> {
        let profile = self.profiles.get(user)?;
        let seen: HashSet<u32> = profile.iter().map(|(i, _)| *i).collect();
        let mut scores: HashMap<u32, f64> = HashMap::new();
        for &(item, weight) in profile.iter().take(self.params.max_profile) {
            for &(other, sim) in &self.neighbours[item as usize] {
                if !seen.contains(&other) {
                    *scores.entry(other).or_default() += weight * f64::from(sim);
                }
            }
        }
        let mut ranked: Vec<(u32, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate((k * 3).max(k + 10));
        let list = self.rerank(&ranked, k, self.params.mmr_lambda, Reason::Similar);
        Some(self.pad_with_popular(list, k, &seen))
    }

    /// The `k` items most similar to `item`; `None` for an unknown item.
    pub fn similar(&self, item: &str, k: usize) -> Option<Vec<Scored>> {
        let &idx = self.index.get(item)?;
        let ranked: Vec<(u32, f64)> = self.neighbours[idx as usize]
            .iter()
            .map(|&(i, s)| (i, f64::from(s)))
            .collect();
        let list = self.rerank(&ranked, k, 1.0, Reason::Similar);
        Some(self.pad_with_popular(list, k, &HashSet::from([idx])))
    }

    /// Cold-start list: `trending` items the model knows first, then popular ones.
    pub fn fallback(&self, trending: &[String], k: usize, exclude: Option<&str>) -> Vec<Scored> {
        let excluded: HashSet<u32> = exclude
            .and_then(|e| self.index.get(e))
            .copied()
            .into_iter()
            .collect();
        let n = trending.len().max(1) as f64;
        let ranked: Vec<(u32, f64)> = trending
            .iter()
            .filter_map(|t| self.index.get(t).copied())
            .filter(|i| !excluded.contains(i))
            .enumerate()
            .map(|(rank, i)| (i, 1.0 - rank as f64 / n))
            .collect();
        let list = self.rerank(&ranked, k, 1.0, Reason::Trending);
        self.pad_with_popular(list, k, &excluded)
    }

    /// The `k` most popular items `user` has not seen (the evaluation baseline).
    pub fn popular_unseen(&self, user: &str, k: usize) -> Vec<Scored> {
        let seen: HashSet<u32> = self
            .profiles
            .get(user)
            .map(|p| p.iter().map(|(i, _)| *i).collect())
            .unwrap_or_default();
        self.pad_with_popular(Vec::new(), k, &seen)
    }

    /// MMR (and the category cap) over `ranked` (index, raw score, best first).
    fn rerank(&self, ranked: &[(u32, f64)], k: usize, lambda: f64, reason: Reason) -> Vec<Scored> {
        let top = ranked.first().map_or(1.0, |r| r.1).max(f64::MIN_POSITIVE);
        let candidates: Vec<Candidate> = ranked
            .iter()
            .map(|&(item, score)| Candidate {
                item,
                relevance: score / top,
                category: self.categories[item as usize],
            })
            .collect();
        let order = mmr(&candidates, k, lambda, self.params.max_per_category, |i| {
            self.neighbours[i as usize].as_slice()
        });
        order
            .into_iter()
            .map(|pos| Scored {
                item: self.items[ranked[pos].0 as usize].clone(),
                score: ranked[pos].1,
                reason,
            })
            .collect()
    }

    /// Appends popular items not in `exclude` nor already listed, up to `k`.
    fn pad_with_popular(
        &self,
        mut list: Vec<Scored>,
        k: usize,
        exclude: &HashSet<u32>,
    ) -> Vec<Scored> {
        let mut listed: HashSet<u32> = list
            .iter()
            .filter_map(|s| self.index.get(&s.item))
            .copied()
            .collect();
        let mut per_category: HashMap<u32, usize> = HashMap::new();
        for s in &list {
            if let Some(cat) = self
                .index
                .get(&s.item)
                .and_then(|&i| self.categories[i as usize])
            {
                *per_category.entry(cat).or_default() += 1;
            }
        }
        for &(item, score) in &self.popular {
            if list.len() >= k {
                break;
            }
            if exclude.contains(&item) || listed.contains(&item) {
                continue;
            }
            if let (Some(cat), Some(cap)) =
                (self.categories[item as usize], self.params.max_per_category)
            {
                let used = per_category.entry(cat).or_default();
                if *used >= cap {
                    continue;
                }
                *used += 1;
            }
            listed.insert(item);
            list.push(Scored {
                item: self.items[item as usize].clone(),
                score,
                reason: Reason::Popular,
            });
        }
        list
    }
}

/// Top `params.neighbours` cosine neighbours of every item.
fn cosine_neighbours(
    profiles: &BTreeMap<String, Vec<(u32, f64)>>,
    n_items: usize,
    params: &RecParams,
) -> Vec<Vec<(u32, f32)>> {
    // Column view: item -> (user slot, weight), from the capped profiles.
    let capped: Vec<&[(u32, f64)]> = profiles
        .values()
        .map(|p| &p[..p.len().min(params.max_profile)])
        .collect();
    let mut columns: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n_items];
    let mut norms = vec![0.0f64; n_items];
    for (slot, profile) in capped.iter().enumerate() {
        for &(item, w) in *profile {
            columns[item as usize].push((slot as u32, w));
            norms[item as usize] += w * w;
        }
    }
    norms.iter_mut().for_each(|n| *n = n.sqrt());
    // A dense accumulator plus the list of touched slots keeps each item's
    // pass proportional to its co-occurrences, not to the catalogue size.
    let mut acc = vec![0.0f64; n_items];
    let mut touched: Vec<u32> = Vec::new();
    (0..n_items)
        .map(|i| {
            for &(slot, wi) in &columns[i] {
                for &(j, wj) in capped[slot as usize] {
                    if j as usize != i {
                        if acc[j as usize] == 0.0 {
                            touched.push(j);
                        }
                        acc[j as usize] += wi * wj;
                    }
                }
            }
            let mut sims: Vec<(u32, f32)> = touched
                .drain(..)
                .map(|j| {
                    let dot = std::mem::take(&mut acc[j as usize]);
                    let denom = norms[i] * norms[j as usize];
                    (
                        j,
                        if denom > 0.0 {
                            (dot / denom) as f32
                        } else {
                            0.0
                        },
                    )
                })
                .filter(|&(_, s)| s > 0.0)
                .collect();
            sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            sims.truncate(params.neighbours);
            sims
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(user: &str, item: &str, ts_ms: i64) -> Interaction {
        Interaction {
            user: user.to_owned(),
            item: item.to_owned(),
            weight: 1.0,
            ts_ms,
        }
    }

    /// Two tastes: {a, b, c} and {x, y, z}; `pop` is seen by everyone.
    fn two_tastes() -> Vec<Interaction> {
        let mut events = Vec::new();
        for u in 0..6 {
            let items: &[&str] = if u % 2 == 0 {
                &["a", "b", "c"]
            } else {
                &["x", "y", "z"]
            };
            for (n, item) in items.iter().enumerate() {
                events.push(event(&format!("u{u}"), item, n as i64));
            }
            events.push(event(&format!("u{u}"), "pop", 10));
        }
        events.push(event("new-ab", "a", 20));
        events.push(event("new-ab", "b", 21));
        events
    }

    fn model(params: RecParams) -> Model {
        Model::train(&two_tastes(), &HashMap::new(), 100, &params)
    }

    fn ids(list: &[Scored]) -> Vec<&str> {
        list.iter().map(|s| s.item.as_str()).collect()
    }

    #[test]
    fn recommends_the_missing_item_of_the_users_taste_first() {
        let m = model(RecParams::default());
        let recs = m.for_user("new-ab", 3).unwrap();
        assert_eq!(recs[0].item, "c");
        assert_eq!(recs[0].reason, Reason::Similar);
        assert!(
            !ids(&recs).contains(&"a") && !ids(&recs).contains(&"b"),
            "{recs:?}"
        );
    }

    #[test]
    fn unknown_users_and_items_get_none() {
        let m = model(RecParams::default());
        assert!(m.for_user("nobody", 5).is_none());
        assert!(m.similar("nothing", 5).is_none());
    }

    #[test]
    fn similar_items_share_users() {
        let m = model(RecParams::default());
        let sim = m.similar("x", 2).unwrap();
        let mut top: Vec<&str> = ids(&sim);
        top.sort_unstable();
        assert_eq!(top, vec!["y", "z"]);
        assert!(sim.iter().all(|s| s.item != "x"));
    }

    #[test]
    fn fallback_prefers_trending_then_popular_and_honours_exclude() {
        let m = model(RecParams::default());
        let list = m.fallback(&["z".to_owned(), "unknown".to_owned()], 3, Some("pop"));
        assert_eq!(list[0].item, "z");
        assert_eq!(list[0].reason, Reason::Trending);
        assert!(list[1..].iter().all(|s| s.reason == Reason::Popular));
        assert!(!ids(&list).contains(&"pop"));
        assert_eq!(m.fallback(&[], 1, None)[0].item, "pop");
    }

    #[test]
    fn lists_are_padded_to_k_with_unseen_popular_items() {
        let m = model(RecParams::default());
        let recs = m.for_user("u0", 5).unwrap();
        assert_eq!(recs.len(), 3, "only x, y, z are unseen for u0: {recs:?}");
        assert!(!ids(&recs).contains(&"pop"));
    }

    #[test]
    fn decay_prefers_recent_interactions_in_popularity() {
        let events = vec![event("a", "old", 0), event("b", "new", 1000)];
        let params = RecParams {
            half_life_ms: Some(100),
            ..RecParams::default()
        };
        let m = Model::train(&events, &HashMap::new(), 1000, &params);
        assert_eq!(m.fallback(&[], 1, None)[0].item, "new");
    }
}
