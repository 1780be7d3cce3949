//! The HTTP routes of the worker.
//!
//! | route | |
//! |---|---|
//! | `POST /v1/generate` | runs the pipeline on `{context}`; 200 with the result and trace; with `Accept: text/event-stream`, LLM deltas as `delta` events then a `result` (or `error`) event |
//! | `POST /v1/jobs` | accepts `{context}` as a job; 202 `{jobId}` with `Location` |
//! | `GET /v1/jobs/{id}` | `{jobId, status, attempts, result?, error?}` |
//! | `GET /v1/pipeline` | the definition in force: name, version, checksum, templates |
//! | `GET /openapi.json` | the OpenAPI document ([`openapi`], from the annotations here) |

use super::model::{GenerateRequest, JobAccepted, JobView, PipelineView, Problem, TemplateVersion};
use super::{Service, ServiceError, openapi};
use crate::components::Delta;
use crate::events::GenerationEvent;
use crate::executor::{RunError, RunResult};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use machina_kit::{ApiError, ApiJson};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

/// The API routes, with `service` as state; with a `verifier` every route but the OpenAPI
/// document needs a valid bearer token.
pub fn router(service: Arc<Service>, verifier: Option<machina_kit::auth::JwtVerifier>) -> Router {
    let mut api = Router::new()
        .route("/v1/generate", post(generate))
        .route("/v1/jobs", post(submit))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/pipeline", get(pipeline));
    if let Some(verifier) = verifier {
        api = api.route_layer(axum::middleware::from_fn_with_state(
            verifier,
            machina_kit::auth::require_jwt,
        ));
    }
    api.route("/openapi.json", get(openapi::document))
        .with_state(service)
}

fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

/// Runs the pipeline on a context.
///
/// With `Accept: text/event-stream` the answer is server-sent events: `delta` events
/// (`{component, text}`) while LLM components answer, then one `result` (the body of the
/// 200) or `error` (a problem) event.
#[utoipa::path(post, path = "/v1/generate", tag = "generate",
    request_body = GenerateRequest,
    responses(
        (status = 200, description = "The generated content, the per-component trace (each loop iteration's components), tokens and cost",
            content((RunResult = "application/json"), (String = "text/event-stream"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The context breaks the pipeline's schema (violations listed), no document for a required lookup, or a loop reached its cap", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The LLM endpoint failed or answered unusably", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backing service or the templates are unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
pub async fn generate(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<GenerateRequest>,
) -> Result<Response, ServiceError> {
    let run_id = uuid::Uuid::new_v4().to_string();
    if wants_event_stream(&headers) {
        return Ok(stream(service, run_id, request.context).into_response());
    }
    let pipeline = service.pipeline();
    let started = Instant::now();
    let outcome = pipeline.sync.run(&run_id, request.context).await;
    emit(&service, &run_id, &outcome, started);
    Ok(Json(outcome?).into_response())
}

/// Sends the generation event of a run in the background (a response never waits on it).
fn emit(
    service: &Arc<Service>,
    run_id: &str,
    outcome: &Result<RunResult, RunError>,
    started: Instant,
) {
    let event = match outcome {
        Ok(result) => GenerationEvent::succeeded(result),
        Err(err) => {
            let version = service.pipeline().definition.version().to_owned();
            let latency = started.elapsed().as_secs_f64() * 1e3;
            GenerationEvent::failed(run_id, service.name(), &version, err, latency)
        }
    };
    service.metrics().run("sync", event.outcome);
    let service = service.clone();
    tokio::spawn(async move { service.publish_event(&event).await });
}

/// Runs the pipeline streaming LLM deltas as server-sent events.
fn stream(
    service: Arc<Service>,
    run_id: String,
    context: Value,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (events, receiver) = tokio::sync::mpsc::channel::<Event>(64);
    tokio::spawn(async move {
        let pipeline = service.pipeline();
        let (deltas, mut received) = tokio::sync::mpsc::unbounded_channel::<Delta>();
        let started = Instant::now();
        let run = pipeline.sync.run_streaming(&run_id, context, deltas);
        tokio::pin!(run);
        let outcome = loop {
            tokio::select! {
                Some(delta) = received.recv() => {
                    // A client that went away must not stop the run.
                    let _ = events.send(delta_event(&delta)).await;
                }
                outcome = &mut run => break outcome,
            }
        };
        while let Ok(delta) = received.try_recv() {
            let _ = events.send(delta_event(&delta)).await;
        }
        emit(&service, &run_id, &outcome, started);
        let last = match outcome {
            Ok(result) => Event::default().event("result").json_data(&result),
            Err(err) => {
                let err = ServiceError::from(err);
                tracing::warn!(error = %err, "streamed generation failed");
                Event::default().event("error").json_data(err.problem())
            }
        };
        let last = last.unwrap_or_else(|_| Event::default().event("error").data("{}"));
        let _ = events.send(last).await;
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn delta_event(delta: &Delta) -> Event {
    let data = json!({"component": delta.component, "text": delta.text});
    Event::default().event("delta").data(data.to_string())
}

/// Queues the pipeline on a context: 202 once the job is stored and the broker confirmed.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs",
    request_body = GenerateRequest,
    responses(
        (status = 202, description = "Accepted: stored and confirmed by the broker", body = JobAccepted,
            headers(("Location" = String, description = "The job's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a {context} body, or a context breaking the pipeline's schema", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MongoDB or RabbitMQ unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
pub async fn submit(
    State(service): State<Arc<Service>>,
    ApiJson(request): ApiJson<GenerateRequest>,
) -> Result<Response, ServiceError> {
    let job_id = service.submit(request.context).await?;
    let location = format!("/v1/jobs/{job_id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(JobAccepted { job_id }),
    )
        .into_response())
}

/// A job's status, and its result once it succeeded.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MongoDB unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn job(
    State(service): State<Arc<Service>>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ServiceError> {
    match service.job(&id).await? {
        Some(view) => Ok(Json(view)),
        None => Err(ApiError::NotFound(format!("no job {id}")).into()),
    }
}

/// The definition in force: name, version, checksum, output, templates.
#[utoipa::path(get, path = "/v1/pipeline", tag = "pipeline",
    responses((status = 200, description = "The definition in force", body = PipelineView)))]
pub async fn pipeline(State(service): State<Arc<Service>>) -> Json<PipelineView> {
    let pipeline = service.pipeline();
    let definition = &pipeline.definition;
    let templates = pipeline
        .templates
        .versions()
        .into_iter()
        .map(|(name, template_ref, version)| TemplateVersion {
            name,
            template_ref,
            version,
        })
        .collect();
    let graph = pipeline.sync.graph();
    Json(PipelineView {
        name: service.name().to_owned(),
        version: definition.version().to_owned(),
        checksum: definition.checksum.clone(),
        components: definition.spec.components.len(),
        output: graph.name(graph.output()).to_owned(),
        templates,
        jobs_queue: service.queue().name.clone(),
    })
}
