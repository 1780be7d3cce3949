//! The recommendation model folded forward, one batch of new events at a time.
//!
//! [`RecState`] is what the service persists: the accumulated (user, item)
//! weights ([`Profiles`]), item categories, the trending items of the last full
//! compute (for the cold-start list), the receive-time watermark, and per user
//! the ids of the events already folded in whose receive time is still inside
//! the replay window. A batch re-read after a crash or overlapping the previous
//! one is therefore folded in exactly once: an event whose id a user already
//! holds changes nothing.
//!
//! The served lists are derived from the state ([`Lists::of`]); [`Lists::delta`]
//! names the users and items whose lists changed, and only those are rewritten
//! in Redis. Equal state gives equal lists to the last bit (see
//! [`crate::algo::recs::profiles`]), which the tests check against a full
//! recompute on random event streams.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    algo::recs::{Interaction, Model, Profiles, RecParams, Scored},
    compute::{Event, EventWeights},
};

/// Everything the incremental step needs to continue where the last one stopped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecState {
    /// Accumulated weights.
    pub profiles: Profiles,
    /// Item → category (the last one seen).
    pub categories: BTreeMap<String, String>,
    /// Items rising at the last full compute, for the cold-start list.
    pub trending: Vec<String>,
    /// The latest receive time read (milliseconds since the epoch).
    pub watermark_ms: i64,
    /// user → event id → receive time, for events still inside the replay window.
    pub applied: BTreeMap<String, BTreeMap<String, i64>>,
}

/// What one [`RecState::fold`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folded {
    /// Interactions folded in.
    pub applied: usize,
    /// Interactions already folded in before (replays), ignored.
    pub duplicates: usize,
    /// Interactions without an event id, ignored by the incremental step
    /// (they cannot be told apart from replays; the next full rebuild counts them).
    pub unidentified: usize,
    /// Users whose profile changed.
    pub users: BTreeSet<String>,
    /// Items whose category changed.
    pub categories: BTreeSet<String>,
}

impl RecState {
    /// An empty state whose weights decay from `anchor_ms`.
    pub fn new(anchor_ms: i64, params: &RecParams) -> Self {
        Self {
            profiles: Profiles::new(anchor_ms, params.half_life_ms),
            ..Self::default()
        }
    }

    /// Folds `events` in. With `need_id`, an interaction without an event id
    /// is skipped (the incremental path); a full rebuild folds them all.
    pub fn fold(&mut self, events: &[Event], weights: &EventWeights, need_id: bool) -> Folded {
        let mut folded = Folded::default();
        for event in events {
            self.watermark_ms = self.watermark_ms.max(event.received_ms);
            if let (Some(item), Some(category)) = (&event.item, &event.category)
                && self.categories.get(item) != Some(category)
            {
                self.categories.insert(item.clone(), category.clone());
                folded.categories.insert(item.clone());
            }
            let Some(interaction) = interaction(event, weights) else {
                continue;
            };
            match &event.id {
                Some(id) => {
                    let seen = self.applied.entry(interaction.user.clone()).or_default();
                    if seen.contains_key(id) {
                        folded.duplicates += 1;
                        continue;
                    }
                    seen.insert(id.clone(), event.received_ms);
                }
                None if need_id => {
                    folded.unidentified += 1;
                    continue;
                }
                None => {}
            }
            self.profiles.add(&interaction);
            folded.users.insert(interaction.user);
            folded.applied += 1;
        }
        folded
    }

    /// Forgets the ids of events received before `keep_from_ms`: a read never
    /// goes back that far, so they cannot be replayed.
    pub fn prune(&mut self, keep_from_ms: i64) {
        self.applied.retain(|_, ids| {
            ids.retain(|_, received| *received >= keep_from_ms);
            !ids.is_empty()
        });
    }

    /// The model of the current state.
    pub fn model(&self, params: &RecParams) -> Model {
        Model::derive(&self.profiles, &self.categories, params)
    }
}

/// The interaction an event records, if it is one (item, user, non-zero weight).
pub fn interaction(event: &Event, weights: &EventWeights) -> Option<Interaction> {
    Some(Interaction {
        user: event.user.clone()?,
        item: event.item.clone()?,
        weight: weights.weight(&event.kind)?,
        ts_ms: event.ts_ms,
    })
}

