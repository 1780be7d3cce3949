//! The HTTP API under `/v1/content`: thin handlers over [`Content`]; every
//! error is problem+json. Every route needs a verified token (or runs open when
//! no JWT key is configured); `/openapi.json` is public.

mod entries;
mod types;
mod webhooks;

use std::sync::Arc;

use axum::{
    Router,
    extract::Request,
    middleware::{Next, from_fn, from_fn_with_state},
    response::Response,
    routing::{get, post, put},
};
use machina_kit::auth::{Claims, JwtVerifier, require_jwt};

use crate::{Content, openapi, permissions::ADMIN};

pub use entries::*;
pub use types::*;
pub use webhooks::*;

/// Shared handler state.
pub type AppState = Arc<Content>;

/// The service's routes (the kit adds `/healthz`, `/readyz`, `/metrics`).
pub fn router(state: AppState, verifier: Option<JwtVerifier>) -> Router {
    let api = Router::new()
        .route("/v1/content/types", get(list_types).post(create_type))
        .route(
            "/v1/content/types/{id}",
            get(get_type).put(update_type).delete(delete_type),
        )
        .route("/v1/content/entries", get(list_entries).post(create_entry))
        .route(
            "/v1/content/entries/{id}",
            get(get_entry).put(update_entry).delete(delete_entry),
        )
        .route("/v1/content/entries/{id}/transitions", post(transition))
        .route(
            "/v1/content/entries/{id}/schedule",
            put(schedule).delete(unschedule),
        )
        .route("/v1/content/entries/{id}/versions", get(versions))
        .route("/v1/content/entries/{id}/versions/{version}", get(version))
        .route(
            "/v1/content/entries/{id}/versions/{version}/restore",
            post(restore),
        )
        .route("/v1/content/entries/{id}/diff", get(diff))
        .route("/v1/content/published/{type}/{slug}", get(published))
        .route(
            "/v1/content/webhooks",
            get(list_webhooks).post(create_webhook),
        )
        .route(
            "/v1/content/webhooks/{id}",
            get(get_webhook).delete(delete_webhook),
        )
        .route("/v1/content/webhooks/{id}/deliveries", get(deliveries))
        .with_state(state);
    let api = match verifier {
        Some(verifier) => api.route_layer(from_fn_with_state(verifier, require_jwt)),
        None => api.route_layer(from_fn(open_access)),
    };
    api.route("/openapi.json", get(openapi::document))
}

/// Without a configured key every caller is an anonymous admin (the service is
/// then only as protected as the gateway in front of it; startup logs a warning).
async fn open_access(mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(Claims {
        sub: "anonymous".to_owned(),
        exp: u64::MAX,
        iss: None,
        scope: Some(ADMIN.to_owned()),
        extra: serde_json::Map::new(),
    });
    next.run(req).await
}
