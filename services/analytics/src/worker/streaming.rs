//! Streaming mode: consume the job's queue in batches; per batch stage the selected
//! events, recompute their open buckets, report progress, then acknowledge.

use super::WorkerConfig;
use super::sink::{Progress, Sink};
use crate::event::{Event, decode_message};
use crate::rollup::bucket::Bucket;
use chrono::Utc;
use futures::StreamExt;
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use machina_kit::Amqp;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::watch;

/// Why a batch or the consumer failed (the batch is redelivered).
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// RabbitMQ.
    #[error("rabbitmq: {0}")]
    Amqp(#[from] lapin::Error),
    /// MongoDB.
    #[error("mongodb: {0}")]
    Mongo(#[from] mongodb::error::Error),
    /// The consumer was cancelled by the broker (queue deleted).
    #[error("the consumer was cancelled")]
    Cancelled,
    /// The test hook fired.
    #[error("simulated crash after staging")]
    Crash,
}

/// Runs until `shutdown` turns true; restarts the consumer after failures.
pub async fn run(
    config: WorkerConfig,
    sink: Sink,
    amqp: Amqp,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match consume(&config, &sink, &amqp, &mut shutdown).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, queue = %config.queue, "batch failed; unacknowledged events will be redelivered");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        }
    }
}

/// Consumes until shutdown (`Ok`) or a failure; on failure the channel is closed so the
/// broker requeues every unacknowledged event at once.
pub async fn consume(
    config: &WorkerConfig,
    sink: &Sink,
    amqp: &Amqp,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), StreamError> {
    let connection = amqp.connected().await;
    let channel = connection.create_channel().await?;
    let outcome = consume_on(&channel, config, sink, shutdown).await;
    let _ = channel.close(200, "worker stopping".into()).await;
    outcome
}

async fn consume_on(
    channel: &Channel,
    config: &WorkerConfig,
    sink: &Sink,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), StreamError> {
    // The operator owns the queue (quorum, dead-lettering): only check that it exists.
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(config.queue.as_str().into(), passive, FieldTable::default())
        .await?;
    channel
        .basic_qos(config.batch, BasicQosOptions::default())
        .await?;
    let tag = format!("{}-{}", config.job_name, uuid::Uuid::new_v4());
    let mut consumer = channel
        .basic_consume(
            config.queue.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %config.queue, job = %config.job_name, "aggregating events");
    loop {
        let mut batch = Vec::new();
        let deadline = tokio::time::sleep(config.flush_interval);
        tokio::pin!(deadline);
        let mut stopping = false;
        while batch.len() < usize::from(config.batch) {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => { stopping = true; break; }
                () = &mut deadline, if !batch.is_empty() => break,
                next = consumer.next() => match next {
                    Some(delivery) => batch.push(delivery?),
                    None => return Err(StreamError::Cancelled),
                },
            }
        }
        process(config, sink, batch).await?;
        if stopping {
            return Ok(());
        }
    }
}

/// One batch: decode, select, stage, recompute, report, acknowledge.
pub async fn process(
    config: &WorkerConfig,
    sink: &Sink,
    batch: Vec<Delivery>,
) -> Result<(), StreamError> {
    if batch.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let job = &config.job;
    let mut selected: Vec<Event> = Vec::new();
    let mut keep = Vec::with_capacity(batch.len());
    for delivery in batch {
        let p = &delivery.properties;
        let id = p.message_id().as_ref().map(|s| s.as_str().to_owned());
        match decode_message(&delivery.data, id.as_deref(), *p.timestamp(), now) {
            Ok(decoded) => {
                selected.extend(decoded.into_iter().filter(|e| job.selects(e)));
                keep.push(delivery);
            }
            Err(e) => {
                tracing::warn!(error = %e, "not an event; dead-lettered");
                delivery
                    .acker
                    .reject(BasicRejectOptions { requeue: false })
                    .await?;
            }
        }
    }
    let mut buckets: BTreeSet<Bucket> = BTreeSet::new();
    let mut progress = Progress::default();
    let mut timely = Vec::with_capacity(selected.len());
    for event in selected {
        let open = job.open_buckets(event.timestamp, now);
        if open.is_empty() {
            progress.late_events += 1;
            continue;
        }
        buckets.extend(open);
        progress.last_event_time = progress.last_event_time.max(Some(event.timestamp));
        timely.push(event);
    }
    sink.stage(job, &timely, now).await?;
    if config.crash_after_staging {
        return Err(StreamError::Crash);
    }
    sink.recompute_staged(job, &buckets, now).await?;
    progress.new_events = sink
        .mark_counted(timely.into_iter().map(|e| e.id).collect())
        .await?;
    sink.report("Streaming", &progress, now).await?;
    if let Some(last) = keep.last() {
        last.acker.ack(BasicAckOptions { multiple: true }).await?;
    }
    Ok(())
}