/// Every served list of one model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lists {
    /// Personalised list per known user.
    pub users: BTreeMap<String, Vec<Scored>>,
    /// Similar items per known item.
    pub items: BTreeMap<String, Vec<Scored>>,
    /// The cold-start list.
    pub fallback: Vec<Scored>,
}

/// The lists that differ between two [`Lists`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// Users whose list is new or changed.
    pub users: Vec<(String, Vec<Scored>)>,
    /// Items whose list is new or changed.
    pub items: Vec<(String, Vec<Scored>)>,
    /// The new cold-start list, if it changed.
    pub fallback: Option<Vec<Scored>>,
}

impl Lists {
    /// Every list of `model`, `k` long, the cold-start one led by `trending`.
    pub fn of(model: &Model, trending: &[String], k: usize) -> Self {
        Self {
            users: model
                .users()
                .map(|u| (u.to_owned(), model.for_user(u, k).unwrap_or_default()))
                .collect(),
            items: model
                .items()
                .map(|i| (i.to_owned(), model.similar(i, k).unwrap_or_default()))
                .collect(),
            fallback: model.fallback(trending, k, None),
        }
    }

    /// What changed from `self` to `new` (subjects never disappear between
    /// incremental steps; a full rebuild publishes everything anyway).
    pub fn delta(&self, new: &Lists) -> Delta {
        fn changed(
            old: &BTreeMap<String, Vec<Scored>>,
            new: &BTreeMap<String, Vec<Scored>>,
        ) -> Vec<(String, Vec<Scored>)> {
            new.iter()
                .filter(|(id, list)| old.get(*id) != Some(*list))
                .map(|(id, list)| (id.clone(), list.clone()))
                .collect()
        }
        Delta {
            users: changed(&self.users, &new.users),
            items: changed(&self.items, &new.items),
            fallback: (self.fallback != new.fallback).then(|| new.fallback.clone()),
        }
    }

    /// Applies `delta`, as the cache does.
    pub fn apply(&mut self, delta: &Delta) {
        self.users.extend(delta.users.iter().cloned());
        self.items.extend(delta.items.iter().cloned());
        if let Some(f) = &delta.fallback {
            self.fallback = f.clone();
        }
    }
}

