//! The AnalyticsJob worker against the real servers: streaming rollups equal to the pure
//! computation over the distinct raw events, a crash after staging and redelivered
//! duplicates change nothing, scheduled runs are repeatable; progress is reported.

use crate::support::{TestApp, eventually};
use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use machina_analytics::event::Event;
use machina_analytics::rollup::bucket::Bucket;
use machina_analytics::rollup::compute;
use machina_analytics::rollup::doc::rollup_doc;
use machina_analytics::worker::{Sink, WorkerConfig, scheduled, streaming};
use machina_kit::Vars;
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tokio::sync::watch;

const SPEC: &str = r#"{"platformRef": {"name": "acme"}, "source": {"eventTypes": ["item.*"]},
  "filters": [{"field": "properties.country", "op": "Ne", "value": "XX"}],
  "dimensions": ["type", "properties.country"],
  "metrics": [{"name": "events", "type": "Count"},
              {"name": "revenue", "type": "Sum", "property": "properties.price"},
              {"name": "buyers", "type": "Unique", "property": "actorId"},
              {"name": "latency", "type": "Percentiles", "property": "properties.ms", "percentiles": [50, 95, 99]}],
  "windows": ["Minute", "Hour", "Day"], "allowedLatenessSeconds": 7200}"#;

fn worker_config(app: &TestApp, mode: &str, queue: &str) -> WorkerConfig {
    let vars = Vars::from_pairs([
        ("JOB_NAME", "engagement"),
        ("JOB_MODE", mode),
        ("JOB_SPEC", SPEC),
        ("MONGODB_DATABASE", app.config.database.as_str()),
        ("OUTPUT_COLLECTION", "rollups_engagement"),
        ("EVENTS_EXCHANGE", app.config.events_exchange.as_str()),
        ("JOB_QUEUE", queue),
        ("WORKER_BATCH", "25"),
        ("WORKER_FLUSH_INTERVAL", "200ms"),
    ]);
    WorkerConfig::from_vars(&vars).expect("worker config")
}

/// The job's queue as the operator declares it: quorum, bound with the job's event types.
async fn declare_job_queue(app: &TestApp, queue: &str) {
    let connection = app.vhost.connect().await.expect("amqp");
    let channel = connection.create_channel().await.expect("channel");
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), durable, args)
        .await
        .expect("declare");
    channel
        .queue_bind(
            queue.into(),
            app.config.events_exchange.as_str().into(),
            "item.*".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
}

/// `n` events from `first`, a few minutes old, over three countries (one filtered out).
fn events(first: usize, n: usize, now: DateTime<Utc>) -> Vec<Value> {
    (first..first + n)
        .map(|i| {
            let kind = if i % 4 == 0 { "item.viewed" } else { "item.purchased" };
            let country = ["DE", "FR", "XX"][i % 3];
            json!({"id": format!("w{i}"), "type": kind, "timestamp": now - Duration::seconds(30 + (i as i64 % 7) * 40),
                   "actorId": format!("u{}", i % 11),
                   "properties": {"country": country, "price": (i % 5) as f64 + 0.5, "ms": (i * 37 % 500) as f64}})
        })
        .collect()
}

async fn ingest(app: &TestApp, batch: &[Value]) {
    for chunk in batch.chunks(50) {
        let (status, body) = app
            .post("/v1/events/batch", &json!({"events": chunk}), None)
            .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["rejected"], json!([]));
    }
}

/// Rollup documents without `updatedAt`, by `_id`.
async fn rollups(sink: &Sink) -> Vec<Document> {
    let docs: Vec<Document> = sink
        .output()
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("docs");
    docs.into_iter()
        .map(|mut d| {
            d.remove("updatedAt");
            d
        })
        .collect()
}

/// What the rollups must be: the pure computation over the distinct events.
fn expected(config: &WorkerConfig, raw: &[Value]) -> Vec<Document> {
    let events: Vec<Event> = raw
        .iter()
        .map(|v| serde_json::from_value(v.clone()).expect("event"))
        .collect();
    let job = &config.job;
    let buckets: BTreeSet<Bucket> = events
        .iter()
        .filter(|e| job.selects(e))
        .flat_map(|e| {
            job.granularities
                .iter()
                .map(|g| Bucket::of(*g, e.timestamp))
        })
        .collect();
    let mut docs: Vec<Document> = buckets
        .into_iter()
        .flat_map(|b| compute(job, b, &events))
        .map(|r| {
            let mut d = rollup_doc("engagement", &r, Utc::now(), job.spec.output.retention_days);
            d.remove("updatedAt");
            d
        })
        .collect();
    docs.sort_by(|a, b| {
        a.get_str("_id")
            .unwrap_or_default()
            .cmp(b.get_str("_id").unwrap_or_default())
    });
    docs
}

/// Waits until the worker reports `n` events processed.
async fn processed(sink: &Sink, n: i64) {
    eventually("the worker's progress", || async {
        let p = sink.progress().await.ok().flatten()?;
        (p.get_i64("eventsProcessed").ok()? == n).then_some(())
    })
    .await;
}

