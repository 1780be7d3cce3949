//! Asynchronous jobs: the job document, the queue message, and the consumer.
//!
//! # Guarantees
//!
//! - **Accepted means durable.** `POST /v1/jobs` stores the job document (`queued`) and
//!   only then publishes `{jobId}` (persistent, mandatory, with publisher confirms) to the
//!   job queue; it answers 202 after the broker's confirm. When the publish fails the job
//!   is marked `failed` and the client gets a 503.
//! - **Ack after the result.** The consumer runs the pipeline with run id = job id, stores
//!   the result document (upsert keyed by job id), marks the job `succeeded`, sends the
//!   generation event, and only then acks. A worker that dies before the ack leaves the
//!   message unacked; the broker redelivers it to another worker.
//! - **Resume, not redo.** Runs of jobs are checkpointed (collection `checkpoints`), so a
//!   redelivered job skips the components its earlier attempt completed: an LLM call whose
//!   checkpoint was saved is not made again. A component interrupted mid-call runs again.
//! - **Completed once.** A redelivery of a job already `succeeded` is acked without
//!   running; the result upsert is idempotent, so there is one result document per job.
//! - **Poison jobs dead-letter.** A failed attempt is nacked with requeue; the attempt that
//!   reaches `MAX_DELIVERIES` marks the job `failed` and rejects it to `<queue>.dlq`. The
//!   queue's `x-delivery-limit` dead-letters a job whose workers crash every time; the
//!   first worker to see it past the limit marks it failed.
//! - An invalid context is rejected with a 422 before anything is stored (the schemas of
//!   the ValidateContext components that read the request); one that gets past them
//!   (a later component's check) fails the job at once, without retries.
//! - A backend failure around a job (MongoDB down) holds the job until MongoDB answers
//!   again (at most 30 s) before giving it back, so an outage does not burn its deliveries.

use super::model::{JobStatus, JobView};
use super::{Service, ServiceError};
use crate::adapters::mongo::{JOBS, RESULTS};
use crate::adapters::rabbit::delivery_count;
use crate::backends::{BackendError, Message, Publisher};
use crate::events::GenerationEvent;
use crate::executor::{Checkpoints, RunError};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    BasicRejectOptions,
};
use lapin::types::FieldTable;
use machina_kit::{Amqp, ApiError};
use mongodb::bson::{DateTime, doc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// Longest a job is held, after a backend failure, waiting for MongoDB to come back.
const HOLD_WHILE_DOWN: Duration = Duration::from_secs(30);

/// The body of a job message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobMessage {
    /// The job (and run) id.
    pub job_id: String,
}

/// What to do with a delivery once it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposition {
    /// Done (succeeded, failed for good, or nothing to do).
    Ack,
    /// Try again (the delivery counts toward the limit).
    Requeue,
    /// Give up: to the dead-letter queue.
    DeadLetter,
}

fn now() -> DateTime {
    DateTime::now()
}

impl Service {
    /// Accepts a job: stores it, then publishes it with a confirm; returns its id.
    pub async fn submit(&self, context: Value) -> Result<String, ServiceError> {
        let (Some(store), Some(publisher)) = (self.store(), self.publisher()) else {
            return Err(ApiError::Unavailable(
                "asynchronous jobs need MONGODB_URI and AMQP_URL".to_owned(),
            )
            .into());
        };
        self.pipeline().validate(&context)?;
        let id = uuid::Uuid::new_v4().to_string();
        let document = json!({
            "pipeline": self.name(),
            "status": "queued",
            "attempts": 0,
            "context": context.to_string(),
        });
        store
            .insert(JOBS, &id, &document)
            .await
            .map_err(|e| ServiceError::unavailable(&e))?;
        let enqueued = match self.declare_queue().await {
            Ok(()) => {
                let message = Message {
                    exchange: Some(String::new()),
                    routing_key: self.queue().name.clone(),
                    message_id: id.clone(),
                    payload: json!(JobMessage { job_id: id.clone() }),
                };
                publisher.publish(&message).await
            }
            Err(err) => Err(err),
        };
        if let Err(err) = enqueued {
            let failed = doc! {"$set": {"status": "failed", "error": "the job could not be queued", "updatedAt": now()}};
            if let Err(mark) = store.update(JOBS, &id, doc! {}, failed).await {
                tracing::warn!(error = %mark, job_id = %id, "job not marked failed");
            }
            return Err(ServiceError::unavailable(&err));
        }
        Ok(id)
    }

