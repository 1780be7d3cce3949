//! The axum handlers. Reads come from Redis only; MongoDB is touched by a
//! recompute alone, so the read path survives a MongoDB outage.
//!
//! | method | path | |
//! |---|---|---|
//! | GET  | `/v1/recommendations/users/{id}?k=10` | personalised list, else the cold-start list |
//! | GET  | `/v1/recommendations/items/{id}/similar?k=10` | similar items, else the cold-start list |
//! | GET  | `/v1/insights/trends?dimension=item\|type&limit=N` | rising items and event types |
//! | GET  | `/v1/insights/anomalies?series=events` | anomalies of one hourly series |
//! | GET  | `/v1/insights/status` | what the current generation holds |
//! | POST | `/v1/insights/recompute?mode=full\|incremental` | recompute now, or fold in new events (admin) |
//! | GET  | `/openapi.json` | the OpenAPI document |

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use machina_kit::ApiError;
use serde_json::Value;

use super::{Insights, query};
use crate::{
    cache::{EMPTY_MARKER, ListKind},
    error::Error,
};

type Shared = State<Arc<Insights>>;
type Params = Query<HashMap<String, String>>;

/// Default list length when `k` is absent.
const DEFAULT_K: usize = 10;

/// The service's routes (the kit adds `/healthz`, `/readyz`, `/metrics`).
pub fn router(insights: Arc<Insights>) -> Router {
    Router::new()
        .route("/v1/recommendations/users/{id}", get(for_user))
        .route("/v1/recommendations/items/{id}/similar", get(similar))
        .route("/v1/insights/trends", get(trends))
        .route("/v1/insights/anomalies", get(anomalies))
        .route("/v1/insights/status", get(status))
        .route("/v1/insights/recompute", post(recompute))
        .route("/openapi.json", get(super::openapi::document))
        .with_state(insights)
}

/// The hot path: one `LRANGE` (two for an unknown user) and a string join.
async fn for_user(
    State(s): Shared,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let id = query::id("id", &id)?;
    let k = query::bounded(&q, "k", DEFAULT_K, s.params().recs.list_len)?;
    list_response(&s, ListKind::User, "userId", id, k).await
}

async fn similar(
    State(s): Shared,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let id = query::id("id", &id)?;
    let k = query::bounded(&q, "k", DEFAULT_K, s.params().recs.list_len)?;
    list_response(&s, ListKind::Item, "itemId", id, k).await
}

/// `{"<id_field>": id, "generation": G, "source": "personalized"|"fallback", "items": [...]}`,
/// from the in-process cache, else assembled from the cached JSON elements
/// without re-parsing them (and remembered in process).
async fn list_response(
    s: &Insights,
    kind: ListKind,
    id_field: &str,
    id: &str,
    k: usize,
) -> Result<Response, ApiError> {
    let hot = s.cache().hot();
    if let Some(body) = hot.get(kind, id, k) {
        return Ok(json_body(body));
    }
    let epoch = hot.epoch();
    let body = Bytes::from(list_body(s, kind, id_field, id, k).await?);
    hot.put(epoch, kind, id, k, body.clone());
    Ok(json_body(body))
}

fn json_body(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The body of a list response, from Redis.
async fn list_body(
    s: &Insights,
    kind: ListKind,
    id_field: &str,
    id: &str,
    k: usize,
) -> Result<String, ApiError> {
    let generation = s.generation().await?;
    let cache = s.cache();
    let mut items = cache
        .list(generation, kind, id, k)
        .await
        .map_err(Error::from)?;
    let mut source = "personalized";
    // A present key (even holding only the empty marker) is a known subject.
    let known = !items.is_empty();
    items.retain(|entry| entry != EMPTY_MARKER);
    if !known {
        source = "fallback";
        // One more than asked, so the item itself can be dropped from its own list.
        items = cache
            .list(generation, ListKind::Fallback, "", k + 1)
            .await
            .map_err(Error::from)?;
        if kind == ListKind::Item {
            let own = format!("{{\"item\":{},", json_string(id));
            items.retain(|entry| !entry.starts_with(&own));
        }
        items.truncate(k);
    }
    Ok(format!(
        "{{\"{id_field}\":{},\"generation\":{generation},\"source\":\"{source}\",\"items\":[{}]}}",
        json_string(id),
        items.join(",")
    ))
}

async fn trends(State(s): Shared, Query(q): Params) -> Result<Response, ApiError> {
    let dimension = query::one_of(&q, "dimension", &["item", "type"])?;
    let limit = query::bounded(&q, "limit", 100, 100)?;
    let generation = s.generation().await?;
    let raw = s
        .cache()
        .document(generation, "trends")
        .await
        .map_err(Error::from)?;
    let mut report: Value = parse(raw)?;
    if let Some(Value::Array(list)) = report.get_mut("trends") {
        list.retain(|t| {
            dimension.is_none_or(|d| t.get("dimension").and_then(Value::as_str) == Some(d))
        });
        list.truncate(limit);
    }
    report["generation"] = generation.into();
    Ok(Json(report).into_response())
}

async fn anomalies(State(s): Shared, Query(q): Params) -> Result<Response, ApiError> {
    let series = query::required_id(&q, "series", "events or type:item.viewed")?;
    let generation = s.generation().await?;
    let raw = s
        .cache()
        .document(generation, &format!("series:{series}"))
        .await
        .map_err(Error::from)?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no series named {series:?}; GET /v1/insights/status lists the series"
            ))
        })?;
    let mut report: Value = parse(Some(raw))?;
    report["generation"] = generation.into();
    Ok(Json(report).into_response())
}

async fn status(State(s): Shared) -> Result<Response, ApiError> {
    let generation = s.generation().await?;
    let raw = s
        .cache()
        .document(generation, "meta")
        .await
        .map_err(Error::from)?;
    Ok(Json(parse(raw)?).into_response())
}

/// `?mode=full` (default) or `?mode=incremental`.
async fn recompute(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Params,
) -> Result<Response, ApiError> {
    s.admin().authorize(&headers).await?;
    let mode = query::one_of(&q, "mode", &["full", "incremental"])?;
    if mode == Some("incremental") {
        return Ok(Json(s.step().await?).into_response());
    }
    let summary = s.recompute().await?;
    Ok(Json(summary).into_response())
}

/// A cached document; a missing one means the generation expired under us.
fn parse(raw: Option<String>) -> Result<Value, ApiError> {
    let raw = raw.ok_or(Error::NotComputed)?;
    serde_json::from_str(&raw).map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context("cached document is not JSON"))
    })
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}
