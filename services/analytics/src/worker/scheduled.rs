//! Scheduled mode: one run aggregates the stored events from the last run's watermark
//! (minus the allowed lateness, aligned to the coarsest window so every bucket touched is
//! complete) to now, replaces those buckets' rollups, and moves the watermark.

use super::WorkerConfig;
use super::sink::{Progress, Sink};
use crate::event::Event;
use crate::rollup::bucket::Bucket;
use crate::store::{EventQuery, EventStore};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use std::collections::BTreeSet;

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Start of the range read.
    pub from: DateTime<Utc>,
    /// End of the range read (the new watermark).
    pub to: DateTime<Utc>,
    /// Events the job selected in the range.
    pub events: usize,
    /// Rollup documents written.
    pub rollups: usize,
}

/// Runs once at `now` over `events`.
pub async fn run_once(
    config: &WorkerConfig,
    sink: &Sink,
    events: &EventStore,
    now: DateTime<Utc>,
) -> mongodb::error::Result<RunSummary> {
    let job = &config.job;
    let lookback = chrono::Duration::from_std(config.lookback).unwrap_or(chrono::Duration::days(1));
    let previous = sink
        .progress()
        .await?
        .and_then(|d| d.get_datetime("watermark").ok().copied())
        .and_then(|w| DateTime::from_timestamp_millis(w.timestamp_millis()));
    let start = previous.unwrap_or(now - lookback) - job.allowed_lateness();
    let from = job.coarsest().floor(start);
    let query = EventQuery {
        types: Vec::new(),
        from: Some(from),
        to: Some(now),
    };
    let stream = events.scan(&query).await?;
    let selected: Vec<Event> = stream
        .try_filter(|e| std::future::ready(job.selects(e)))
        .try_collect()
        .await?;
    let buckets: BTreeSet<Bucket> = selected
        .iter()
        .flat_map(|e| {
            job.granularities
                .iter()
                .map(|g| Bucket::of(*g, e.timestamp))
        })
        .collect();
    let rollups = sink.write_rollups(job, &buckets, &selected, now).await?;
    let boundary = previous.unwrap_or(from);
    let progress = Progress {
        new_events: selected.iter().filter(|e| e.timestamp >= boundary).count() as u64,
        late_events: 0,
        last_event_time: selected.iter().map(|e| e.timestamp).max(),
        watermark: Some(now),
    };
    sink.report("Scheduled", &progress, now).await?;
    Ok(RunSummary {
        from,
        to: now,
        events: selected.len(),
        rollups,
    })
}
