//! The axum handlers.

pub(crate) mod deliver;
pub(crate) mod sessions;
pub(crate) mod upload;

use std::sync::Arc;

use axum::{
    Json, Router,
    routing::{get, post, put},
};

use crate::{Media, access::Access, openapi};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The operations.
    pub media: Arc<Media>,
    /// Token and signed-URL checks.
    pub access: Access,
}

/// The service's routes (the kit adds `/healthz`, `/readyz`, `/metrics`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/media", post(upload::upload))
        .route(
            "/v1/media/{id}",
            get(deliver::original_or_variant).delete(upload::delete),
        )
        .route("/v1/media/{id}/thumbnail", get(deliver::thumbnail))
        .route("/v1/media/{id}/meta", get(deliver::meta))
        .route("/v1/media/{id}/signed-url", post(deliver::sign))
        .route("/v1/uploads", post(sessions::create))
        .route(
            "/v1/uploads/{id}",
            put(sessions::put_chunk)
                .get(sessions::state)
                .delete(sessions::abort),
        )
        .route("/v1/uploads/{id}/complete", post(sessions::complete))
        .route("/openapi.json", get(|| async { Json(openapi::document()) }))
        .with_state(state)
}
