//! The worker's MongoDB side: the staging copy of its events (`<output>_events`, `_id` =
//! event id, expiring once their buckets are closed), the rollup documents (replaced on
//! recomputation, TTL on `expireAt`) and the progress document the operator reads.

use super::WorkerConfig;
use crate::event::Event;
use crate::rollup::bucket::Bucket;
use crate::rollup::doc::{date, rollup_doc};
use crate::rollup::{Job, compute};
use crate::store::events::to_doc;
use crate::store::{EventQuery, EventStore, insert_idempotent};
use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use std::collections::{BTreeMap, BTreeSet};

/// Collection of progress documents, one per job, `_id` = its output collection.
pub const PROGRESS: &str = "analytics_job_progress";
/// Margin kept on staged events beyond the close of their coarsest bucket.
const STAGING_MARGIN: Duration = Duration::hours(1);

/// Where a worker reads and writes.
#[derive(Debug, Clone)]
pub struct Sink {
    job_name: String,
    output: Collection<Document>,
    staging: EventStore,
    progress: Collection<Document>,
    output_name: String,
}

/// What a batch or run adds to the progress document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Events aggregated for the first time.
    pub new_events: u64,
    /// Events too late for every window.
    pub late_events: u64,
    /// Newest event time seen.
    pub last_event_time: Option<DateTime<Utc>>,
    /// End of the range a Scheduled run covered.
    pub watermark: Option<DateTime<Utc>>,
}

impl Sink {
    /// The sink of `config` in `db`.
    pub fn new(db: &Database, config: &WorkerConfig) -> Self {
        let output = config.output_collection.clone();
        Self {
            job_name: config.job_name.clone(),
            output: db.collection(&output),
            staging: EventStore::named(db, &format!("{output}_events")),
            progress: db.collection(PROGRESS),
            output_name: output,
        }
    }

    /// TTL indexes of rollups and staged events (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let ttl = || {
            IndexOptions::builder()
                .name("expireAt_ttl".to_owned())
                .expire_after(std::time::Duration::ZERO)
                .build()
        };
        let index = || {
            IndexModel::builder()
                .keys(doc! {"expireAt": 1})
                .options(ttl())
                .build()
        };
        self.output.create_index(index()).await?;
        self.staging.collection().create_index(index()).await?;
        let by_bucket = IndexModel::builder()
            .keys(doc! {"granularity": 1, "bucketStart": 1})
            .build();
        self.output.create_index(by_bucket).await?;
        let by_ts = IndexModel::builder().keys(doc! {"ts": 1}).build();
        self.staging
            .collection()
            .create_index(by_ts)
            .await
            .map(|_| ())
    }

    /// Stages `events` (no-op for ids already staged); returns how many were new.
    pub async fn stage(
        &self,
        job: &Job,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> mongodb::error::Result<u64> {
        let keep = job.coarsest().length() + job.allowed_lateness() + STAGING_MARGIN;
        let docs = events
            .iter()
            .map(|e| {
                let mut d = to_doc(e, now);
                let close = Bucket::of(job.coarsest(), e.timestamp).start + keep;
                d.insert("expireAt", date(close.max(now + STAGING_MARGIN)));
                d
            })
            .collect();
        insert_idempotent(self.staging.collection(), docs).await
    }

    /// Marks the staged `ids` as counted; returns how many were not yet (so progress
    /// counts each event once even when a crash came between staging and rollups).
    pub async fn mark_counted(&self, ids: Vec<String>) -> mongodb::error::Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let filter = doc! {"_id": {"$in": ids}, "counted": {"$ne": true}};
        let result = self
            .staging
            .collection()
            .update_many(filter, doc! {"$set": {"counted": true}})
            .await?;
        Ok(result.modified_count)
    }

    /// Recomputes `buckets` from the staged events.
    pub async fn recompute_staged(
        &self,
        job: &Job,
        buckets: &BTreeSet<Bucket>,
        now: DateTime<Utc>,
    ) -> mongodb::error::Result<usize> {
        let (Some(from), Some(to)) = (
            buckets.iter().map(|b| b.start).min(),
            buckets.iter().map(Bucket::end).max(),
        ) else {
            return Ok(0);
        };
        let query = EventQuery {
            types: Vec::new(),
            from: Some(from),
            to: Some(to),
        };
        let events: Vec<Event> = self.staging.scan(&query).await?.try_collect().await?;
        self.write_rollups(job, buckets, &events, now).await
    }

    /// Computes every bucket in `buckets` from `events` and replaces its documents.
    pub async fn write_rollups(
        &self,
        job: &Job,
        buckets: &BTreeSet<Bucket>,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> mongodb::error::Result<usize> {
        let mut grouped: BTreeMap<Bucket, Vec<&Event>> =
            buckets.iter().map(|b| (*b, Vec::new())).collect();
        for e in events {
            for g in &job.granularities {
                if let Some(list) = grouped.get_mut(&Bucket::of(*g, e.timestamp)) {
                    list.push(e);
                }
            }
        }
        let mut written = 0;
        for (bucket, list) in grouped {
            for rollup in compute(job, bucket, list) {
                let d = rollup_doc(&self.job_name, &rollup, now, job.spec.output.retention_days);
                let id = d.get_str("_id").unwrap_or_default().to_owned();
                self.output
                    .replace_one(doc! {"_id": id}, d)
                    .upsert(true)
                    .await?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// Adds `progress` to the progress document (schema in the README).
    pub async fn report(
        &self,
        mode: &str,
        progress: &Progress,
        now: DateTime<Utc>,
    ) -> mongodb::error::Result<()> {
        let mut set = doc! {"job": &self.job_name, "mode": mode, "lastSuccessTime": date(now), "updatedAt": date(now)};
        if let Some(w) = progress.watermark {
            set.insert("watermark", date(w));
        }
        let mut update = doc! {
            "$set": set,
            "$inc": {"eventsProcessed": progress.new_events as i64, "lateEvents": progress.late_events as i64},
        };
        if let Some(t) = progress.last_event_time {
            update.insert("$max", doc! {"lastEventTime": date(t)});
        }
        self.progress
            .update_one(doc! {"_id": &self.output_name}, update)
            .upsert(true)
            .await
            .map(|_| ())
    }

    /// The progress document, if any.
    pub async fn progress(&self) -> mongodb::error::Result<Option<Document>> {
        self.progress
            .find_one(doc! {"_id": &self.output_name})
            .await
    }

    /// The rollup collection.
    pub fn output(&self) -> &Collection<Document> {
        &self.output
    }
}
