//! The HTTP API: state, router, ingestion and reports.

pub mod ingest;
pub mod pushdown;
pub mod reports;

use crate::amqp::Publisher;
use crate::config::Config;
use crate::store::EventStore;
use axum::Router;
use axum::http::Method;
use axum::routing::{MethodFilter, get, on};
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

/// Declares the API routes once: [`ROUTES`] (method, path) and the router serving them,
/// so the list a test compares with the OpenAPI document is the router's own.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every API route as (method, path); a test checks the OpenAPI document has
        /// exactly these.
        pub const ROUTES: &[(Method, &str)] = &[$((Method::$method, $path)),*];

        fn api_router() -> Router<AppState> {
            Router::new()$(.route($path, on(MethodFilter::$method, $handler)))*
        }
    };
}

api_routes! {
    POST "/v1/events" => ingest::single,
    POST "/v1/events/batch" => ingest::batch,
    GET "/v1/reports/timeseries" => reports::timeseries,
    GET "/v1/reports/breakdown" => reports::breakdown,
    GET "/v1/reports/funnel" => reports::funnel,
    GET "/v1/reports/retention" => reports::retention,
}

/// The service's routes (the kit's `App` adds health, metrics and limits).
///
/// With a `verifier` (auth runs on the Platform) every API route needs a valid bearer
/// token; `/openapi.json` stays public so the gateway can merge it.
pub fn router(state: AppState, verifier: Option<machina_kit::auth::JwtVerifier>) -> Router {
    let router = api_router();
    let router = match verifier {
        Some(verifier) => router.route_layer(axum::middleware::from_fn_with_state(
            verifier,
            machina_kit::auth::require_jwt,
        )),
        None => router,
    };
    router
        .route("/openapi.json", get(crate::openapi::document))
        .with_state(state)
}