impl Delta {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.items.is_empty() && self.fallback.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        algo::synthetic::Rng,
        compute::{ComputeParams, full},
    };

    const HOUR_MS: i64 = 3_600_000;

    /// A random stream: 25 users, 30 items in 4 categories, views, carts,
    /// purchases, page views without an item, anonymous-less events without a user.
    fn stream(rng: &mut Rng, n: usize, start_ms: i64) -> Vec<Event> {
        let kinds = [
            "item.viewed",
            "item.viewed",
            "item.added_to_cart",
            "item.purchased",
            "page.viewed",
        ];
        (0..n)
            .map(|k| {
                let kind = kinds[rng.below(kinds.len())];
                // Users prefer items of "their" category, so similarities are not flat.
                let user = rng.below(25);
                let item = (user % 4) + 4 * rng.below(8);
                let ts_ms = start_ms + (k as i64) * 7 * 60_000 + rng.below(60_000) as i64;
                Event {
                    kind: kind.to_owned(),
                    ts_ms,
                    user: (rng.below(20) > 0).then(|| format!("u{user}")),
                    item: (kind != "page.viewed").then(|| format!("i{item}")),
                    category: (kind != "page.viewed").then(|| format!("c{}", item % 4)),
                    id: Some(format!("e{k}")),
                    received_ms: ts_ms + rng.below(3_000) as i64,
                }
            })
            .collect()
    }

    fn params() -> ComputeParams {
        let mut p = ComputeParams::default();
        p.recs.list_len = 10;
        p.recs.neighbours = 8;
        p.recs.max_profile = 6;
        p.recs.max_per_category = Some(4);
        p.recs.half_life_ms = Some(48 * HOUR_MS);
        p
    }

    /// Folds `batch`, derives the lists and applies the delta to `served`, as a step does.
    fn step(
        state: &mut RecState,
        served: &mut Lists,
        batch: &[Event],
        p: &ComputeParams,
    ) -> (Folded, Delta) {
        let folded = state.fold(batch, &p.weights, true);
        let lists = Lists::of(&state.model(&p.recs), &state.trending, p.recs.list_len);
        let delta = served.delta(&lists);
        served.apply(&delta);
        (folded, delta)
    }

    #[test]
    fn incremental_equals_full_recompute_on_random_streams() {
        let p = params();
        for seed in 0..12 {
            let mut rng = Rng::new(seed);
            let now = 1_000 * HOUR_MS;
            let n = 150 + rng.below(250);
            let events = stream(&mut rng, n, now - 60 * HOUR_MS);
            let (_, full_state, full_lists) = full(&events, now, &p);

            // The same events in random batches, each re-sending a random
            // stretch of what came before (the grace overlap, a crash replay).
            let mut state = RecState::new(now, &p.recs);
            state.trending = full_state.trending.clone();
            let mut served = Lists::default();
            let mut at = 0;
            while at < events.len() {
                let end = (at + 1 + rng.below(60)).min(events.len());
                let replay_from = at.saturating_sub(rng.below(30));
                let mut batch: Vec<Event> = events[replay_from..at].to_vec();
                batch.extend_from_slice(&events[at..end]);
                let (folded, _) = step(&mut state, &mut served, &batch, &p);
                assert_eq!(
                    folded.duplicates,
                    events[replay_from..at]
                        .iter()
                        .filter(|e| interaction(e, &p.weights).is_some())
                        .count()
                );
                at = end;
            }
            assert_eq!(state.profiles, full_state.profiles, "seed {seed}");
            assert_eq!(state.categories, full_state.categories, "seed {seed}");
            assert_eq!(state.watermark_ms, full_state.watermark_ms, "seed {seed}");
            assert_eq!(
                served, full_lists,
                "seed {seed}: the served lists differ from a full recompute"
            );
            assert!(!served.users.is_empty() && !served.items.is_empty());
        }
    }

    #[test]
    fn a_replayed_batch_changes_nothing() {
        let p = params();
        let mut rng = Rng::new(99);
        let now = 500 * HOUR_MS;
        let events = stream(&mut rng, 300, now - 40 * HOUR_MS);
        let mut state = RecState::new(now, &p.recs);
        let mut served = Lists::default();
        step(&mut state, &mut served, &events[..200], &p);
        let (first, delta) = step(&mut state, &mut served, &events[200..], &p);
        assert!(first.applied > 0 && !delta.is_empty());
        let before = (state.clone(), served.clone());
        let (again, delta) = step(&mut state, &mut served, &events[150..], &p);
        assert_eq!(again.applied, 0);
        assert!(again.duplicates > 0 && again.users.is_empty());
        assert!(delta.is_empty(), "{delta:?}");
        assert_eq!((state, served), before);
    }

    #[test]
    fn pruning_keeps_the_replay_window_and_drops_the_rest() {
        let p = params();
        let mut rng = Rng::new(7);
        let now = 500 * HOUR_MS;
        let events = stream(&mut rng, 100, now - 20 * HOUR_MS);
        let mut state = RecState::new(now, &p.recs);
        state.fold(&events, &p.weights, true);
        let keep_from = events[60].received_ms;
        state.prune(keep_from);
        assert!(
            state
                .applied
                .values()
                .flatten()
                .all(|(_, at)| *at >= keep_from)
        );
        // What the next read can return (received at or after keep_from) is still recognised.
        let recent: Vec<Event> = events
            .iter()
            .filter(|e| e.received_ms >= keep_from)
            .cloned()
            .collect();
        let again = state.fold(&recent, &p.weights, true);
        assert_eq!(again.applied, 0);
    }

    #[test]
    fn events_without_an_id_wait_for_the_full_rebuild() {
        let p = params();
        let mut rng = Rng::new(1);
        let mut events = stream(&mut rng, 20, 0);
        events.iter_mut().for_each(|e| e.id = None);
        let mut state = RecState::new(HOUR_MS, &p.recs);
        let folded = state.fold(&events, &p.weights, true);
        assert_eq!(folded.applied, 0);
        assert!(folded.unidentified > 0 && state.profiles.users.is_empty());
        let folded = state.fold(&events, &p.weights, false);
        assert_eq!(folded.unidentified, 0);
        assert!(folded.applied > 0);
    }
}
