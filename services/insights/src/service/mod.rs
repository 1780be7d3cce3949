//! [`Insights`]: the operations behind the routes — recompute and cached reads.
//!
//! - [`query`]: parameter validation.
//! - [`admin`]: who may trigger a recompute.
//! - [`routes`]: the axum handlers.
//! - [`openapi`]: the OpenAPI document.

pub mod admin;
pub mod openapi;
pub mod query;
pub mod routes;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::Mutex;

use crate::{
    Result,
    cache::{Cache, Meta},
    compute::{ComputeParams, compute},
    error::Error,
    store::EventStore,
};

pub use admin::Admin;

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

/// The service: event store, result cache, settings.
#[derive(Debug)]
pub struct Insights {
    store: EventStore,
    cache: Cache,
    params: ComputeParams,
    admin: Admin,
    /// Serialises recomputes in this replica.
    running: Mutex<()>,
}

impl Insights {
    /// Wires the parts together.
    pub fn new(store: EventStore, cache: Cache, params: ComputeParams, admin: Admin) -> Self {
        Self {
            store,
            cache,
            params,
            admin,
            running: Mutex::new(()),
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
    /// generation. Fails with [`Error::Busy`] if one is already running here.
    pub async fn recompute(&self) -> Result<Summary> {
        let _guard = self.running.try_lock().map_err(|_| Error::Busy)?;
        self.recompute_locked().await
    }

    /// Like [`Insights::recompute`], but waits for a running one to finish first.
    pub async fn recompute_when_free(&self) -> Result<Summary> {
        let _guard = self.running.lock().await;
        self.recompute_locked().await
    }

    async fn recompute_locked(&self) -> Result<Summary> {
        let now_ms = now_ms();
        let started = Instant::now();
        let loaded = self
            .store
            .load(now_ms - self.params.lookback_ms, now_ms + 1)
            .await?;
        let load_ms = elapsed_ms(started);
        let params = self.params.clone();
        let started = Instant::now();
        let events = loaded.events;
        let snapshot =
            tokio::task::spawn_blocking(move || compute(&events, now_ms, &params)).await?;
        let compute_ms = elapsed_ms(started);
        let started = Instant::now();
        let meta = self.cache.publish(&snapshot).await?;
        let summary = Summary {
            meta,
            skipped: loaded.skipped,
            load_ms,
            compute_ms,
            publish_ms: elapsed_ms(started),
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