    /// Declares the job queue (idempotent; once per process unless it fails).
    async fn declare_queue(&self) -> Result<(), BackendError> {
        if self
            .queue_declared
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(());
        }
        let amqp = self
            .connections()
            .amqp
            .as_ref()
            .ok_or_else(|| BackendError::new("declare the job queue", "no AMQP_URL"))?;
        let fail = |e: &dyn std::fmt::Display| BackendError::new("declare the job queue", e);
        let connection = crate::adapters::rabbit::connected(amqp).await?;
        let channel = connection.create_channel().await.map_err(|e| fail(&e))?;
        self.queue().declare(&channel).await.map_err(|e| fail(&e))?;
        let _ = channel.close(200, "declared".into()).await;
        self.queue_declared
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// The job's status for `GET /v1/jobs/{id}`; `None` when there is no such job.
    pub async fn job(&self, id: &str) -> Result<Option<JobView>, ServiceError> {
        let Some(store) = self.store() else {
            return Err(ApiError::Unavailable("jobs need MONGODB_URI".to_owned()).into());
        };
        let unavailable = |e: BackendError| ServiceError::unavailable(&e);
        let Some(job) = store.get(JOBS, id).await.map_err(unavailable)? else {
            return Ok(None);
        };
        let status: JobStatus = serde_json::from_value(job["status"].clone()).map_err(|e| {
            ApiError::Internal(anyhow::anyhow!("job {id} has an unknown status: {e}"))
        })?;
        let mut view = JobView {
            job_id: id.to_owned(),
            status,
            attempts: job["attempts"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            error: job["error"].as_str().map(str::to_owned),
            result: None,
        };
        if status == JobStatus::Succeeded
            && let Some(mut result) = store.get(RESULTS, id).await.map_err(unavailable)?
        {
            if let Some(fields) = result.as_object_mut() {
                fields.remove("_id");
            }
            view.result = Some(result);
        }
        Ok(Some(view))
    }

    /// Handles delivery `attempt` (1-based) of job `job_id`.
    async fn process(&self, job_id: &str, attempt: u32) -> Disposition {
        let Some(store) = self.store() else {
            return Disposition::Requeue;
        };
        let job = match store.get(JOBS, job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                tracing::warn!(job_id, "a job message without a job document; dropped");
                return Disposition::Ack;
            }
            Err(err) => return self.retry_later(job_id, attempt, &err).await,
        };
        if let Some("succeeded" | "failed") = job["status"].as_str() {
            // A redelivery of a finished job (its worker died before the ack).
            return Disposition::Ack;
        }
        let max = self.queue().max_deliveries;
        if attempt > max {
            self.mark_failed(job_id, "the job exceeded its delivery limit")
                .await;
            return Disposition::DeadLetter;
        }
        let context = job["context"]
            .as_str()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or(Value::Null);
        let running =
            doc! {"$set": {"status": "running", "updatedAt": now()}, "$max": {"attempts": attempt}};
        if let Err(err) = store.update(JOBS, job_id, doc! {}, running).await {
            return self.retry_later(job_id, attempt, &err).await;
        }
        let pipeline = self.pipeline();
        let started = Instant::now();
        match pipeline.jobs.run(job_id, context).await {
            Ok(result) => {
                let value = serde_json::to_value(&result).unwrap_or_default();
                if let Err(err) = store.upsert(RESULTS, job_id, &value).await {
                    return self.retry_later(job_id, attempt, &err).await;
                }
                let done = doc! {"$set": {"status": "succeeded", "updatedAt": now()}, "$unset": {"error": ""}};
                if let Err(err) = store.update(JOBS, job_id, doc! {}, done).await {
                    return self.retry_later(job_id, attempt, &err).await;
                }
                self.emit("job", &GenerationEvent::succeeded(&result)).await;
                if let Err(err) = Checkpoints::clear(store, job_id).await {
                    tracing::warn!(error = %err, job_id, "checkpoints not cleared");
                }
                Disposition::Ack
            }
            Err(err) => {
                let latency = started.elapsed().as_secs_f64() * 1e3;
                let version = pipeline.definition.version().to_owned();
                let event = GenerationEvent::failed(job_id, self.name(), &version, &err, latency);
                self.emit("job", &event).await;
                self.failed_attempt(job_id, attempt, &err).await
            }
        }
    }

    async fn failed_attempt(&self, job_id: &str, attempt: u32, err: &RunError) -> Disposition {
        tracing::warn!(error = %err, job_id, attempt, "job attempt failed");
        let message = client_message(err);
        if err.is_permanent() {
            self.mark_failed(job_id, &message).await;
            return Disposition::Ack;
        }
        if attempt >= self.queue().max_deliveries {
            self.mark_failed(job_id, &message).await;
            return Disposition::DeadLetter;
        }
        if let Some(store) = self.store() {
            let queued = doc! {"$set": {"status": "queued", "error": &message, "updatedAt": now()}};
            if let Err(e) = store.update(JOBS, job_id, doc! {}, queued).await {
                tracing::warn!(error = %e, job_id, "job status not updated");
            }
        }
        backoff(attempt).await;
        Disposition::Requeue
    }

