//! The HTTP surface. Every route but registration needs a bearer token.
//!
//! - [`profiles`]: `GET /v1/users` (search, lookup by email), `GET /v1/users/me`,
//!   `GET/PATCH/DELETE /v1/users/{id}`.
//! - [`preferences`]: `GET/PUT/PATCH/DELETE /v1/users/{id}/preferences`.
//! - [`account`]: `POST /v1/users/register`, `PUT /v1/users/me/password` (through auth).
//! - [`gdpr`]: `GET /v1/users/{id}/export`, `POST /v1/users/{id}/erase`.
//! - [`query`]: the search query string.

pub mod account;
pub mod gdpr;
pub mod preferences;
pub mod profiles;
pub mod query;

use std::sync::Arc;

use axum::{
    Router,
    http::HeaderMap,
    middleware::from_fn_with_state,
    routing::{get, post, put},
};
use machina_kit::auth::JwtVerifier;

use crate::service::Users;

/// What every handler gets.
pub type AppState = Arc<Users>;

/// The service's routes; `verifier` guards everything but registration.
pub fn router(state: AppState, verifier: JwtVerifier) -> Router {
    let guarded = Router::new()
        .route("/v1/users", get(profiles::search))
        .route("/v1/users/me", get(profiles::me))
        .route("/v1/users/me/password", put(account::change_password))
        .route(
            "/v1/users/{id}",
            get(profiles::get_profile)
                .patch(profiles::patch_profile)
                .delete(profiles::delete_profile),
        )
        .route(
            "/v1/users/{id}/preferences",
            get(preferences::get_preferences)
                .put(preferences::put_preferences)
                .patch(preferences::patch_preferences)
                .delete(preferences::delete_preferences),
        )
        .route("/v1/users/{id}/export", get(gdpr::export))
        .route("/v1/users/{id}/erase", post(gdpr::erase))
        .route_layer(from_fn_with_state(verifier, machina_kit::auth::require_jwt));
    Router::new()
        .route("/v1/users/register", post(account::register))
        .route(
            "/openapi.json",
            get(|| async { axum::Json(crate::openapi::document()) }),
        )
        .merge(guarded)
        .with_state(state)
}

/// The caller's `X-Forwarded-For`, passed on to auth for its per-IP throttling.
pub fn forwarded_for(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 256)
}
