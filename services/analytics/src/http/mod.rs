//! The HTTP API: state, router, ingestion and reports.

pub mod ingest;
pub mod pushdown;
pub mod reports;

use crate::amqp::Publisher;
use crate::config::Config;
use crate::store::EventStore;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Settings.
    pub config: Arc<Config>,
    /// Publisher of accepted events.
    pub publisher: Arc<Publisher>,
    /// The raw events (reports read them).
    pub store: EventStore,
}

/// The service's routes (the kit's `App` adds health, metrics and limits).
///
/// With a `verifier` (auth runs on the Platform) every route needs a valid bearer token.
pub fn router(state: AppState, verifier: Option<machina_kit::auth::JwtVerifier>) -> Router {
    let router = Router::new()
        .route("/v1/events", post(ingest::single))
        .route("/v1/events/batch", post(ingest::batch))
        .route("/v1/reports/timeseries", get(reports::timeseries))
        .route("/v1/reports/breakdown", get(reports::breakdown))
        .route("/v1/reports/funnel", get(reports::funnel))
        .route("/v1/reports/retention", get(reports::retention));
    let router = match verifier {
        Some(verifier) => router.route_layer(axum::middleware::from_fn_with_state(
            verifier,
            machina_kit::auth::require_jwt,
        )),
        None => router,
    };
    router.with_state(state)
}
