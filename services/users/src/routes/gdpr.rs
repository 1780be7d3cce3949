//! GDPR export and erasure (owner or admin).

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, header},
};
use machina_kit::{ApiError, auth::Claims};

use super::AppState;
use crate::{
    error::Result,
    model::{Erasure, Export},
    service::gdpr::Eraser,
};

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

/// POST `/v1/users/{id}/erase`: irreversible; idempotent; deletes the credentials in
/// auth first with the caller's token.
#[utoipa::path(post, path = "/v1/users/{id}/erase", tag = "gdpr",
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, body = Erasure, description = "Erased (also when it already was); `credentialsRemoved` says whether auth deleted the credentials"),
        (status = 404, description = "Never existed, or not the caller's"),
        (status = 503, description = "Auth unreachable or failing: nothing was changed; retry")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn erase(
    State(users): State<AppState>,
    headers: HeaderMap,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<Json<Erasure>> {
    users.may_access(&claims, &id)?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("missing bearer token".to_owned()))?;
    let by = Eraser {
        sub: &claims.sub,
        authorization,
    };
    Ok(Json(users.erase(&id, by).await?))
}