fn total(docs: &[Document], granularity: &str) -> i64 {
    docs.iter()
        .filter(|d| d.get_str("granularity").ok() == Some(granularity))
        .filter_map(|d| d.get_i64("count").ok())
        .sum()
}

#[tokio::test]
async fn streaming_rollups_survive_a_crash_and_redelivered_duplicates() {
    crash_replay_and_duplicates(false).await;
}

/// The same with the API packing each request's events of a type into one message.
#[tokio::test]
async fn streaming_rollups_of_packed_messages_survive_a_crash_and_duplicates() {
    crash_replay_and_duplicates(true).await;
}

async fn crash_replay_and_duplicates(pack: bool) {
    let app = TestApp::spawn_with(false, |config| machina_analytics::config::Config {
        publish_pack: pack,
        ..config
    })
    .await;
    let queue = "machina.aj.test.engagement";
    declare_job_queue(&app, queue).await;
    let mut config = worker_config(&app, "Streaming", queue);
    let sink = Sink::new(&app.db, &config);
    sink.ensure_indexes().await.expect("indexes");
    let now = Utc::now();
    let first = events(0, 60, now);
    ingest(&app, &first).await;

    // Crash after staging the first batch: nothing acknowledged, no rollup written.
    config.crash_after_staging = true;
    let (_stop, mut stopped) = watch::channel(false);
    let crashed = streaming::consume(&config, &sink, &app.connections.amqp, &mut stopped).await;
    assert!(
        matches!(crashed, Err(streaming::StreamError::Crash)),
        "{crashed:?}"
    );
    assert!(rollups(&sink).await.is_empty());

    // A message that is not an event: rejected (dead-lettered), never blocks the queue.
    let connection = app.vhost.connect().await.expect("amqp");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .basic_publish(
            app.config.events_exchange.as_str().into(),
            "item.bad".into(),
            BasicPublishOptions::default(),
            b"not json",
            BasicProperties::default(),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");

    // A fresh worker: everything redelivered, counted once.
    config.crash_after_staging = false;
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(streaming::run(
        config.clone(),
        sink.clone(),
        app.connections.amqp.clone(),
        stopped,
    ));
    let selected = first
        .iter()
        .filter(|e| e["properties"]["country"] != "XX")
        .count() as i64;
    // Progress is written after every rollup of a batch: wait on it, not on the rollups.
    processed(&sink, selected).await;
    assert_eq!(rollups(&sink).await, expected(&config, &first));

    // The same events again (a client retry with ids, or a redelivery) plus new ones.
    let second = events(60, 20, now);
    ingest(&app, &first[..30]).await;
    ingest(&app, &second).await;
    let all: Vec<Value> = first.iter().chain(&second).cloned().collect();
    let selected = all
        .iter()
        .filter(|e| e["properties"]["country"] != "XX")
        .count() as i64;
    processed(&sink, selected).await;
    let final_docs = rollups(&sink).await;
    assert_eq!(final_docs, expected(&config, &all));
    assert_eq!(total(&final_docs, "minute"), selected);
    assert_eq!(total(&final_docs, "day"), selected);

    let progress = sink.progress().await.expect("progress").expect("document");
    assert_eq!(progress.get_str("job").expect("job"), "engagement");
    assert!(progress.get_datetime("lastEventTime").is_ok());
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let queue_state = channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .expect("queue");
    assert_eq!(queue_state.message_count(), 0, "every message settled");
    let _ = stop.send(true);
    let _ = worker.await;
    app.cleanup().await;
}

#[tokio::test]
async fn scheduled_runs_are_repeatable() {
    let app = TestApp::spawn(false).await;
    let config = worker_config(&app, "Scheduled", "unused");
    let sink = Sink::new(&app.db, &config);
    let now = Utc::now();
    let raw = events(0, 90, now);
    let parsed: Vec<Event> = raw
        .iter()
        .map(|v| serde_json::from_value(v.clone()).expect("event"))
        .collect();
    app.events().insert(&parsed, now).await.expect("insert");

    let summary = scheduled::run_once(&config, &sink, &app.events(), Utc::now())
        .await
        .expect("run");
    let selected = raw
        .iter()
        .filter(|e| e["properties"]["country"] != "XX")
        .count();
    assert_eq!(summary.events, selected);
    let once = rollups(&sink).await;
    assert_eq!(once, expected(&config, &raw));
    let progress = sink.progress().await.expect("progress").expect("doc");
    assert_eq!(
        progress.get_i64("eventsProcessed").expect("n"),
        selected as i64
    );

    // A second run (a retried Job, or the next schedule) re-reads the window: same rollups,
    // and the events are not counted again.
    scheduled::run_once(&config, &sink, &app.events(), Utc::now())
        .await
        .expect("rerun");
    assert_eq!(rollups(&sink).await, once);
    let progress = sink.progress().await.expect("progress").expect("doc");
    assert_eq!(
        progress.get_i64("eventsProcessed").expect("n"),
        selected as i64
    );
    assert!(progress.get_datetime("watermark").is_ok());
    app.cleanup().await;
}
