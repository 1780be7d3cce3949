//! The OpenAPI 3 document, generated from the handlers' annotations and served at
//! `GET /openapi.json` (outside the bearer-token layer: the gateway fetches it to merge
//! every service's document into its own).
//!
//! The wire types below exist for the document only: the handlers validate raw JSON
//! field by field (`event::validate`) and build report bodies directly, so these
//! mirror those shapes and the tests check they stay in step with the router.

use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::event::Rejection;
use crate::http::{ingest, reports};
use crate::report::{Cohort, FunnelStep, Point, Series};

/// The analytics service's API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Machina analytics service",
        description = "Event ingestion into RabbitMQ (durable, confirmed, idempotent) and exact reports over the stored events."
    ),
    paths(
        ingest::single, ingest::batch,
        reports::timeseries, reports::breakdown, reports::funnel, reports::retention,
    ),
    components(schemas(
        EventInput, EventBatch, SingleAccepted, BatchAccepted, Rejection, Problem, BatchProblem,
        TimeseriesReport, Series, Point, BreakdownReport, BreakdownRow, FunnelReport, FunnelStep,
        RetentionReport, Cohort,
    )),
    tags(
        (name = "ingestion", description = "Events in: one or a batch; 202 once durable in RabbitMQ"),
        (name = "reports", description = "Time series, breakdowns, funnels and retention over stored events; JSON or CSV"),
    )
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// An event as a client sends it (the body of `POST /v1/events`, an item of a batch).
/// Unknown fields are refused; the whole event is at most `MAX_EVENT_BYTES` (32 KiB).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"id": "c-1", "type": "page.viewed", "timestamp": "2026-03-01T12:00:00Z",
    "anonymousId": "device-9", "sessionId": "s-1", "properties": {"path": "/"}, "context": {"page": "/"}}))]
pub struct EventInput {
    /// The client's id, the dedup key (printable ASCII, at most 128 bytes). Without it
    /// the id is derived from the `Idempotency-Key` and the event's index, else from
    /// the event's content, so a retry never counts twice.
    #[schema(max_length = 128, min_length = 1)]
    pub id: Option<String>,
    /// Event type, also the routing key: dot-separated words of `[A-Za-z0-9_-]`.
    #[serde(rename = "type")]
    #[schema(
        max_length = 128,
        pattern = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        example = "page.viewed"
    )]
    pub kind: String,
    /// When it happened (RFC 3339). Up to `MAX_FUTURE_SKEW` (5 min) ahead: clamped to the
    /// receive time, the original kept in `context.clientTimestamp`; further ahead, or
    /// older than `MAX_EVENT_AGE` (7 days): refused.
    pub timestamp: DateTime<Utc>,
    /// The known user (one of `actorId` / `anonymousId` is required; at most 256 bytes).
    #[schema(max_length = 256, min_length = 1)]
    pub actor_id: Option<String>,
    /// The anonymous visitor: device or cookie id (at most 256 bytes).
    #[schema(max_length = 256, min_length = 1)]
    pub anonymous_id: Option<String>,
    /// The session (at most 256 bytes).
    #[schema(max_length = 256, min_length = 1)]
    pub session_id: Option<String>,
    /// Event payload (may be `{}`); item interactions name the item in `itemId`.
    #[schema(value_type = Object)]
    pub properties: Map<String, Value>,
    /// Where it came from (user agent, page…).
    #[schema(value_type = Option<Object>)]
    pub context: Option<Map<String, Value>>,
}

/// Body of `POST /v1/events/batch`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventBatch {
    /// 1 to `MAX_BATCH_EVENTS` (500) events; each is validated on its own.
    #[schema(min_items = 1, max_items = 500)]
    pub events: Vec<EventInput>,
}

/// Answer of an accepted single event.
#[derive(Debug, Serialize, ToSchema)]
pub struct SingleAccepted {
    /// The event's id (the client's or the derived one).
    pub id: String,
    /// Always 1.
    pub accepted: usize,
}

/// Answer of an accepted batch: the valid events are durable, the others listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAccepted {
    /// Events accepted (confirmed by the broker).
    pub accepted: usize,
    /// Their ids, in request order.
    pub ids: Vec<String>,
    /// The refused events, by index, field and reason.
    pub rejected: Vec<Rejection>,
}

/// An RFC 9457 problem (`application/problem+json`), the shape of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `about:blank`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong (opaque for 5xx).
    pub detail: String,
    /// Machine-readable code (`bad_request`, `unprocessable`, `unavailable`…).
    pub code: String,
    /// The offending field or parameter, when one is to blame.
    pub field: Option<String>,
}

