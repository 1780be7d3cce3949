//! `POST /v1/events` and `POST /v1/events/batch`: validate, give every event its id,
//! publish the valid ones with confirms, then answer 202.

use super::AppState;
use crate::amqp::PublishError;
use crate::event::{Event, IdSource, Rejection, derive_id, validate};
#[allow(unused_imports)] // named by the OpenAPI annotations
use crate::openapi::{
    BatchAccepted, BatchProblem, EventBatch, EventInput, Problem, SingleAccepted,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use machina_kit::{ApiError, ApiJson, PROBLEM_JSON};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Header naming a request, so that its retries derive the same event ids.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const MAX_KEY: usize = 255;

/// Answer of an accepted batch.
#[derive(Debug, Serialize)]
pub struct Accepted {
    /// Events accepted (durable in RabbitMQ).
    pub accepted: usize,
    /// Their ids, in request order.
    pub ids: Vec<String>,
    /// Events refused, by index.
    pub rejected: Vec<Rejection>,
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let bad = || ApiError::BadRequest {
        field: Some("Idempotency-Key".into()),
        reason: format!("must be 1 to {MAX_KEY} printable ASCII characters"),
    };
    let key = value.to_str().map_err(|_| bad())?;
    if key.is_empty() || key.len() > MAX_KEY || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

fn unavailable(e: &PublishError) -> ApiError {
    ApiError::Unavailable(format!("events not accepted: {e}"))
}

/// One event: 202 `{id}`, or 422 naming the field.
#[utoipa::path(post, path = "/v1/events", tag = "ingestion",
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1 to 255 printable ASCII characters; a retry with the same key derives the same event id")),
    request_body(content = EventInput, content_type = "application/json"),
    responses(
        (status = 202, description = "Durable: published persistent and confirmed by the broker", body = SingleAccepted),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over `BODY_LIMIT`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid event; `field` names the culprit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not confirmed by RabbitMQ (nack, unroutable, disconnected); retry with the same key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn single(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(raw): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let mut event = validate(raw, 0, Utc::now(), &state.config.limits).map_err(|r| {
        ApiError::Unprocessable {
            field: Some(r.field).filter(|f| !f.is_empty()),
            reason: r.reason,
        }
    })?;
    event.id = derive_id(&event, source(key.as_deref(), 0));
    state
        .publisher
        .publish(std::slice::from_ref(&event))
        .await
        .map_err(|e| unavailable(&e))?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"id": event.id, "accepted": 1})),
    )
        .into_response())
}

fn source(key: Option<&str>, index: usize) -> IdSource<'_> {
    key.map_or(IdSource::Content, |key| IdSource::IdempotencyKey {
        key,
        index,
    })
}

/// A batch (`{"events": [...]}`): 202 with accepted ids and rejected events, or 422
/// (problem+json with `errors`) when none is valid.
#[utoipa::path(post, path = "/v1/events/batch", tag = "ingestion",
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1 to 255 printable ASCII characters; event ids derive from it and the index, so a retried batch never counts twice")),
    request_body(content = EventBatch, content_type = "application/json"),
    responses(
        (status = 202, description = "The valid events are durable (confirmed by the broker); the invalid ones are listed by index", body = BatchAccepted),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over `BODY_LIMIT`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No valid event (`errors` lists them all; nothing published), or `events` missing, empty or over `MAX_BATCH_EVENTS`", body = BatchProblem, content_type = "application/problem+json"),
        (status = 503, description = "Not confirmed by RabbitMQ; retry with the same key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let events = match body {
        Value::Object(mut body) => body.remove("events"),
        _ => None,
    };
    let items = match events {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(unprocessable("events", "must be an array of events".into())),
        None => {
            return Err(unprocessable(
                "events",
                "is required: {\"events\": [...]}".into(),
            ));
        }
    };
    let max = state.config.max_batch;
    if items.is_empty() || items.len() > max {
        return Err(unprocessable(
            "events",
            format!("must hold 1 to {max} events, not {}", items.len()),
        ));
    }
    let (events, rejected) = check_batch(items, key.as_deref(), &state);
    if events.is_empty() {
        return Ok(all_rejected(&rejected));
    }
    state
        .publisher
        .publish(&events)
        .await
        .map_err(|e| unavailable(&e))?;
    let body = Accepted {
        accepted: events.len(),
        ids: events.into_iter().map(|e| e.id).collect(),
        rejected,
    };
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

/// The valid events with their ids, and the rejections (a repeated id is refused).
fn check_batch(
    items: Vec<Value>,
    key: Option<&str>,
    state: &AppState,
) -> (Vec<Event>, Vec<Rejection>) {
    let now = Utc::now();
    let mut events = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, raw) in items.into_iter().enumerate() {
        match validate(raw, index, now, &state.config.limits) {
            Ok(mut event) => {
                event.id = derive_id(&event, source(key, index));
                if let Some(first) = seen.get(&event.id) {
                    rejected.push(Rejection {
                        index,
                        field: "id".into(),
                        reason: format!("same id as event {first} of this batch"),
                    });
                    continue;
                }
                seen.insert(event.id.clone(), index);
                events.push(event);
            }
            Err(r) => rejected.push(r),
        }
    }
    (events, rejected)
}

fn unprocessable(field: &str, reason: String) -> ApiError {
    ApiError::Unprocessable {
        field: Some(field.into()),
        reason,
    }
}

fn all_rejected(rejected: &[Rejection]) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "no event of the batch is valid",
        "code": "unprocessable",
        "field": "events",
        "errors": rejected,
    });
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, PROBLEM_JSON)],
        body.to_string(),
    )
        .into_response()
}
