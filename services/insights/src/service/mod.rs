//! [`Insights`]: the operations behind the routes — recompute and cached reads.
//!
//! - [`query`]: parameter validation.
//! - [`admin`]: who may trigger a recompute.
//! - [`routes`]: the axum handlers.
//! - [`openapi`]: the OpenAPI document.
//! - [`step`]: the incremental step.

pub mod admin;
pub mod openapi;
pub mod query;
pub mod routes;
pub mod step;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use std::future::Future;

use tokio::sync::Mutex;

use crate::{
    Result,
    cache::{Cache, Meta},
    compute::{ComputeParams, full},
    error::Error,
    incremental::{Lists, RecState},
    state::StateStore,
    store::EventStore,
};

pub use admin::Admin;
pub use step::StepSummary;

/// How long one compute may hold the cross-replica lock.
const LOCK_TTL: Duration = Duration::from_secs(600);

/// Incremental settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StepParams {
    /// How far before the watermark each step re-reads, for events stored late
    /// (their ids make the overlap harmless).
    pub grace_ms: i64,
}

impl Default for StepParams {
    fn default() -> Self {
        Self {
            grace_ms: 5 * 60_000,
        }
    }
}

/// The model this replica continues from, and what it last published.
#[derive(Debug)]
struct Live {
    /// Persisted epoch the state belongs to.
    epoch: i64,
    /// The Redis generation the lists were written to.
    generation: u64,
    state: RecState,
    /// The lists as Redis holds them (empty when unknown: everything is rewritten).
    lists: Lists,
}

/// What one recompute did; the body of `POST /v1/insights/recompute`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// What the new generation holds.
    #[serde(flatten)]
    pub meta: Meta,
    /// Stored documents that could not be decoded.
    pub skipped: usize,
    /// Time reading events.
    pub load_ms: u64,
    /// Time computing.
    pub compute_ms: u64,
    /// Time writing to Redis.
    pub publish_ms: u64,
}

/// The service: event store, model state, result cache, settings.
#[derive(Debug)]
pub struct Insights {
    store: EventStore,
    state: StateStore,
    cache: Cache,
    params: ComputeParams,
    step: StepParams,
    admin: Admin,
    /// Serialises computes in this replica and holds the model between steps.
    running: Mutex<Option<Live>>,
}

impl Insights {
    /// Wires the parts together.
    pub fn new(
        store: EventStore,
        state: StateStore,
        cache: Cache,
        params: ComputeParams,
        step: StepParams,
        admin: Admin,
    ) -> Self {
        Self {
            store,
            state,
            cache,
            params,
            step,
            admin,
            running: Mutex::new(None),
        }
    }

    /// The result cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The event store.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// The algorithm settings.
    pub fn params(&self) -> &ComputeParams {
        &self.params
    }

    /// The admin check.
    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    /// Reads the lookback window, computes everything and publishes a new
    /// generation. Fails with [`Error::Busy`] if one is already running.
    pub async fn recompute(&self) -> Result<Summary> {
        let mut live = self.running.try_lock().map_err(|_| Error::Busy)?;
        self.locked(|| self.recompute_locked(&mut live)).await
    }

    /// Like [`Insights::recompute`], but waits for a running one here to finish first.
    pub async fn recompute_when_free(&self) -> Result<Summary> {
        let mut live = self.running.lock().await;
        self.locked(|| self.recompute_locked(&mut live)).await
    }

    /// Runs `work` under the cross-replica lock ([`Error::Busy`] if another replica holds it).
    async fn locked<T, F>(&self, work: impl FnOnce() -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let token = format!("{}-{}", std::process::id(), now_ms());
        if !self.cache.try_lock(&token, LOCK_TTL).await? {
            return Err(Error::Busy);
        }
        let result = work().await;
        if let Err(err) = self.cache.unlock(&token).await {
            tracing::warn!(error = %err, "cannot release the compute lock; it expires by itself");
        }
        result
    }

    async fn recompute_locked(&self, live: &mut Option<Live>) -> Result<Summary> {
        // Whatever happens below, the model in memory no longer matches Redis.
        *live = None;
        let now_ms = now_ms();
        let started = Instant::now();
        let loaded = self
            .store
            .load(now_ms - self.params.lookback_ms, now_ms + 1)
            .await?;
        let load_ms = elapsed_ms(started);
        let params = self.params.clone();
        let grace_ms = self.step.grace_ms;
        let started = Instant::now();
        let events = loaded.events;
        let (snapshot, state, lists) = tokio::task::spawn_blocking(move || {
            let (snapshot, mut state, lists) = full(&events, now_ms, &params);
            state.prune(state.watermark_ms - grace_ms);
            (snapshot, state, lists)
        })
        .await?;
        let compute_ms = elapsed_ms(started);
        let started = Instant::now();
        let meta = self.cache.publish(&snapshot).await?;
        let publish_ms = elapsed_ms(started);
        // Persisted after Redis: a crash in between re-derives from the older
        // state, which the next step rewrites Redis from.
        match self.state.save_full(&state).await {
            Ok(epoch) => {
                *live = Some(Live {
                    epoch,
                    generation: meta.generation,
                    state,
                    lists,
                });
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot persist the recommendation state; the next step starts from the previous one");
            }
        }
        let summary = Summary {
            meta,
            skipped: loaded.skipped,
            load_ms,
            compute_ms,
            publish_ms,
        };
        tracing::info!(
            generation = summary.meta.generation,
            events = summary.meta.events,
            users = summary.meta.users,
            items = summary.meta.items,
            skipped = summary.skipped,
            load_ms,
            compute_ms,
            publish_ms = summary.publish_ms,
            "recomputed insights"
        );
        Ok(summary)
    }

    /// The generation to serve; asks Redis once when this replica knows none.
    pub async fn generation(&self) -> Result<u64> {
        if let Some(g) = self.cache.generation() {
            return Ok(g);
        }
        self.cache
            .refresh_generation()
            .await?
            .ok_or(Error::NotComputed)
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