/// The 422 of a batch of which no event is valid: nothing was published.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchProblem {
    /// The problem (`field` is `events`).
    #[serde(flatten)]
    pub problem: Problem,
    /// Every event's rejection.
    pub errors: Vec<Rejection>,
}

/// Parameters every report takes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ScopeParams {
    /// Start (RFC 3339; default `to` minus 7 days).
    from: Option<DateTime<Utc>>,
    /// End, exclusive (RFC 3339; default now).
    to: Option<DateTime<Utc>>,
    /// Event types (repeatable or comma-separated).
    #[param(rename = "type")]
    kind: Option<Vec<String>>,
    /// `<field>:<op>:<value>` (repeatable); op `eq ne gt gte lt lte in exists`, `in`
    /// values separated by `|`. Fields: `type`, `source`, `actorId`, `anonymousId`,
    /// `sessionId`, `identity`, `properties.<path>`, `context.<path>`.
    filter: Option<Vec<String>>,
    /// `json` (default) or `csv` (RFC 4180); `Accept: text/csv` also selects CSV.
    format: Option<String>,
}

/// Parameters of metric reports.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MetricParams {
    /// `count` (default), `sum`, `unique`, `p50`, `p95` or `p99`.
    metric: Option<String>,
    /// The numeric property of `sum`/`pXX` (such as `properties.price`), the counted
    /// field of `unique` (default `identity`).
    property: Option<String>,
}

/// A time series report (CSV: `t,group,value`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeseriesReport {
    /// The metric.
    pub metric: String,
    /// Its property (`""` for `count`).
    pub property: String,
    /// `minute`, `hour` or `day`.
    pub bucket: String,
    /// Range start.
    pub from: DateTime<Utc>,
    /// Range end.
    pub to: DateTime<Utc>,
    /// The group-by field, if any.
    pub group_by: Option<String>,
    /// Events scanned (`null` when computed by an aggregation pipeline).
    pub events_scanned: Option<usize>,
    /// Whether MongoDB computed it (unfiltered `count`/`unique`).
    pub pipeline: bool,
    /// One series per group, every bucket present.
    pub series: Vec<Series>,
}

/// One row of a breakdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownRow {
    /// The group value (`null` when absent).
    pub group: Option<String>,
    /// The metric's value.
    pub value: Option<f64>,
}

/// A breakdown report, largest first (CSV: `group,value`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownReport {
    /// The metric.
    pub metric: String,
    /// Its property.
    pub property: String,
    /// The group-by field.
    pub group_by: String,
    /// Range start.
    pub from: DateTime<Utc>,
    /// Range end.
    pub to: DateTime<Utc>,
    /// Events scanned.
    pub events: usize,
    /// The rows.
    pub rows: Vec<BreakdownRow>,
}

/// A funnel report (CSV: `step,type,count,conversionFromPrevious,conversionFromStart`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunnelReport {
    /// Range start.
    pub from: DateTime<Utc>,
    /// Range end.
    pub to: DateTime<Utc>,
    /// The conversion window.
    pub window_seconds: i64,
    /// One entry per step, in order.
    pub steps: Vec<FunnelStep>,
}

/// A retention report (CSV: `cohort,size,period,retained,rate`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionReport {
    /// Range start.
    pub from: DateTime<Utc>,
    /// Range end.
    pub to: DateTime<Utc>,
    /// Periods per cohort.
    pub periods: usize,
    /// The cohorts, oldest first.
    pub cohorts: Vec<Cohort>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ROUTES;

    fn doc() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("document")
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc = doc();
        let paths = doc["paths"].as_object().expect("paths");
        for (method, path) in ROUTES {
            let method = method.as_str().to_ascii_lowercase();
            assert!(
                paths.get(*path).and_then(|p| p.get(&method)).is_some(),
                "{method} {path} is not in the document"
            );
        }
        let documented: usize = paths
            .values()
            .map(|p| p.as_object().map_or(0, |o| o.len()))
            .sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "the document has operations the router lacks"
        );
    }

    #[test]
    fn the_event_schema_names_its_fields_and_refuses_others() {
        let doc = doc();
        let event = &doc["components"]["schemas"]["EventInput"];
        for field in [
            "id",
            "type",
            "timestamp",
            "actorId",
            "anonymousId",
            "sessionId",
            "properties",
            "context",
        ] {
            assert!(event["properties"][field].is_object(), "{field} missing");
        }
        assert_eq!(
            event["required"],
            serde_json::json!(["type", "timestamp", "properties"])
        );
        assert_eq!(event["additionalProperties"], Value::Bool(false));
        let batch = &doc["paths"]["/v1/events/batch"]["post"];
        for status in ["202", "400", "413", "422", "503"] {
            assert!(batch["responses"][status].is_object(), "batch {status}");
        }
    }
}
