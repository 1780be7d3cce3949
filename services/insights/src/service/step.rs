//! The incremental step: fold the events received since the watermark into
//! the model, rewrite only the lists that changed, persist the users touched.
//!
//! Order of writes: Redis first, then the users' documents (weights and the
//! ids folded in, one document each), then the watermark. A crash anywhere
//! re-reads from the old watermark; the per-user ids make the replay a no-op
//! and the lists are rewritten from what MongoDB holds.

use std::time::Instant;

use serde::Serialize;

use super::{Insights, Live, elapsed_ms, now_ms};
use crate::{Result, incremental::Lists};

/// What one incremental step did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepSummary {
    /// The generation the lists were written to.
    pub generation: u64,
    /// Whether the step had to start from the persisted state (after a restart, a failure or another replica's rebuild).
    pub reloaded: bool,
    /// Events read (new ones and the re-read grace window).
    pub events: usize,
    /// Interactions folded in.
    pub applied: usize,
    /// Interactions seen before (replays, the grace overlap), ignored.
    pub duplicates: usize,
    /// Interactions without an event id, left to the next full rebuild.
    pub unidentified: usize,
    /// Users whose profile changed.
    pub users_changed: usize,
    /// User lists rewritten in Redis.
    pub user_lists: usize,
    /// Item lists rewritten in Redis.
    pub item_lists: usize,
    /// Whether the cold-start list was rewritten.
    pub fallback: bool,
    /// The receive-time watermark after the step.
    pub watermark_ms: i64,
    /// Time reading events.
    pub load_ms: u64,
    /// Time folding and deriving.
    pub compute_ms: u64,
    /// Time writing to Redis.
    pub publish_ms: u64,
    /// Time writing the state to MongoDB.
    pub persist_ms: u64,
}

/// What a step request ended up doing.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Outcome {
    /// Nothing to continue from (no state or no generation): a full recompute ran.
    Full(super::Summary),
    /// The incremental step ran.
    Incremental(StepSummary),
}

impl Insights {
    /// One incremental step ([`crate::Error::Busy`] if a compute is running).
    pub async fn step(&self) -> Result<Outcome> {
        let mut live = self.running.try_lock().map_err(|_| crate::Error::Busy)?;
        self.locked(|| self.step_locked(&mut live)).await
    }

    /// Like [`Insights::step`], but waits for a running compute here first.
    pub async fn step_when_free(&self) -> Result<Outcome> {
        let mut live = self.running.lock().await;
        self.locked(|| self.step_locked(&mut live)).await
    }

    async fn step_locked(&self, live: &mut Option<Live>) -> Result<Outcome> {
        let Some(generation) = self.cache.refresh_generation().await? else {
            return Ok(Outcome::Full(self.recompute_locked(live).await?));
        };
        let mut summary = StepSummary {
            generation,
            ..StepSummary::default()
        };
        // Take the model out: if anything fails below, the next step reloads.
        let current = match live.take() {
            Some(l) if l.generation == generation => l,
            _ => {
                summary.reloaded = true;
                match self.state.load(self.params.recs.half_life_ms).await? {
                    // The lists Redis holds are unknown: all are rewritten.
                    Some(stored) => Live {
                        epoch: stored.epoch,
                        generation,
                        state: stored.state,
                        lists: Lists::default(),
                    },
                    None => return Ok(Outcome::Full(self.recompute_locked(live).await?)),
                }
            }
        };
        let now = now_ms();
        let grace_ms = self.step.grace_ms;
        let started = Instant::now();
        let loaded = self
            .store
            .load_received(
                current.state.watermark_ms - grace_ms,
                now - self.params.lookback_ms,
            )
            .await?;
        summary.load_ms = elapsed_ms(started);
        summary.events = loaded.events.len();

        let started = Instant::now();
        let params = self.params.clone();
        let (current, folded, lists, delta) = tokio::task::spawn_blocking(move || {
            let mut current = current;
            let folded = current.state.fold(&loaded.events, &params.weights, true);
            current.state.prune(current.state.watermark_ms - grace_ms);
            let model = current.state.model(&params.recs);
            let lists = Lists::of(&model, &current.state.trending, params.recs.list_len);
            let delta = current.lists.delta(&lists);
            (current, folded, lists, delta)
        })
        .await?;
        summary.compute_ms = elapsed_ms(started);
        summary.applied = folded.applied;
        summary.duplicates = folded.duplicates;
        summary.unidentified = folded.unidentified;
        summary.users_changed = folded.users.len();
        summary.user_lists = delta.users.len();
        summary.item_lists = delta.items.len();
        summary.fallback = delta.fallback.is_some();
        summary.watermark_ms = current.state.watermark_ms;

        let started = Instant::now();
        if !delta.is_empty() {
            self.cache.publish_delta(generation, &delta).await?;
        }
        summary.publish_ms = elapsed_ms(started);
        let started = Instant::now();
        if folded.applied > 0 || !folded.categories.is_empty() {
            self.state
                .save_step(
                    current.epoch,
                    &current.state,
                    &folded.users,
                    &folded.categories,
                )
                .await?;
        }
        summary.persist_ms = elapsed_ms(started);
        *live = Some(Live { lists, ..current });
        tracing::info!(
            generation,
            events = summary.events,
            applied = summary.applied,
            duplicates = summary.duplicates,
            user_lists = summary.user_lists,
            item_lists = summary.item_lists,
            load_ms = summary.load_ms,
            compute_ms = summary.compute_ms,
            publish_ms = summary.publish_ms,
            persist_ms = summary.persist_ms,
            "incremental step"
        );
        Ok(Outcome::Incremental(summary))
    }
}
