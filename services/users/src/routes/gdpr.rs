//! GDPR export and erasure (owner or admin).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use machina_kit::auth::Claims;

use super::AppState;
use crate::{error::Result, model::Export};

/// GET `/v1/users/{id}/export`: everything stored about the user, soft-deleted included.
#[utoipa::path(get, path = "/v1/users/{id}/export", tag = "gdpr",
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, body = Export), (status = 404, description = "Missing, erased, or not the caller's")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn export(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<Json<Export>> {
    users.may_access(&claims, &id)?;
    Ok(Json(users.export(&id).await?))
}

/// POST `/v1/users/{id}/erase`: irreversible; idempotent.
#[utoipa::path(post, path = "/v1/users/{id}/erase", tag = "gdpr",
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 204, description = "Erased (also when it already was)"), (status = 404, description = "Never existed, or not the caller's")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn erase(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    users.may_access(&claims, &id)?;
    users.erase(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