    /// Gives a job back after a backend failure, once MongoDB answers again (at most
    /// [`HOLD_WHILE_DOWN`]): an outage must not burn the job's deliveries.
    async fn retry_later(&self, job_id: &str, attempt: u32, err: &BackendError) -> Disposition {
        tracing::warn!(error = %err, job_id, attempt, "job attempt interrupted by a backend failure");
        if let Some(mongo) = &self.connections().mongo {
            let deadline = Instant::now() + HOLD_WHILE_DOWN;
            while mongo.ping().await.is_err() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        backoff(attempt).await;
        Disposition::Requeue
    }

    async fn mark_failed(&self, job_id: &str, message: &str) {
        let Some(store) = self.store() else {
            return;
        };
        let failed = doc! {"$set": {"status": "failed", "error": message, "updatedAt": now()}};
        if let Err(err) = store.update(JOBS, job_id, doc! {}, failed).await {
            tracing::warn!(error = %err, job_id, "job not marked failed");
        }
    }
}

/// What a client is told about a failed run: the violations of an invalid context, else
/// only which component failed (the cause is logged).
fn client_message(err: &RunError) -> String {
    match err {
        RunError::Component { component, .. } if !err.is_client_error() => {
            format!("component {component} failed")
        }
        RunError::Checkpoint { .. } => "the job's checkpoints could not be used".to_owned(),
        other => other.to_string(),
    }
}

async fn backoff(attempt: u32) {
    let delay = Duration::from_millis(100 * u64::from(attempt.min(20)));
    tokio::time::sleep(delay).await;
}

/// Starts the job consumer when MongoDB and RabbitMQ are configured. It consumes until
/// `shutdown` turns true (or its sender is dropped), then stops consuming and lets the
/// jobs in flight finish before returning.
pub fn spawn_worker(
    service: Arc<Service>,
    shutdown: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    let amqp = service.connections().amqp.clone()?;
    service.store()?;
    Some(tokio::spawn(run_worker(service, amqp, shutdown)))
}

async fn run_worker(service: Arc<Service>, amqp: Amqp, mut shutdown: watch::Receiver<bool>) {
    loop {
        let connection = tokio::select! {
            connection = amqp.connected() => connection,
            () = stopped(&mut shutdown) => return,
        };
        match consume(&service, &connection, &mut shutdown).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(error = %err, "job consumer stopped; restarting");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = stopped(&mut shutdown) => return,
                }
            }
        }
    }
}

/// Resolves once `shutdown` is true or its sender is gone.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Consumes on `connection` until shutdown (`Ok`) or the channel fails (`Err`).
async fn consume(
    service: &Arc<Service>,
    connection: &lapin::Connection,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), BackendError> {
    let fail = |operation: &str, e: lapin::Error| BackendError::new(operation, e);
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| fail("open a channel", e))?;
    let queue = service.queue().clone();
    queue
        .declare(&channel)
        .await
        .map_err(|e| fail("declare the job queue", e))?;
    channel
        .basic_qos(service.config().prefetch, BasicQosOptions::default())
        .await
        .map_err(|e| fail("set the prefetch", e))?;
    let tag = format!("{}-{}", service.name(), uuid::Uuid::new_v4());
    let mut consumer = channel
        .basic_consume(
            queue.name.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| fail("consume", e))?;
    tracing::info!(queue = %queue.name, "consuming jobs");
    let mut tasks = JoinSet::new();
    let outcome = loop {
        tokio::select! {
            () = stopped(shutdown) => break Ok(()),
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => {
                    tasks.spawn(handle(service.clone(), delivery));
                }
                Some(Err(e)) => break Err(fail("receive a job", e)),
                None => break Err(BackendError::new("receive a job", "the consumer was cancelled")),
            },
        }
    };
    if outcome.is_ok() {
        tracing::info!(
            in_flight = tasks.len(),
            "stopping: no new jobs; finishing the ones in flight"
        );
        let _ = channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await;
        while tasks.join_next().await.is_some() {}
        let _ = channel.close(200, "shutdown".into()).await;
    }
    outcome
}

async fn handle(service: Arc<Service>, delivery: Delivery) {
    let attempt = delivery_count(&delivery.properties).saturating_add(1);
    let disposition = match serde_json::from_slice::<JobMessage>(&delivery.data) {
        Ok(message) => service.process(&message.job_id, attempt).await,
        Err(err) => {
            tracing::warn!(error = %err, "an invalid job message; dead-lettered");
            Disposition::DeadLetter
        }
    };
    let acker = &delivery.acker;
    service.metrics().delivery(match disposition {
        Disposition::Ack => "ack",
        Disposition::Requeue => "requeue",
        Disposition::DeadLetter => "dead_letter",
    });
    let outcome = match disposition {
        Disposition::Ack => acker.ack(BasicAckOptions::default()).await,
        Disposition::Requeue => {
            let requeue = BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            };
            acker.nack(requeue).await
        }
        Disposition::DeadLetter => acker.reject(BasicRejectOptions { requeue: false }).await,
    };
    if let Err(err) = outcome {
        // The broker redelivers an unacknowledged job; the result is already idempotent.
        tracing::warn!(error = %err, "job acknowledgement failed");
    }
}
