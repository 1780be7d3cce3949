//! The operational endpoints every service has: `/healthz`, `/readyz`, `/metrics`.

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use crate::{Metrics, Readiness};

/// What the operational handlers need.
#[derive(Debug, Clone)]
struct Ops {
    readiness: Readiness,
    metrics: Metrics,
}

/// The content type of `/metrics` (OpenMetrics text, scraped natively by Prometheus).
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Router with `/healthz`, `/readyz` and `/metrics`.
pub(crate) fn ops_router(readiness: Readiness, metrics: Metrics) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(Ops { readiness, metrics })
}

/// The process is up and serving; checks no dependency.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when every readiness check passes, else 503; the body lists each check.
async fn readyz(State(ops): State<Ops>) -> Response {
    let report = ops.readiness.run().await;
    if report.is_ready() {
        return (StatusCode::OK, Json(report)).into_response();
    }
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.error.is_some())
        .map(|c| c.name.as_str())
        .collect();
    tracing::warn!(failed = ?failed, "not ready");
    (StatusCode::SERVICE_UNAVAILABLE, Json(report)).into_response()
}

async fn metrics_text(State(ops): State<Ops>) -> Response {
    ([(header::CONTENT_TYPE, OPENMETRICS)], ops.metrics.encode()).into_response()
}
